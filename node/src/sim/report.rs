//! What one run reports: its totals and the invariants it broke.

use super::invariants::Violation;
use super::probe::Probe;
use super::scenario::Scenario;

/// Totals of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub rounds: u64,
    pub blocks_finalized: u64,
    pub items_finalized: u64,
    pub messages: u64,
    pub undecodable: u64,
    pub simulated_ms: u64,
    /// Longest time, after the heal, from an item's submission (or the heal) until it was
    /// final at every correct peer.
    pub worst_item_latency_ms: u64,
    /// Rounds for which correct peers formed both a notarization and a dummy certificate: the
    /// situation in which a wrong finalize rule reverts finality.
    pub rounds_notarized_and_dummy: u64,
    pub crashes: u64,
    /// Finalized blocks a crash lost before they were synced, finalized again by their peer.
    pub refinalized: u64,
    /// Commits that wrote something to a disk, over all peers, and those that synced it.
    pub disk_writes: u64,
    pub disk_syncs: u64,
    /// The heights each peer finalized, summed: what the disk writes paid for.
    pub peer_blocks: u64,
    /// The run ended because no event was left: every timer had stopped.
    pub went_idle: bool,
    /// When the last message was sent by a correct peer.
    pub last_correct_send_ms: u64,
    /// When the last item became final at every correct peer.
    pub last_item_final_ms: u64,
    /// Epoch switches of correct peers (membership runs).
    pub epoch_switches: u64,
    /// Votes signed by peers that joined after genesis (membership runs).
    pub votes_by_joiners: u64,
}

/// The outcome of one seed.
#[derive(Debug)]
pub struct RunReport {
    pub scenario: Scenario,
    pub stats: RunStats,
    pub violations: Vec<Violation>,
    pub probe: Probe,
}
