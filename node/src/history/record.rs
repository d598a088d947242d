//! The records of an exported history, a CBOR sequence: one `Genesis` (or, for a file that
//! continues another, one `Continues`), then for each epoch its `Segment`s and, if it ended,
//! its `EpochEnd`. `docs/history-format.md` specifies them.

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::{FederationId, Genesis};
use bfte_shared::hash::Hash;
use bfte_shared::modules::ctrl::{Change, EpochConfig};
use bfte_shared::round::Height;
use serde::{Deserialize, Serialize};

use super::segment::Segment;

/// The version of the format `export` writes and `verify_file` reads. 2: an item carries a
/// list of entries under one signature (1: one module and data per item).
pub const FORMAT_VERSION: u32 = 2;

/// Most bytes the first record (the genesis) may take.
pub(super) const GENESIS_RECORD_BYTES: usize = 1 << 20;

// Records are built, written and dropped one at a time; boxing a segment would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// The first record: the format version and the federation's genesis.
    Genesis {
        format: u32,
        genesis: Genesis,
    },
    Segment(Segment),
    EpochEnd(EpochEnd),
    /// The first record of a file that continues another (`export --from`): the block the
    /// other file ended with, which this file's first block extends. Verified only after the
    /// files before it, never alone: the peers of `epoch` follow from the history before.
    Continues {
        format: u32,
        federation: FederationId,
        epoch: u64,
        after: Height,
        after_block: Hash,
    },
}

impl Record {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Record::Genesis { .. } => "genesis record",
            Record::Segment(_) => "segment",
            Record::EpochEnd(_) => "epoch end",
            Record::Continues { .. } => "continuation record",
        }
    }
}

/// How an epoch ended: the proof that its last block is final in it, and what came next.
///
/// The epoch's last block `B` is the last block of its last segment (carried there without a
/// certificate). `tail` holds the blocks the ended epoch finalized above `B` (possibly none:
/// they are not part of the chain), and `finalization` is the ended epoch's certificate for the
/// last of `tail`, or for `B` itself. `changes` and `next` say what applying `B` passed and
/// the configuration it put in force; a verifier derives both itself and compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEnd {
    pub tail: Vec<Block>,
    pub finalization: Certificate,
    pub changes: Vec<Change>,
    pub next: EpochConfig,
}
