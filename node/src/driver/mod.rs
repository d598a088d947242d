//! The one driver step every core runs under (`step.rs`), the rule for proposals that leave
//! before their batch is durable (`early.rs`), the traits through which it
//! reaches the store, the ledger, the transport and the clock (`ports.rs`), and the batching
//! of a batch's submissions into one signed item (`submissions.rs`), and the log's periodic
//! line about finality (`finality_log.rs`).

mod early;
mod finality_log;
mod node_ports;
mod ports;
mod step;
mod submissions;

pub use ports::{BlockLedger, DurableStore, Flow, Host};
pub use step::{StartCore, Step};
pub use submissions::Submissions;

/// `Core::start` as a [`StartCore`].
pub fn start_core() -> StartCore {
    Box::new(bfte_consensus::Core::start)
}
