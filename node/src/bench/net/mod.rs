//! The network benchmark behind `bfte bench net`: real `bfte run` processes on loopback,
//! driven and watched only through their admin sockets.
//!
//! The caller starts the federation (`bfte bench net` does it as `bfte demo` does: fresh data
//! directories, a genesis, relays off) and hands its nodes to [`run_phase`], which
//! - waits until every node answers and sees all its peers connected;
//! - starts load threads, each with its own admin connection to one node, submitting items as
//!   the [`NetWorkload`] says (every `Submit` is answered once the item is durable there);
//! - watches peer0's finalized chain through an event subscription (as the console does),
//!   noting when each block's `Finalized` event arrived, and fetches the blocks it announced;
//! - after a warm-up, measures a window of whole blocks: from one block seen final to the first
//!   block seen after `duration` (so no block is cut in half at either end);
//! - reads each node's resident memory, CPU time and database size from `/proc` and its data
//!   directory.
//!
//! Proposal-to-finalized is what commonware's peer reports: peer0 times its own proposals,
//! from the start of the driver batch that proposed a block to its finalization there, and
//! says so in its `Finalized` event. Proposal-to-seen is what a client of peer0's admin socket
//! sees: the proposer's `timestamp_ms` (whole milliseconds, truncated, so 0.5 ms high on
//! average) to the event's arrival here. Submit-to-finalized runs from just before the
//! `Submit` request is written to the block holding the item being seen final.

mod admin;
mod load;
mod observer;
mod phase;
mod process;
mod report;
mod stats;

use std::fmt;

use serde::Serialize;

pub use self::phase::run_phase;
pub use self::process::{NodeUsage, cpu_time};
pub use self::report::{NetPhaseReport, PhaseDisk};
pub use self::stats::Percentiles;
use crate::daemon::DataDir;

/// Item data size of the near-empty workload.
pub const TINY_ITEM_BYTES: usize = 8;

/// One running node of the federation under test.
#[derive(Debug, Clone)]
pub struct NetNode {
    pub dir: DataDir,
    pub pid: u32,
}

/// Which module the load's items go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Opaque payloads (`bfte submit`): ordered and finalized, no module state.
    Data,
    /// Attestations of distinct statements: each one writes module state (a new statement),
    /// so the ledger's cost of applying items shows against `Data`.
    Attest,
}

/// What the load threads submit. Sizes are of an entry's data; each entry also carries its
/// module (a few bytes encoded), and each signed item its author, nonce and signature (about
/// 110 bytes), whatever its number of entries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetWorkload {
    /// Blocks with next to nothing in them. The core runs no rounds while nothing is pending,
    /// so one load thread submits 8-byte items in a closed loop, to each node in turn: an item
    /// is pending almost all the time, and each block carries the few (one submit round trip,
    /// including the node's fsync, is about one round) that arrived during its round.
    NearEmpty,
    /// As many items as the nodes accept: `connections` load threads per node in a closed loop,
    /// each request carrying `batch` entries (`Submit` for 1, `SubmitMany` above). The node signs
    /// every request of one driver batch together, so even `batch` 1 shares signatures.
    Saturate {
        item_bytes: usize,
        connections: usize,
        items: ItemKind,
        batch: usize,
    },
    /// A fixed offered rate, spread evenly over the nodes (one load thread each), in requests
    /// of `batch` entries: one request a node reaches a few thousand a second, not the
    /// saturation rate of batched requests.
    Paced {
        item_bytes: usize,
        items_per_second: f64,
        batch: usize,
    },
}

impl fmt::Display for NetWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetWorkload::NearEmpty => write!(f, "near-empty"),
            NetWorkload::Saturate {
                item_bytes,
                items,
                batch,
                ..
            } => {
                let kind = match items {
                    ItemKind::Data => "saturate",
                    ItemKind::Attest => "attest",
                };
                write!(f, "{kind} {item_bytes} B")?;
                if *batch > 1 {
                    write!(f, " x{batch}")?;
                }
                Ok(())
            }
            NetWorkload::Paced {
                item_bytes,
                items_per_second,
                batch,
            } => {
                write!(f, "{items_per_second:.0}/s x {item_bytes} B")?;
                if *batch > 1 {
                    write!(f, " x{batch}")?;
                }
                Ok(())
            }
        }
    }
}
