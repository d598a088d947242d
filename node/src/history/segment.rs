//! Segments: each epoch's blocks cut into runs of a bounded size. A segment ends at the first
//! block that makes it [`SEGMENT_BLOCKS`] blocks long or brings its blocks' encodings to
//! [`SEGMENT_BYTES`], or at the end of its epoch. Where it ends depends only on the blocks
//! (never on the certificates, which differ between nodes), so peers holding the same history
//! cut it the same way and, the encoding being canonical, serve the same blobs; and a segment
//! stays a few megabytes whether the epoch's blocks are empty or full.

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::codec::{self, DecodeError};
use bfte_shared::federation::ConsensusParams;
use bfte_shared::round::Height;
use serde::{Deserialize, Serialize};

/// Most blocks in a segment: empty blocks make segments of a few hundred kilobytes.
pub const SEGMENT_BLOCKS: u64 = 1_000;
/// A segment ends at the first block that brings its blocks' encodings to this many bytes.
pub const SEGMENT_BYTES: u64 = 4 << 20;

/// Room for a block's header and the CBOR around an entry, beyond the payload.
const ENTRY_OVERHEAD_BYTES: usize = 1_024;
/// Room for an epoch end's configuration and changes beyond its blocks: members with names
/// and addresses, parameters, modules.
const END_OVERHEAD_BYTES: usize = 1 << 20;

/// Finds where segments end, fed an epoch's blocks in height order from its first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentCut {
    blocks: u64,
    bytes: u64,
}

impl SegmentCut {
    /// Counts `block` into the open segment; true if the segment ends with it, and the next
    /// block then opens a new one.
    pub fn ends_with(&mut self, block: &Block) -> bool {
        self.blocks += 1;
        self.bytes += codec::encoded_len(block) as u64;
        let ends = self.blocks >= SEGMENT_BLOCKS || self.bytes >= SEGMENT_BYTES;
        if ends {
            *self = SegmentCut::default();
        }
        ends
    }
}

/// One finalized block and, if the block was the last of a finalized batch, the certificate
/// that finalized it (the blocks below it up to the previous certificate are final through
/// its hash links).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub block: Block,
    pub finalization: Option<Certificate>,
}

/// The blocks of one segment's heights, in height order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub entries: Vec<SegmentEntry>,
}

impl Segment {
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a segment of an epoch of `peers` peers under `params`, refusing more bytes than
    /// such a segment can take.
    pub fn decode(
        bytes: &[u8],
        peers: usize,
        params: &ConsensusParams,
    ) -> Result<Segment, DecodeError> {
        codec::decode(bytes, record_limit(peers, params))
    }

    /// Height of the first block, if any.
    pub fn first_height(&self) -> Option<Height> {
        self.entries.first().map(|e| e.block.header.height)
    }
}

/// The most bytes one record of an epoch with `peers` peers under `params` may take: a full
/// segment of blocks as large as the parameters allow, each with a certificate of every peer,
/// or an epoch's end proof with as many blocks.
pub fn record_limit(peers: usize, params: &ConsensusParams) -> usize {
    let certificate = 64 + peers.div_ceil(8) + peers * 67;
    let entry = (params.max_block_bytes as usize)
        .saturating_add(ENTRY_OVERHEAD_BYTES)
        .saturating_add(certificate);
    entry
        .saturating_mul(SEGMENT_BLOCKS as usize)
        .saturating_add(END_OVERHEAD_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfte_shared::block::{BlockHeader, Payload};
    use bfte_shared::item::{ConsensusItem, ModuleId};
    use bfte_shared::peer::{PeerId, Signature};

    /// A block holding one item of `bytes` bytes (none for 0).
    fn block_of_bytes(bytes: usize) -> Block {
        let items = (bytes > 0)
            .then(|| ConsensusItem {
                author: PeerId([1; 32]),
                nonce: 1,
                entries: vec![bfte_shared::item::Entry {
                    module: ModuleId(0),
                    data: vec![7; bytes],
                }],
                signature: Signature([0; 64]),
            })
            .into_iter()
            .collect();
        let payload = Payload { items };
        let header = BlockHeader {
            round: bfte_shared::round::Round(1),
            height: Height(1),
            parent: bfte_shared::hash::Hash::ZERO,
            payload_hash: payload.hash(),
            timestamp_ms: 0,
            config_hash: bfte_shared::hash::Hash::ZERO,
            state_root: bfte_shared::hash::Hash::ZERO,
            state_height: Height(0),
            proposer: PeerId([2; 32]),
        };
        Block { header, payload }
    }

    #[test]
    fn a_segment_ends_at_its_block_count_or_its_bytes_whichever_comes_first() {
        let empty = block_of_bytes(0);
        let mut cut = SegmentCut::default();
        let ends: Vec<u64> = (1..=2_500).filter(|_| cut.ends_with(&empty)).collect();
        assert_eq!(
            ends,
            [1_000, 2_000],
            "empty blocks: the block count ends them"
        );
        // 500 blocks are open in the third segment: it ends with the 500th more.
        assert!((1..500).all(|_| !cut.ends_with(&empty)));
        assert!(cut.ends_with(&empty));

        let full = block_of_bytes(1 << 20);
        let size = codec::encoded_len(&full);
        assert!(size > 1 << 20 && size < (1 << 20) + 1024, "{size}");
        let mut cut = SegmentCut::default();
        let ends: Vec<u64> = (1..=10).filter(|_| cut.ends_with(&full)).collect();
        assert_eq!(ends, [4, 8], "1 MiB blocks: four of them pass 4 MiB");
        assert_eq!(codec::encoded_len(&full), codec::encode(&full).len());
    }

    #[test]
    fn a_segment_larger_than_its_epoch_allows_is_refused() {
        let params = ConsensusParams {
            max_block_bytes: 4096,
            ..ConsensusParams::default()
        };
        let limit = record_limit(4, &params);
        let oversized = codec::encode(&vec![0u8; limit]);
        assert!(matches!(
            Segment::decode(&oversized, 4, &params),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            Segment::decode(&[0xa1, 0x00], 4, &params),
            Err(DecodeError::Invalid(_))
        ));
    }
}
