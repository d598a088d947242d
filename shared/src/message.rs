//! The consensus wire protocol: everything peers push to and pull from each other.

use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::certificate::Certificate;
use crate::codec::{self, DecodeError};
use crate::item::ConsensusItem;
use crate::round::{Height, Round};
use crate::vote::{Proposal, Vote};

/// No consensus message may be larger; a block's payload limit is well below it.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Proposal(Proposal),
    Vote(Vote),
    /// A notarization, dummy or finalization certificate, forwarded so peers that missed votes
    /// move on.
    Certificate(Certificate),
    /// A pending item, broadcast by its author so any leader can include it.
    Item(ConsensusItem),
    /// Several pending items at once: what a peer would otherwise send as `Item`s in a row,
    /// verified by the receiver in one batch.
    Items(Vec<ConsensusItem>),
    /// "Send me what you have from this round on; my finalized chain ends at this height."
    Pull(Pull),
    /// Answer to a pull: certificates of rounds not yet final, and the blocks they name.
    Catchup(Catchup),
    /// Answer to a pull: finalized blocks in height order and the finalization of the last.
    Finalized(FinalizedChain),
    /// "What is the highest certificate you hold?", from a peer restored from a backup (rule 15
    /// of the consensus spec); the nonce, fresh for each start, ties an answer to this ask.
    HighestAsk {
        nonce: u64,
    },
    /// The answer, built when the ask arrived: the highest-round certificate the peer holds
    /// (of its open rounds, else its finalized tip's finalization), none before its first.
    Highest {
        nonce: u64,
        certificate: Option<Certificate>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    pub round: Round,
    pub finalized_height: Height,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catchup {
    pub certificates: Vec<Certificate>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedChain {
    pub blocks: Vec<Block>,
    pub finalization: Certificate,
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        codec::decode(bytes, MAX_MESSAGE_BYTES)
    }
}
