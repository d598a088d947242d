//! What a driver keeps for a restart, as the node's store does (and the simulator's model of
//! it, `node/src/sim/disk.rs`): the finalized chain and nonces, and what the core persisted
//! above the tip's round. Entries at or below the tip are kept, not pruned as the store
//! prunes them, so a restart can also come back to a ledger that lost its last blocks.

use std::collections::BTreeMap;

use bfte_consensus::{Durable, Output, Restored};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::vote::Vote;

#[derive(Debug)]
pub struct Disk {
    /// Finalized blocks from genesis, each with the certificate that finalized it, if any.
    chain: Vec<(Block, Option<Certificate>)>,
    votes: Vec<Vote>,
    own_items: Vec<ConsensusItem>,
    certificates: Vec<Certificate>,
    blocks: Vec<Block>,
}

impl Disk {
    pub fn new(genesis: Block) -> Disk {
        Disk {
            chain: vec![(genesis, None)],
            votes: Vec::new(),
            own_items: Vec::new(),
            certificates: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// Writes an output as the store commits one (the checker has already vetted it).
    pub fn write(&mut self, output: &Output) {
        for finalized in &output.finalized {
            let last = finalized.blocks.len().saturating_sub(1);
            for (i, block) in finalized.blocks.iter().enumerate() {
                let certificate = (i == last).then(|| finalized.certificate.clone());
                self.chain.push((block.clone(), certificate));
            }
        }
        for durable in &output.persist {
            match durable {
                Durable::Vote(vote) => self.votes.push(vote.clone()),
                Durable::OwnItem(item) => self.own_items.push(item.clone()),
                Durable::Certificate(certificate) => self.certificates.push(certificate.clone()),
                Durable::Block(block) => self.blocks.push(block.clone()),
            }
        }
    }

    /// The ledger loses its last `blocks` finalized blocks (modulo its length; genesis stays).
    /// Returns the tip it is left with.
    pub fn lose_finalized(&mut self, blocks: usize) -> Block {
        let keep = self.chain.len() - blocks % self.chain.len();
        self.chain.truncate(keep.max(1));
        self.tip().0.clone()
    }

    fn tip(&self) -> &(Block, Option<Certificate>) {
        &self.chain[self.chain.len() - 1]
    }

    /// As `Store::restored` reads it: the tip, the nonces its chain finalized, and what was
    /// persisted above the tip's round.
    pub fn restored(&self) -> Restored {
        let (tip, tip_finalization) = self.tip();
        let mut nonces = BTreeMap::<PeerId, u64>::new();
        for item in self.chain.iter().flat_map(|(b, _)| &b.payload.items) {
            let nonce = nonces.entry(item.author).or_insert(0);
            *nonce = (*nonce).max(item.nonce);
        }
        let round = tip.header.round;
        Restored {
            finalized_tip: tip.clone(),
            tip_finalization: tip_finalization.clone(),
            votes: above(&self.votes, |v| v.round > round),
            own_items: above(&self.own_items, |i| {
                nonces.get(&i.author).is_none_or(|n| i.nonce > *n)
            }),
            certificates: above(&self.certificates, |c| c.round > round),
            blocks: above(&self.blocks, |b| b.header.round > round),
            finalized_nonces: nonces,
        }
    }
}

fn above<T: Clone>(all: &[T], keep: impl Fn(&T) -> bool) -> Vec<T> {
    all.iter().filter(|x| keep(x)).cloned().collect()
}
