//! Segments: each epoch's blocks cut into fixed ranges of heights. Where a segment starts and
//! ends depends only on the epoch's start height, so peers holding the same history cut it the
//! same way and, the encoding being canonical, get the same bytes (one blob each, later).

use std::ops::RangeInclusive;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::codec::{self, DecodeError};
use bfte_shared::federation::ConsensusParams;
use bfte_shared::round::Height;
use serde::{Deserialize, Serialize};

/// Blocks per segment. Empty blocks make segments of a few hundred kilobytes; a segment of full
/// blocks is bounded by [`record_limit`].
pub const SEGMENT_BLOCKS: u64 = 1_000;

/// Room for a block's header and the CBOR around an entry, beyond the payload.
const ENTRY_OVERHEAD_BYTES: usize = 1_024;
/// Room for an epoch end's configuration and changes beyond its blocks: members with names
/// and addresses, parameters, modules.
const END_OVERHEAD_BYTES: usize = 1 << 20;

/// Which segment of which epoch: the epoch is named by the height it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId {
    pub epoch_start: Height,
    pub index: u64,
}

/// The segment of the epoch starting at `epoch_start` that holds `height`; `None` for the
/// start block itself and below, which belong to earlier epochs.
pub fn segment_of(epoch_start: Height, height: Height) -> Option<SegmentId> {
    let offset = height.0.checked_sub(epoch_start.0)?.checked_sub(1)?;
    Some(SegmentId {
        epoch_start,
        index: offset / SEGMENT_BLOCKS,
    })
}

impl SegmentId {
    /// The heights this segment holds if the epoch runs past it; the last segment of an ended
    /// epoch stops at the epoch's last block.
    pub fn heights(&self) -> RangeInclusive<u64> {
        let first = self
            .epoch_start
            .0
            .saturating_add(1)
            .saturating_add(self.index.saturating_mul(SEGMENT_BLOCKS));
        first..=first.saturating_add(SEGMENT_BLOCKS - 1)
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

    #[test]
    fn segments_are_fixed_ranges_counted_from_the_epoch_start() {
        let start = Height(2_500);
        assert_eq!(segment_of(start, Height(2_500)), None);
        assert_eq!(segment_of(start, Height(10)), None);
        let first = segment_of(start, Height(2_501)).expect("a segment");
        assert_eq!(first.index, 0);
        assert_eq!(first.heights(), 2_501..=3_500);
        assert_eq!(segment_of(start, Height(3_500)), Some(first));
        let second = segment_of(start, Height(3_501)).expect("a segment");
        assert_eq!(second.index, 1);
        assert_eq!(second.heights(), 3_501..=4_500);
        // Every height above the start is in exactly the segment whose range holds it.
        for height in (2_501..6_000).step_by(97) {
            let id = segment_of(start, Height(height)).expect("a segment");
            assert!(id.heights().contains(&height), "{height} in {id:?}");
        }
        // The genesis epoch starts from height 0.
        assert_eq!(
            segment_of(Height(0), Height(1000)).map(|id| id.heights()),
            Some(1..=1000)
        );
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
