//! Finalized blocks: a bounded list of summaries for the table, and the one block opened in
//! full.

use std::collections::VecDeque;

use bfte_shared::admin::{BlockDetail, FinalizedBlock};
use bfte_shared::hash::Hash;
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};

/// Blocks kept in the list.
pub const KEPT_BLOCKS: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSummary {
    pub height: Height,
    pub round: Round,
    pub hash: Hash,
    pub proposer: PeerId,
    pub items: u32,
    /// When it became final (node clock, ms), or its proposal time for blocks loaded at start.
    pub at_ms: u64,
}

impl BlockSummary {
    pub fn from_stored(stored: &FinalizedBlock) -> BlockSummary {
        let header = &stored.block.header;
        BlockSummary {
            height: header.height,
            round: header.round,
            hash: stored.block.hash(),
            proposer: header.proposer,
            // Entries: what clients submitted, however many signed items carry them.
            items: u32::try_from(stored.block.payload.entry_count()).unwrap_or(u32::MAX),
            at_ms: header.timestamp_ms,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocks {
    /// Oldest first.
    list: VecDeque<BlockSummary>,
    /// The block opened with Enter, once the node sent it.
    pub detail: Option<BlockDetail>,
    /// What applying the opened block did, once the node sent it.
    pub outcome: Option<BlockOutcome>,
    /// The height asked for and not answered yet.
    pub opening: Option<Height>,
}

impl Blocks {
    /// Adds a block above the current tip; anything at or below it is a repeat and ignored.
    pub fn push(&mut self, block: BlockSummary) -> bool {
        if self.tip().is_some_and(|tip| block.height <= tip) {
            return false;
        }
        if self.list.len() >= KEPT_BLOCKS {
            self.list.pop_front();
        }
        self.list.push_back(block);
        true
    }

    /// The round of the block at `height`, if the list holds it.
    pub fn round_at(&self, height: Height) -> Option<Round> {
        let index = self.list.partition_point(|b| b.height < height);
        self.list
            .get(index)
            .filter(|b| b.height == height)
            .map(|b| b.round)
    }

    /// Drops the blocks above `height`: they left the chain when an epoch started there.
    pub fn truncate_above(&mut self, height: Height) {
        let keep = self.list.partition_point(|b| b.height <= height);
        self.list.truncate(keep);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub fn tip(&self) -> Option<Height> {
        self.list.back().map(|b| b.height)
    }

    /// The last block's round, for the finality lag.
    pub fn tip_round(&self) -> Option<Round> {
        self.list.back().map(|b| b.round)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Newest first.
    pub fn newest(&self) -> impl Iterator<Item = &BlockSummary> {
        self.list.iter().rev()
    }
}
