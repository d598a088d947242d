//! The history protocol on [`HISTORY_ALPN`]: what a replica asks a source for, beside the
//! segment blobs that iroh-blobs serves on its own ALPN.
//!
//! One bidirectional stream per request: the asker writes one frame (a u32 big-endian length
//! and a CBOR [`Request`]) and finishes its side. `Index` and `Chain` get one frame back;
//! `Follow` gets a frame of a [`FinalizedChain`] each time the source finalized more, for as
//! long as the stream stays open. Nothing in an answer is trusted: the replica verifies every
//! block and certificate itself (`history::Replay`).

use bfte_shared::federation::Genesis;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;
use serde::{Deserialize, Serialize};

/// The ALPN of history requests; the version changes when the requests do.
pub const HISTORY_ALPN: &[u8] = b"bfte/history/2";
/// Largest request on the wire: requests are a few integers.
pub const MAX_REQUEST_BYTES: usize = 1024;
/// Most hashes an epoch's segment list may hold on the wire (a billion heights).
pub const MAX_EPOCH_SEGMENTS: u64 = 1 << 20;

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
