#![doc = include_str!("../README.md")]
#![doc = include_str!("SPEC.md")]

mod applied;
mod catchup;
mod core;
mod finality;
mod gossip;
mod io;
mod items;
#[cfg(feature = "mutants")]
mod mutants;
mod pool;
mod proposal;
mod round_state;
mod sit_out;
mod timers;
mod voting;

#[cfg(test)]
mod tests;

pub use self::core::{Core, CoreConfig, Input, StartError, genesis_epoch};
pub use self::gossip::coalesce_items;
pub use self::io::{Destination, Durable, Evidence, Finalized, Now, Output, Restored, Timer};
#[cfg(feature = "mutants")]
pub use self::mutants::Mutation;
