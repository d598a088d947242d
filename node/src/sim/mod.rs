//! Deterministic simulator for the consensus core: seeded, virtual time, faulty links,
//! partitions, crashes with restarts from persisted state, and Byzantine peers. The
//! invariant checker runs on every output; a failing seed replays exactly.

pub mod byzantine;
pub mod crypto;
mod disk;
mod events;
mod floor;
mod host;
pub mod invariants;
pub mod ledger;
mod membership;
pub mod network;
mod peer;
pub mod probe;
pub mod regions;
mod report;
pub mod runner;
pub mod scenario;
mod verdict;
pub mod wan;

pub use byzantine::Behavior;
pub use crypto::CryptoMode;
pub use invariants::Violation;
pub use report::{RunReport, RunStats};
pub use runner::{MAX_PEERS, Simulation};
pub use scenario::{PROGRESS_BOUND_MS, Scenario, SimOptions};
pub use wan::{WanReport, run_wide_area};

/// Runs one seed.
pub fn run_seed(seed: u64, options: SimOptions) -> RunReport {
    Simulation::new(Scenario::random(seed, options)).run()
}

#[cfg(test)]
mod tests;
