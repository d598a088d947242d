//! Replay: verified history into a store and a ledger, epoch after epoch. Blocks wait in memory
//! until a certificate valid under the epoch in force covers them; then they are committed, the
//! real ledger applies them (checking every state root they commit to), and an epoch the
//! ledger starts gives the peers the next blocks are verified under. A replicating node and
//! `bfte history verify` run the same code; only the store differs (theirs, or a scratch one).

use std::sync::Arc;

use bfte_consensus::Finalized;
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::chain::ChainTip;
use bfte_shared::codec::{self, DecodeError};
use bfte_shared::crypto::Verifier;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::ledger::{BlockOutcome, ItemOutcome};
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::CONSENSUS_CTRL;
use bfte_shared::modules::ctrl::{Change, EpochConfig, PASSED, Proposal};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::error::HistoryError;
use super::segment::SEGMENT_BLOCKS;
use super::verifier::ChainVerifier;
use crate::ledger::Ledger;
use crate::store::{MAX_VALUE_BYTES, Store};

/// Most blocks held while waiting for a certificate. Honest stores certify far more often
/// (a batch of finalized blocks rarely passes a few hundred).
pub const MAX_UNCERTIFIED_BLOCKS: usize = 4 * SEGMENT_BLOCKS as usize;

/// The replaying node authors no items, so an epoch switch has none of its own to put back
/// into an outbox.
const NO_AUTHOR: PeerId = PeerId([0; 32]);

#[derive(Debug)]
pub struct Replay {
    federation: FederationId,
    store: Arc<Store>,
    ledger: Ledger,
    chain: ChainVerifier,
    verifier: Arc<dyn Verifier>,
    /// Blocks above the tip that no certificate covers yet: held here, never written.
    pending: Vec<Block>,
    /// The last applied height and the state root after it.
    root: (Height, Hash),
}

impl Replay {
    /// Replays onto `store` from where it stands: its ledger first catches up with its chain
    /// (a crash may have come between a commit and the ledger, or the ledger and the switch).
    pub fn new(store: Arc<Store>, verifier: Arc<dyn Verifier>) -> Result<Replay, HistoryError> {
        let genesis = store.genesis().clone();
        let mut ledger = Ledger::new(&genesis);
        while let Some(epoch) = ledger.catch_up(&store)?.epoch {
            store.switch_epoch(&epoch, &NO_AUTHOR)?;
        }
        let epoch = ledger.epoch(store.database())?;
        store.switch_epoch(&epoch, &NO_AUTHOR)?;
        let height = store.finalized_height()?;
        let tip = store
            .finalized_block(height)?
            .ok_or(HistoryError::MissingTip { height })?
            .0;
        let root = ledger
            .recent_roots(store.database(), 1)?
            .pop()
            .ok_or(HistoryError::MissingTip { height })?;
        let federation = genesis.federation_id();
        let chain = ChainVerifier::new(&federation, epoch, ChainTip::of(&tip), verifier.clone())?;
        Ok(Replay {
            federation,
            store,
            ledger,
            chain,
            verifier,
            pending: Vec::new(),
            root,
        })
    }

    /// The epoch the next blocks are verified under.
    pub fn epoch(&self) -> &EpochConfig {
        self.chain.epoch()
    }

    pub fn chain(&self) -> &ChainVerifier {
        &self.chain
    }

    /// The last verified block.
    pub fn tip(&self) -> ChainTip {
        self.chain.tip()
    }

    /// The height the next block must have.
    pub fn next_height(&self) -> Height {
        self.pending
            .last()
            .map_or(self.tip().height, |b| b.header.height)
            .next()
    }

