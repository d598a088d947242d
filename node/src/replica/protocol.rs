//! The history protocol on [`HISTORY_ALPN`]: what a replica asks a source for, beside the
//! segment blobs that iroh-blobs serves on its own ALPN.
//!
//! One bidirectional stream per request: the asker writes one frame (a u32 big-endian length
//! and a CBOR [`Request`]) and finishes its side. `Index` gets one frame back. `Chain` gets the
//! chain as [`ChainPart`] frames (none if the source has no such chain); `Follow` gets each
//! chain the source finalizes as such frames, for as long as the stream stays open. A chain
//! of many full blocks under one certificate is larger than a frame may be, hence the parts. Nothing in an answer is trusted: the replica verifies every
//! block and certificate itself (`history::Replay`).

use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::federation::Genesis;
use bfte_shared::hash::Hash;
use bfte_shared::message::{FinalizedChain, MAX_MESSAGE_BYTES};
use bfte_shared::round::Height;
use serde::{Deserialize, Serialize};

/// The ALPN of history requests; the version changes when the requests or the blocks they
/// carry do (3: items carry batches of entries).
pub const HISTORY_ALPN: &[u8] = b"bfte/history/3";
/// Largest request on the wire: requests are a few integers.
pub const MAX_REQUEST_BYTES: usize = 1024;
/// Most hashes an epoch's segment list may hold on the wire (a billion heights).
pub const MAX_EPOCH_SEGMENTS: u64 = 1 << 20;
/// Bytes of blocks a source puts in one [`ChainPart`], well under a frame's limit (one block
/// larger than this goes alone).
const PART_BYTES: usize = MAX_MESSAGE_BYTES / 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The genesis, the finalized tip and every epoch's segments.
    Index,
    /// The finalized blocks from `from` up to the first one at or after it that carries a
    /// finalization (or the end proof of its epoch): `Store::finalized_chain(from, 0)`.
    Chain { from: Height },
    /// Every finalized chain from `from` on, pushed as the source finalizes it.
    Follow { from: Height },
}

/// What a source holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub genesis: Genesis,
    pub tip: Height,
    pub epochs: Vec<EpochSegments>,
}

/// One epoch's complete segments, listed in an iroh-blobs hash sequence. A segment is complete
/// once it ended by the segment rule (`history::SegmentCut`) or at the end of its epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSegments {
    pub number: u64,
    /// The block the epoch starts from.
    pub start: Height,
    /// Its last block, if it ended.
    pub end: Option<Height>,
    /// The hash sequence of the segments, in order.
    pub segments: Hash,
    /// The last height of each segment, in the same order: where a replica resumes, and
    /// which segments it can fetch from whom, without fetching any first. A claim like any
    /// other: each segment's blocks are checked against it.
    pub lasts: Vec<Height>,
}

/// One frame of a chain: blocks that the next `Finalized` part's certificate covers too, or
/// the chain's last blocks with that certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainPart {
    Blocks(Vec<Block>),
    Finalized(FinalizedChain),
}

/// Cuts `chain` into parts of at most [`PART_BYTES`] of blocks (a larger block goes alone),
/// the certificate in the last.
pub fn chain_parts(chain: FinalizedChain) -> Vec<ChainPart> {
    let FinalizedChain {
        blocks,
        finalization,
    } = chain;
    let mut parts = Vec::new();
    let mut part = Vec::new();
    let mut bytes = 0;
    for block in blocks {
        let size = codec::encoded_len(&block);
        if !part.is_empty() && bytes + size > PART_BYTES {
            parts.push(ChainPart::Blocks(std::mem::take(&mut part)));
            bytes = 0;
        }
        bytes += size;
        part.push(block);
    }
    parts.push(ChainPart::Finalized(FinalizedChain {
        blocks: part,
        finalization,
    }));
    parts
}

#[cfg(test)]
mod tests {
    use bfte_shared::block::{BlockHeader, Payload};
    use bfte_shared::certificate::Certificate;
    use bfte_shared::hash::Hash;
    use bfte_shared::item::{ConsensusItem, ModuleId};
    use bfte_shared::peer::{PeerId, Signature};
    use bfte_shared::round::Round;
    use bfte_shared::vote::VoteKind;

    use super::*;

    fn block(height: u64, bytes: usize) -> Block {
        let payload = Payload {
            items: vec![ConsensusItem {
                author: PeerId([1; 32]),
                nonce: height,
                entries: vec![bfte_shared::item::Entry {
                    module: ModuleId(0),
                    data: vec![0; bytes],
                }],
                signature: Signature([0; 64]),
            }],
        };
        let header = BlockHeader {
            round: Round(height),
            height: Height(height),
            parent: Hash::ZERO,
            payload_hash: payload.hash(),
            timestamp_ms: 0,
            config_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            state_height: Height(0),
            proposer: PeerId([2; 32]),
        };
        Block { header, payload }
    }

    #[test]
    fn a_chain_larger_than_a_frame_comes_in_parts_that_each_fit_one() {
        // 40 blocks of 1 MiB under one certificate: 40 MiB, far over a 16 MiB frame.
        let blocks: Vec<Block> = (1..=40).map(|h| block(h, 1 << 20)).collect();
        let finalization =
            Certificate::from_signatures(Round(40), VoteKind::Finalize(Hash::ZERO), 4, []);
        let chain = FinalizedChain {
            blocks: blocks.clone(),
            finalization: finalization.clone(),
        };
        let parts = chain_parts(chain);
        assert!(parts.len() >= 10, "{} parts", parts.len());
        let mut joined = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            assert!(codec::encode(part).len() <= MAX_MESSAGE_BYTES / 2);
            match part {
                ChainPart::Blocks(part) => {
                    assert!(
                        index + 1 < parts.len(),
                        "blocks come before the certificate"
                    );
                    joined.extend(part.iter().cloned());
                }
                ChainPart::Finalized(last) => {
                    assert_eq!(index + 1, parts.len(), "the certificate comes last");
                    assert_eq!(last.finalization, finalization);
                    joined.extend(last.blocks.iter().cloned());
                }
            }
        }
        assert_eq!(joined, blocks, "every block once, in order");

        // A small chain stays one frame.
        let small = FinalizedChain {
            blocks: vec![block(1, 10)],
            finalization,
        };
        assert_eq!(chain_parts(small.clone()), [ChainPart::Finalized(small)]);
    }
}
