//! Finalization: a finalization certificate makes a block and all its ancestors final.

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::round::Round;

use super::core::Core;
use super::io::{Durable, Finalized};

impl Core {
    /// Keeps a block above the finalized tip; one that a notarization names is persisted.
    pub(super) fn learn_block(&mut self, block: Block) {
        let hash = block.hash();
        let notarized = self.rounds.get(&block.header.round).is_some_and(|state| {
            state.notarized_block() == Some(hash) || state.finalized_block() == Some(hash)
        });
        if notarized {
            self.out.persist.push(Durable::Block(block.clone()));
        }
        self.blocks.insert(hash, block);
    }

    /// Finalizes the highest certified block whose chain down to the finalized tip is known.
    /// Returns whether anything became final.
    pub(super) fn try_finalize(&mut self) -> bool {
        // Hashes only: this runs on every advance, and most candidates lack their chain.
        let candidates: Vec<(Round, Hash)> = self
            .rounds
            .range(self.tip.round.next()..)
            .rev()
            .filter_map(|(round, state)| Some((*round, state.finalized_block()?)))
            .collect();
        for (round, hash) in candidates {
            match self.chain_to_tip(hash) {
                // A certificate of the tip itself (only a faulty quorum signs one in a later
                // round): nothing becomes final, and reporting progress would loop `advance`.
                Some(chain) if chain.is_empty() => {}
                Some(chain) => {
                    let Some(certificate) = self
                        .rounds
                        .get(&round)
                        .and_then(|state| state.finalization.clone())
                    else {
                        continue;
                    };
                    let blocks = chain
                        .iter()
                        .filter_map(|hash| self.blocks.get(hash).cloned())
                        .collect();
                    self.finalize_chain(blocks, certificate);
                    return true;
                }
                None => self.want_block(),
            }
        }
        false
    }

    /// The hashes of the known blocks from just above the finalized tip up to `hash`, in
    /// height order.
    fn chain_to_tip(&self, hash: Hash) -> Option<Vec<Hash>> {
        let mut chain = Vec::new();
        let mut cursor = hash;
        while cursor != self.tip_hash {
            let block = self.blocks.get(&cursor)?;
            if block.header.height <= self.tip.height {
                return None;
            }
            chain.push(cursor);
            cursor = block.header.parent;
        }
        chain.reverse();
        Some(chain)
    }

    /// Makes `chain` (which starts on the finalized tip) final and forgets everything at or
    /// below its last round.
    pub(super) fn finalize_chain(&mut self, chain: Vec<Block>, certificate: Certificate) {
        let Some(last) = chain.last() else {
            return;
        };
        tracing::trace!(peer = %self.me.short(), now = self.now, height = %last.header.height, "finalized");
        self.tip = last.header.clone();
        self.tip_hash = last.hash();
        self.tip_finalization = Some(certificate.clone());
        for item in chain.iter().flat_map(|block| &block.payload.items) {
            let nonce = self.finalized_nonces.entry(item.author).or_insert(0);
            *nonce = (*nonce).max(item.nonce);
        }
        let tip_round = self.tip.round;
        self.rounds = self.rounds.split_off(&tip_round.next());
        self.blocks
            .retain(|_, block| block.header.round > tip_round);
        self.pool.remove_final(&self.finalized_nonces);
        self.out.finalized.push(Finalized {
            blocks: chain,
            certificate,
        });
        if self.round <= tip_round {
            self.enter_round(tip_round.next());
        }
    }
}