    /// The last applied height and the state root after it.
    pub fn state_root(&self) -> (Height, Hash) {
        self.root
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Drops the blocks waiting for a certificate: their source was dropped, another one
    /// starts again from the tip.
    pub fn discard_uncertified(&mut self) {
        self.pending.clear();
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The heights waiting for a certificate, if any.
    pub fn uncertified(&self) -> Option<(Height, Height)> {
        let first = self.pending.first()?.header.height;
        let last = self.pending.last()?.header.height;
        Some((first, last))
    }

    /// Takes the next block and, if it carries one, its finalization; returns the epoch that
    /// applying the finalized blocks started, if any.
    pub fn push(
        &mut self,
        block: Block,
        finalization: Option<Certificate>,
    ) -> Result<Option<EpochConfig>, HistoryError> {
        if self.pending.len() >= MAX_UNCERTIFIED_BLOCKS {
            return Err(HistoryError::TooManyUncertified {
                from: self.next_height(),
                count: self.pending.len() + 1,
                limit: MAX_UNCERTIFIED_BLOCKS,
            });
        }
        self.pending.push(block);
        match finalization {
            Some(certificate) => self.finalize(certificate),
            None => Ok(None),
        }
    }

    /// Takes a finalized chain as a peer serves it (`Store::finalized_chain`), which may end an
    /// epoch with that epoch's end proof.
    pub fn accept(&mut self, chain: FinalizedChain) -> Result<Option<EpochConfig>, HistoryError> {
        let FinalizedChain {
            blocks,
            finalization,
        } = chain;
        let count = self.pending.len() + blocks.len();
        if count > MAX_UNCERTIFIED_BLOCKS {
            return Err(HistoryError::TooManyUncertified {
                from: self.next_height(),
                count,
                limit: MAX_UNCERTIFIED_BLOCKS,
            });
        }
        self.pending.extend(blocks);
        self.finalize(finalization)
    }

    /// Ends the epoch in force: the blocks waiting, then `tail` (what the epoch finalized
    /// above its last block), all finalized by `finalization`. Succeeds only if applying them
    /// started the next epoch exactly at the last block before `tail`; returns that epoch.
    pub fn end_epoch(
        &mut self,
        tail: Vec<Block>,
        finalization: Certificate,
    ) -> Result<EpochConfig, HistoryError> {
        let ending = self.epoch().number;
        let boundary = self.next_height().0.saturating_sub(1);
        let started = self.accept(FinalizedChain {
            blocks: tail,
            finalization,
        })?;
        match started {
            Some(epoch) if epoch.start_height.0 == boundary => Ok(epoch),
            Some(epoch) => Err(HistoryError::UnannouncedEpochEnd {
                epoch: ending,
                height: epoch.start_height,
            }),
            None => Err(HistoryError::NoEpochEnd {
                epoch: ending,
                height: Height(boundary),
            }),
        }
    }

    /// The changes that passed when the block at `height` was applied.
    pub fn passed_at(&self, height: Height) -> Result<Vec<Change>, HistoryError> {
        let outcome = self.ledger.outcome(self.store.database(), height)?;
        let Some(outcome) = outcome else {
            return Ok(Vec::new());
        };
        passed_changes(&outcome).map_err(|e| {
            HistoryError::Ledger(crate::ledger::LedgerError::Corrupt {
                table: "ledger/outcomes".into(),
                detail: e.to_string(),
            })
        })
    }

    /// Verifies the waiting blocks with `finalization`, then commits and applies them.
    fn finalize(&mut self, finalization: Certificate) -> Result<Option<EpochConfig>, HistoryError> {
        let chain = FinalizedChain {
            blocks: std::mem::take(&mut self.pending),
            finalization,
        };
        let verified = self.chain.verify(chain)?;
        self.chain.advance(&verified);
        let finalized = Finalized {
            blocks: verified.blocks,
            certificate: verified.finalization,
        };
        self.store.commit(&[], std::slice::from_ref(&finalized))?;
        let caught_up = (self.ledger).catch_up_with(&self.store, &finalized.blocks)?;
        if let Some(&last) = caught_up.applied.last() {
            self.root = last;
        }
        let Some(epoch) = caught_up.epoch else {
            return Ok(None);
        };
        // As the node does: the chain ends at the start block, what the old epoch finalized
        // above it stays only as its end proof.
        self.store.switch_epoch(&epoch, &NO_AUTHOR)?;
        let start = finalized
            .blocks
            .iter()
            .find(|b| b.header.height == epoch.start_height)
            .ok_or(HistoryError::MissingTip {
                height: epoch.start_height,
            })?;
        self.chain = ChainVerifier::new(
            &self.federation,
            epoch.clone(),
            ChainTip::of(start),
            self.verifier.clone(),
        )?;
        Ok(Some(epoch))
    }
}

/// The changes whose proposals passed in a block, from the ledger's record of applying it.
pub fn passed_changes(outcome: &BlockOutcome) -> Result<Vec<Change>, DecodeError> {
    let mut changes = Vec::new();
    for entry in &outcome.entries {
        let ItemOutcome::Applied { effects } = entry else {
            continue;
        };
        for effect in effects {
            if effect.from == CONSENSUS_CTRL && effect.kind == PASSED {
                let proposal: Proposal = codec::decode(&effect.data, MAX_VALUE_BYTES)?;
                changes.push(proposal.change);
            }
        }
    }
    Ok(changes)
}
