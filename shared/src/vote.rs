//! Votes and proposals: what a peer signs during a round.

use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::crypto::{Domain, SignedBytes, Signer};
use crate::federation::FederationId;
use crate::hash::Hash;
use crate::peer::{PeerId, Signature};
use crate::round::Round;

/// What a vote (or a certificate of q votes) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoteKind {
    /// "This block is the valid proposal of the round."
    Notarize(Hash),
    /// "The round timed out before I saw a notarization."
    Dummy,
    /// "I saw this block notarized and never voted dummy in its round."
    Finalize(Hash),
}

impl VoteKind {
    pub fn domain(self) -> Domain {
        match self {
            VoteKind::Notarize(_) => Domain::NotarizeVote,
            VoteKind::Dummy => Domain::DummyVote,
            VoteKind::Finalize(_) => Domain::FinalizeVote,
        }
    }

    /// Whether a correct peer never signs both in one round: two notarize or two finalize
    /// votes for different blocks, or a dummy and a finalize vote.
    pub fn conflicts_with(self, other: VoteKind) -> bool {
        match (self, other) {
            (VoteKind::Notarize(a), VoteKind::Notarize(b))
            | (VoteKind::Finalize(a), VoteKind::Finalize(b)) => a != b,
            (VoteKind::Dummy, VoteKind::Finalize(_)) | (VoteKind::Finalize(_), VoteKind::Dummy) => {
                true
            }
            _ => false,
        }
    }

    pub fn block(self) -> Option<Hash> {
        match self {
            VoteKind::Notarize(hash) | VoteKind::Finalize(hash) => Some(hash),
            VoteKind::Dummy => None,
        }
    }
}

#[derive(Serialize)]
struct VoteBody<'a> {
    federation: &'a FederationId,
    round: Round,
    block: Option<Hash>,
}

/// The bytes every signer of `kind` in `round` signs; certificates verify against the same.
pub fn vote_signing_bytes(federation: &FederationId, round: Round, kind: VoteKind) -> Vec<u8> {
    kind.domain().signing_bytes(&VoteBody {
        federation,
        round,
        block: kind.block(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub round: Round,
    pub kind: VoteKind,
    pub signer: PeerId,
    pub signature: Signature,
}

impl Vote {
    pub fn new(
        federation: &FederationId,
        signer: &dyn Signer,
        round: Round,
        kind: VoteKind,
    ) -> Self {
        Vote {
            round,
            kind,
            signer: signer.peer_id(),
            signature: signer.sign(&vote_signing_bytes(federation, round, kind)),
        }
    }

    pub fn signing_bytes(&self, federation: &FederationId) -> Vec<u8> {
        vote_signing_bytes(federation, self.round, self.kind)
    }

    pub fn signed<'a>(&'a self, message: &'a [u8]) -> SignedBytes<'a> {
        SignedBytes {
            signer: &self.signer,
            message,
            signature: &self.signature,
        }
    }
}

/// A leader's block for its round, signed by the leader (the block header names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub block: Block,
    pub signature: Signature,
}

#[derive(Serialize)]
struct ProposalBody<'a> {
    federation: &'a FederationId,
    round: Round,
    block: Hash,
}

impl Proposal {
    pub fn new(federation: &FederationId, signer: &dyn Signer, block: Block) -> Self {
        let bytes = proposal_signing_bytes(federation, block.header.round, block.hash());
        Proposal {
            signature: signer.sign(&bytes),
            block,
        }
    }

    pub fn signing_bytes(&self, federation: &FederationId, block_hash: Hash) -> Vec<u8> {
        proposal_signing_bytes(federation, self.block.header.round, block_hash)
    }
}

/// The bytes a leader signs for its proposal of `block` in `round`.
pub fn proposal_signing_bytes(federation: &FederationId, round: Round, block: Hash) -> Vec<u8> {
    Domain::Proposal.signing_bytes(&ProposalBody {
        federation,
        round,
        block,
    })
}
