//! The Simplex consensus core: a pure, deterministic state machine.
//!
#![doc = include_str!("SPEC.md")]

mod applied;
mod catchup;
mod core;
mod finality;
mod gossip;
mod io;
mod pool;
mod proposal;
mod round_state;
mod voting;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub use self::core::Mutation;
pub use self::core::{Core, CoreConfig, Input, StartError, genesis_epoch};
pub use self::gossip::coalesce_items;
pub use self::io::{Destination, Durable, Evidence, Finalized, Output, Restored, Timer};
