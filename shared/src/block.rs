//! Blocks: a header that commits to everything, and the payload of items.

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::federation::Genesis;
use crate::hash::Hash;
use crate::item::ConsensusItem;
use crate::peer::PeerId;
use crate::round::{Height, Round};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    pub round: Round,
    pub height: Height,
    pub parent: Hash,
    pub payload_hash: Hash,
    pub timestamp_ms: u64,
    /// Hash of the peer set and parameters in force for this block.
    pub config_hash: Hash,
    /// Root over all module state after the finalized block at `state_height` was applied: the
    /// newest state the proposer had. Voters check it against their own, so a peer whose state
    /// diverges finds out at the first block that commits to a state it computed differently.
    pub state_root: Hash,
    /// The height `state_root` is for: at most the parent's height, never below the parent's.
    pub state_height: Height,
    pub proposer: PeerId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub items: Vec<ConsensusItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub payload: Payload,
}

impl Payload {
    pub fn hash(&self) -> Hash {
        Hash::of(b"bfte/v1/payload\0", self)
    }

    pub fn encoded_len(&self) -> usize {
        codec::encoded_len(self)
    }

    /// The entries of all items: what the block's item limit counts (`max_block_items`, with
    /// an empty item counting as one, see [`ConsensusItem::weight`]).
    pub fn entry_count(&self) -> usize {
        self.items.iter().map(|item| item.entries.len()).sum()
    }

    /// What the block's item limit counts.
    pub fn weight(&self) -> usize {
        self.items.iter().map(ConsensusItem::weight).sum()
    }
}

impl BlockHeader {
    pub fn hash(&self) -> Hash {
        Hash::of(b"bfte/v1/block\0", self)
    }
}

impl Block {
    /// The block's identity: the hash of its header, which commits to the payload.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Height 0 of every chain: it carries no items and no proposer.
    pub fn genesis(genesis: &Genesis) -> Block {
        let payload = Payload::default();
        Block {
            header: BlockHeader {
                round: Round(0),
                height: Height(0),
                parent: Hash::ZERO,
                payload_hash: payload.hash(),
                timestamp_ms: genesis.timestamp_ms,
                config_hash: genesis.config_hash(),
                state_root: Hash::ZERO,
                state_height: Height(0),
                proposer: PeerId([0; 32]),
            },
            payload,
        }
    }

    /// True if the payload is the one the header commits to.
    pub fn payload_matches(&self) -> bool {
        self.payload.hash() == self.header.payload_hash
    }
}
