//! The one driver step every core runs under (`step.rs`), and the traits through which it
//! reaches the store, the ledger, the transport and the clock (`ports.rs`).

mod node_ports;
mod ports;
mod step;

pub use ports::{BlockLedger, DurableStore, Flow, Host};
pub use step::{StartCore, Step};

/// `Core::start` as a [`StartCore`].
pub fn start_core() -> StartCore {
    Box::new(bfte_consensus::Core::start)
}
