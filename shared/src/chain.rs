//! Checking finalized history against a verified tip: the rule the consensus core applies to a
//! `Message::Finalized` answer, and the one a replica or an offline verifier applies to history.

use crate::block::Block;
use crate::certificate::CertificateError;
use crate::crypto::Verifier;
use crate::federation::{FederationId, PeerSet};
use crate::hash::Hash;
use crate::message::FinalizedChain;
use crate::round::{Height, Round};
use crate::vote::VoteKind;

/// The last block the checker already trusts: a finalized chain must extend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTip {
    pub height: Height,
    pub hash: Hash,
    pub round: Round,
}

impl ChainTip {
    pub fn of(block: &Block) -> ChainTip {
        ChainTip {
            height: block.header.height,
            hash: block.hash(),
            round: block.header.round,
        }
    }
}

/// Why a finalized chain does not extend the tip under an epoch's peers.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("the block at height {height} is {found}, not the verified tip {tip}")]
    ForkAtTip {
        height: Height,
        found: Hash,
        tip: Hash,
    },
    #[error("no block above the verified tip at height {tip}")]
    NothingNew { tip: Height },
    #[error(
        "the finalization (round {round}, {kind:?}) is not for the last block, height {height} \
         in round {block_round}"
    )]
    NotForLastBlock {
        height: Height,
        block_round: Round,
        round: Round,
        kind: VoteKind,
    },
    #[error(
        "the last block (height {height}) is in round {round}, not above the tip's round \
         {tip_round}"
    )]
    RoundNotAboveTip {
        height: Height,
        round: Round,
        tip_round: Round,
    },
    #[error("the block at height {height} names parent {found}, but the block below is {expected}")]
    BrokenLink {
        height: Height,
        expected: Hash,
        found: Hash,
    },
    #[error("a block at height {found} where height {expected} comes next")]
    HeightGap { expected: Height, found: Height },
    #[error("the payload of the block at height {height} is not the one its header commits to")]
    PayloadMismatch { height: Height },
    #[error("the finalization of height {height} does not hold for this epoch's peers: {source}")]
    Certificate {
        height: Height,
        source: CertificateError,
    },
}

impl FinalizedChain {
    /// The part of the chain above `tip`, if it extends `tip` and its finalization is valid
    /// under `peers` signing over `domain`. Blocks at or below the tip may come along (an
    /// answer can overlap what the checker finalized since it asked); the one at the tip's
    /// height must be the tip. The certificate is checked last: it is the expensive part.
    pub fn verify_above(
        self,
        tip: &ChainTip,
        domain: &FederationId,
        peers: &PeerSet,
        verifier: &dyn Verifier,
    ) -> Result<FinalizedChain, ChainError> {
        let FinalizedChain {
            blocks,
            finalization,
        } = self;
        if let Some(at_tip) = blocks.iter().find(|b| b.header.height == tip.height) {
            let found = at_tip.hash();
            if found != tip.hash {
                return Err(ChainError::ForkAtTip {
                    height: tip.height,
                    found,
                    tip: tip.hash,
                });
            }
        }
        let blocks: Vec<Block> = blocks
            .into_iter()
            .filter(|b| b.header.height > tip.height)
            .collect();
        let Some(last) = blocks.last() else {
            return Err(ChainError::NothingNew { tip: tip.height });
        };
        let last_header = &last.header;
        if finalization.kind != VoteKind::Finalize(last.hash())
            || finalization.round != last_header.round
        {
            return Err(ChainError::NotForLastBlock {
                height: last_header.height,
                block_round: last_header.round,
                round: finalization.round,
                kind: finalization.kind,
            });
        }
        if last_header.round <= tip.round {
            return Err(ChainError::RoundNotAboveTip {
                height: last_header.height,
                round: last_header.round,
                tip_round: tip.round,
            });
        }
        let mut parent = tip.hash;
        let mut height = tip.height;
        for block in &blocks {
            let header = &block.header;
            if header.height != height.next() {
                return Err(ChainError::HeightGap {
                    expected: height.next(),
                    found: header.height,
                });
            }
            if header.parent != parent {
                return Err(ChainError::BrokenLink {
                    height: header.height,
                    expected: parent,
                    found: header.parent,
                });
            }
            if !block.payload_matches() {
                return Err(ChainError::PayloadMismatch {
                    height: header.height,
                });
            }
            parent = block.hash();
            height = header.height;
        }
        finalization
            .verify(domain, peers, verifier)
            .map_err(|source| ChainError::Certificate { height, source })?;
        Ok(FinalizedChain {
            blocks,
            finalization,
        })
    }
}
