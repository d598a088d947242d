//! Why history was refused. Every variant says what failed and, where there is one, at which
//! height; none of them is a panic.

use bfte_shared::chain::ChainError;
use bfte_shared::codec::DecodeError;
use bfte_shared::federation::InvalidPeerSet;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;

use crate::ledger::LedgerError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Chain(#[from] ChainError),

    #[error(
        "the segment from height {first} was counted to end at {end}, but read again it does \
         not end there: the finalized table changed under the segmenter"
    )]
    SegmentMoved { first: Height, end: Height },

    #[error(
        "the block at height {height} commits to configuration {found}, but epoch {epoch}'s \
         is {expected}"
    )]
    WrongConfig {
        height: Height,
        epoch: u64,
        expected: Hash,
        found: Hash,
    },

    #[error("epoch {epoch} has no valid peer set: {source}")]
    InvalidPeerSet { epoch: u64, source: InvalidPeerSet },

    #[error(
        "{count} blocks from height {from} on wait for a finalization, more than the {limit} a \
         verifier holds"
    )]
    TooManyUncertified {
        from: Height,
        count: usize,
        limit: usize,
    },

    #[error(
        "the file ends with the blocks from height {from} to {to}, which no finalization covers"
    )]
    Unfinished { from: Height, to: Height },

    #[error(
        "epoch {epoch} ended at height {height} without its end proof: history must give an \
         epoch's last blocks and their finalization as the epoch's end"
    )]
    UnannouncedEpochEnd { epoch: u64, height: Height },

    #[error(
        "an end proof for epoch {epoch} at height {height}, but no change that ends the epoch \
         passed there"
    )]
    NoEpochEnd { epoch: u64, height: Height },

    #[error(
        "the end proof of epoch {epoch} says {field} is {claimed}; applying the history gives \
         {derived}"
    )]
    ClaimedEpochDiffers {
        epoch: u64,
        field: &'static str,
        claimed: String,
        derived: String,
    },

    #[error(
        "a segment of epoch {epoch} from height {first} with {len} blocks, but the epoch's next \
         segment starts at height {expected} and {cut}"
    )]
    SegmentBounds {
        epoch: u64,
        first: Height,
        len: usize,
        expected: Height,
        /// Where the segment should have ended, by the rule (`SegmentCut`).
        cut: String,
    },

    #[error("the record at byte {offset} (where height {height} would come next): {source}")]
    Format {
        offset: u64,
        height: Height,
        source: FormatError,
    },

    #[error("the record at byte {offset} is a {found}, where a {expected} must come")]
    UnexpectedRecord {
        offset: u64,
        expected: &'static str,
        found: &'static str,
    },

    #[error("format version {found}; this bfte reads version {supported}")]
    UnknownFormat { found: u32, supported: u32 },

    #[error(
        "the database is between epochs: the ledger started epoch {epoch} at height {height}, \
         but the chain was not switched yet; run the node once to finish the switch"
    )]
    SwitchPending { epoch: u64, height: Height },

    #[error("nothing to export from height {from}: the export ends at height {to}")]
    EmptyRange { from: Height, to: Height },

    #[error(
        "a file cannot start at height {from}: the block before it has no certificate of its \
         own, and a file continues only one that ended on a certified block{}",
        nearest_boundaries(*before, *after)
    )]
    NoFileBoundary {
        from: Height,
        /// The last certified height below `from`, if any.
        before: Option<Height>,
        /// The first certified height at or above `from`, if any.
        after: Option<Height>,
    },

    #[error(
        "this file continues history after height {after} (block {after_block}); verify it \
         after the file that ends there: `bfte history verify EARLIER.cbor THIS.cbor`"
    )]
    ContinuesUnknown { after: Height, after_block: Hash },

    #[error("this file continues {claimed}, but the files before it end with {found}")]
    ContinuesElsewhere { claimed: String, found: String },

    #[error("the store has no finalized block at height {height}, which it should")]
    MissingTip { height: Height },

    #[error("applying verified blocks: {0}")]
    Ledger(#[from] LedgerError),

    #[error("{0}")]
    Store(#[from] StoreError),

    #[error("{action}: {source}")]
    Io {
        action: &'static str,
        source: std::io::Error,
    },
}

/// The `--from` values next to one that is not a file boundary.
fn nearest_boundaries(before: Option<Height>, after: Option<Height>) -> String {
    let options: Vec<String> = [before, after]
        .into_iter()
        .flatten()
        .map(|h| format!("--from {}", h.next()))
        .collect();
    match options.is_empty() {
        true => String::new(),
        false => format!("; try {}", options.join(" or ")),
    }
}

/// Why the bytes of one record are not a record.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("the input ends inside it")]
    Truncated,
    #[error("it is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("it uses an indefinite length, which canonical CBOR never does")]
    Indefinite,
    #[error("it uses a reserved CBOR header ({0:#04x})")]
    Reserved(u8),
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("reading it: {0}")]
    Io(#[from] std::io::Error),
}
