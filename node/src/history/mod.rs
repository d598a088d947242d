//! Finalized history, verified across epochs without trusting whoever supplied it.
//!
//! A replica, `bfte history verify` and (later) the blob transport all take history through
//! the same path:
//!
//! ```text
//! bytes -> cbor_seq (one record, size-limited) -> Segment / EpochEnd (codec::decode)
//!       -> Replay: ChainVerifier (hash links, heights, payloads, config, finalization
//!          under the epoch's peers) -> Store::commit -> Ledger::catch_up (state roots
//!          checked) -> a new epoch's peers come from the ledger, never from the input
//! ```
//!
//! Nothing unverified is written: blocks wait in memory until a finalization certificate that
//! is valid under the epoch in force covers them, and only then go to the store and the
//! ledger. The peer set of the next epoch is whatever the applied blocks made it.
//!
//! Segments (`segment.rs`) cut each epoch into runs of at most 1,000 blocks or about 4 MiB,
//! by the blocks alone, so the same history gives the same segment bytes; an export (`export.rs`) is a CBOR sequence of the genesis,
//! each epoch's segments and its end proof. The format is in `docs/history-format.md`.

mod cbor_seq;
mod error;
mod export;
mod record;
mod replay;
mod scratch;
mod segment;
mod snapshot;
mod verifier;
mod verify_file;

#[cfg(test)]
mod continuation_tests;
#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;

pub use self::error::{FormatError, HistoryError};
pub use self::export::{ExportRange, ExportSummary, export};
pub use self::record::{EpochEnd, FORMAT_VERSION, Record};
pub use self::replay::{MAX_UNCERTIFIED_BLOCKS, Replay, passed_changes};
pub use self::scratch::ScratchDir;
pub use self::segment::{SEGMENT_BLOCKS, Segment, SegmentCut, SegmentEntry, record_limit};
pub use self::snapshot::{EpochSpan, Snapshot};
pub use self::verifier::ChainVerifier;
pub use self::verify_file::{EpochSummary, Verification, Verified, verify_file};
