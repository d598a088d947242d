//! What the core under test must never do, whatever it is fed: sign conflicting votes or two
//! proposals in one round (across restarts too), send a vote of its own before asking for it
//! to be persisted, or finalize blocks that do not extend what it finalized before.

use std::collections::{BTreeMap, HashSet};

use bfte_consensus::Finalized;
use bfte_shared::block::Block;
use bfte_shared::hash::Hash;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Vote, VoteKind};

#[derive(Debug)]
pub struct Checker {
    votes: BTreeMap<Round, Vec<VoteKind>>,
    persisted: HashSet<(Round, VoteKind)>,
    proposals: BTreeMap<Round, Hash>,
    tip: (Height, Hash),
}

impl Checker {
    pub fn new(genesis: &Block) -> Checker {
        Checker {
            votes: BTreeMap::new(),
            persisted: HashSet::new(),
            proposals: BTreeMap::new(),
            tip: (genesis.header.height, genesis.hash()),
        }
    }

    /// An own vote the core asked to persist.
    pub fn persisted_vote(&mut self, vote: &Vote) {
        let signed = self.votes.entry(vote.round).or_default();
        if let Some(other) = signed.iter().find(|k| k.conflicts_with(vote.kind)) {
            panic!(
                "the core signed conflicting votes in round {}: {other:?} and {:?}",
                vote.round, vote.kind
            );
        }
        if !signed.contains(&vote.kind) {
            signed.push(vote.kind);
        }
        self.persisted.insert((vote.round, vote.kind));
    }

    /// An own vote the core sends: persisted first (driver contract 1), so never unseen here.
    pub fn sent_vote(&self, vote: &Vote) {
        assert!(
            self.persisted.contains(&(vote.round, vote.kind)),
            "the core sent its vote {:?} in round {} without persisting it",
            vote.kind,
            vote.round
        );
    }

    /// An own proposal: one block per round, ever.
    pub fn proposed(&mut self, block: &Block) {
        let hash = block.hash();
        let first = *self.proposals.entry(block.header.round).or_insert(hash);
        assert_eq!(
            first, hash,
            "the core proposed two blocks in round {}",
            block.header.round
        );
    }

    /// The database lost finalized blocks above `tip`: the core finalizes on from there.
    pub fn rolled_back(&mut self, tip: &Block) {
        self.tip = (tip.header.height, tip.hash());
    }

    /// Newly finalized blocks extend the finalized chain, each the child of the one before.
    pub fn finalized(&mut self, finalized: &Finalized) {
        assert!(!finalized.blocks.is_empty(), "finalized nothing");
        for block in &finalized.blocks {
            let (height, hash) = self.tip;
            assert!(
                block.header.parent == hash && block.header.height == height.next(),
                "finalized block at {} does not extend the finalized tip at {height}",
                block.header.height
            );
            self.tip = (block.header.height, block.hash());
        }
        let last = finalized.blocks.last().map(Block::hash);
        assert_eq!(
            finalized.certificate.kind.block(),
            last,
            "the certificate does not finalize the last block"
        );
    }
}
