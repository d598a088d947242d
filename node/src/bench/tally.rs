//! What the benchmark's peers finalized: each peer's height, checked for gaps and against
//! every other peer's block at that height, and the totals of blocks final at every peer.

use std::collections::{HashMap, VecDeque};

use bfte_shared::block::Block;
use bfte_shared::hash::Hash;
use bfte_shared::peer::PeerId;

use super::core::CoreBenchError;

/// A block final at some peers but not yet at all of them.
#[derive(Debug)]
struct BlockTally {
    hash: Hash,
    items_by_author: Vec<u64>,
}

/// The blocks each peer finalized, tallied until they are final at every peer.
#[derive(Debug)]
pub(super) struct FinalTally {
    /// Peer index by id, to count items by author.
    index: HashMap<PeerId, usize>,
    /// Each peer's finalized height.
    heights: Vec<u64>,
    /// The height final at every peer, and the blocks above it final at some.
    all_final: u64,
    pending: VecDeque<BlockTally>,
    /// Totals over the blocks final at every peer.
    blocks: u64,
    items: u64,
    items_by_author: Vec<u64>,
}

impl FinalTally {
    pub(super) fn new(index: HashMap<PeerId, usize>) -> Self {
        let peers = index.len();
        FinalTally {
            index,
            heights: vec![0; peers],
            all_final: 0,
            pending: VecDeque::new(),
            blocks: 0,
            items: 0,
            items_by_author: vec![0; peers],
        }
    }

    /// The height final at every peer.
    pub(super) fn all_final(&self) -> u64 {
        self.all_final
    }

    /// Blocks final at every peer.
    pub(super) fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Items final at every peer.
    pub(super) fn items(&self) -> u64 {
        self.items
    }

    /// Items by `author` final at every peer.
    pub(super) fn items_by(&self, author: usize) -> u64 {
        self.items_by_author[author]
    }

    /// Notes that `peer` finalized `block`, checking it is the block every other peer
    /// finalized at that height: a benchmark of a core that disagrees would measure nothing.
    pub(super) fn record(&mut self, peer: usize, block: &Block) -> Result<(), CoreBenchError> {
        let height = block.header.height.0;
        let previous = self.heights[peer];
        if height != previous + 1 {
            return Err(CoreBenchError::Gap {
                peer,
                height,
                previous,
            });
        }
        self.heights[peer] = height;
        let hash = block.hash();
        let offset = (height - self.all_final - 1) as usize;
        match self.pending.get(offset) {
            Some(tally) if tally.hash != hash => {
                return Err(CoreBenchError::Disagreement { peer, height });
            }
            Some(_) => {}
            None => {
                let mut items_by_author = vec![0; self.heights.len()];
                for item in &block.payload.items {
                    if let Some(&author) = self.index.get(&item.author) {
                        items_by_author[author] += 1;
                    }
                }
                self.pending.push_back(BlockTally {
                    hash,
                    items_by_author,
                });
            }
        }
        Ok(())
    }

    /// Counts the blocks that are now final at every peer.
    pub(super) fn advance(&mut self) {
        let lowest = self.heights.iter().min().copied().unwrap_or_default();
        while self.all_final < lowest {
            let Some(tally) = self.pending.pop_front() else {
                break;
            };
            self.all_final += 1;
            self.blocks += 1;
            for (total, count) in self.items_by_author.iter_mut().zip(&tally.items_by_author) {
                *total += count;
                self.items += count;
            }
        }
    }
}
