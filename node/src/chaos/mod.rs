//! The chaos run behind `bfte chaos`: real `bfte run` processes on loopback, faults from a
//! seeded schedule, and the checks made at the end from what the nodes themselves recorded.
//!
//! - `schedule`: one seed (with the federation size and the run's length) gives the whole list
//!   of faults and their times, so a failed run is replayed by its command line.
//! - `checks`: read after the nodes stopped, from each node's database: finalized chains are
//!   prefixes of the longest, every accepted item is final exactly once, no signer has two
//!   conflicting votes in any node's received-votes audit trail, state roots agree per height.
//!
//! - `byzantine`: the simulator's Byzantine behaviours by name, for a node of the run.
//! - `node_hooks` (feature `chaos` only): what a node of the run does differently: link faults
//!   read from its data directory, and the Byzantine rewrite of what it sends.
//!
//! The processes, the load and the clock are the CLI's (`src/cli/chaos/`).

pub mod byzantine;
mod checks;
#[cfg(feature = "chaos")]
pub mod node_hooks;
mod schedule;

pub use self::checks::{Accepted, Byzantine, NodeRecord, Verdict, check};
pub use self::schedule::{Fault, FaultKind, MembershipChange, Options, Schedule};
