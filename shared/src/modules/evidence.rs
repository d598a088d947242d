//! The evidence module: proof that a peer signed two messages a correct peer never signs
//! together, committed so every peer holds it and admins are told to vote the signer out.

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::peer::{PeerId, Signature};
use crate::round::Round;
use crate::vote::Vote;

/// Two signed messages by one peer that conflict. A proposal is proven by what its signature
/// covers (round and block hash), not the whole block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proof {
    /// Two votes of one signer in one round whose kinds conflict (`VoteKind::conflicts_with`).
    Votes { first: Vote, second: Vote },
    /// Two proposals of one leader for one round, for different blocks.
    Proposals {
        proposer: PeerId,
        round: Round,
        first: (Hash, Signature),
        second: (Hash, Signature),
    },
}

impl Proof {
    /// The peer the proof accuses, and the round of the offence.
    pub fn offence(&self) -> (PeerId, Round) {
        match self {
            Proof::Votes { first, .. } => (first.signer, first.round),
            Proof::Proposals {
                proposer, round, ..
            } => (*proposer, *round),
        }
    }
}

/// Effect kind emitted the first time a peer's misbehaviour in a round is proven.
pub const MISBEHAVIOUR: &str = "evidence/misbehaviour";

/// Body of a [`MISBEHAVIOUR`] effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Misbehaviour {
    pub offender: PeerId,
    pub round: Round,
}

// The module's tables in the node's database (`module/<id>/<table>`), with their keys and
// values: the node's module and the console decode them from these definitions.

/// Table: CBOR `(offender, round)` -> the first [`Proof`] recorded for it.
pub const PROOFS: &str = "proofs";
