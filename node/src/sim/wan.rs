//! Wide-area runs: a calm federation spread over ten cloud regions (`regions.rs`), its
//! finalization latency set against the protocol's floor (`floor.rs`), and the real time each
//! peer spent per finalized block.

use std::time::Duration;

use bfte_shared::federation::ConsensusParams;

use super::crypto::CryptoMode;
use super::floor::three_delay_floor;
use super::invariants::Violation;
use super::network::LinkModel;
use super::regions::{REGIONS, Regions};
use super::runner::Simulation;
use super::scenario::Scenario;
use crate::bench::net::Percentiles;

/// Mean gap between one submitter's items: with a submitter per region, every leader has work
/// and each block carries a few items, so rounds follow each other back to back.
const SUBMIT_GAP_MS: u64 = 100;

impl Scenario {
    /// `peers` correct peers, dealt round-robin over the regions, on lossless links with the
    /// default consensus parameters. The first peer of each region submits items until the
    /// federation reaches `rounds`. Batches end within the millisecond and the ledger applies
    /// within 1 ms, as a node's loop does, so any wait beyond the network's is the protocol's.
    pub fn wide_area(seed: u64, peers: usize, rounds: u64, crypto: CryptoMode) -> Scenario {
        Scenario {
            seed,
            peers,
            byzantine: Vec::new(),
            link: LinkModel {
                min_latency_ms: 1,
                max_latency_ms: 1,
                loss: 0.0,
                duplicate: 0.0,
            },
            partitions: Vec::new(),
            crashes: Vec::new(),
            heal_ms: 0,
            rounds,
            submit_gap_ms: SUBMIT_GAP_MS,
            crypto,
            params: ConsensusParams::default(),
            loss_after_heal: 0.0,
            submitters: Some((0..peers.min(REGIONS.len())).collect()),
            stop_when_done: true,
            crash_after_persist: 0.0,
            membership: Vec::new(),
            clock_steps: Vec::new(),
            batch_ms: 0,
            apply_delay_ms: 1,
            regions: Some(Regions::round_robin(peers)),
        }
    }
}

/// What a wide-area run measured.
#[derive(Debug, Clone)]
pub struct WanReport {
    pub peers: usize,
    pub quorum: usize,
    pub blocks: u64,
    /// Proposal-to-final latency over every (block, correct peer), simulated ms; None if
    /// nothing was finalized.
    pub latency: Option<Percentiles>,
    /// The three-delay floor of the same (leader, peer) pairs, one per latency sample.
    pub floor: Option<Percentiles>,
    /// Samples below their own pair's floor: physically impossible, so always 0.
    pub below_floor: usize,
    /// Real time the peers' steps took per finalized block, mean over peers and the busiest
    /// peer. Wall time: on a machine busy with other work, scale by the run's CPU over wall.
    pub step_time_per_block: Duration,
    pub busiest_step_time_per_block: Duration,
    /// Finalized blocks per simulated second, from the first proposal to the last finality.
    pub blocks_per_second: f64,
    pub messages: u64,
    pub simulated_ms: u64,
    pub violations: Vec<Violation>,
}

impl WanReport {
    /// Median latency over the median floor.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.latency?.p50_ms / self.floor?.p50_ms)
    }
}

/// Runs `Scenario::wide_area` and reads its probe.
pub fn run_wide_area(seed: u64, peers: usize, rounds: u64, crypto: CryptoMode) -> WanReport {
    let scenario = Scenario::wide_area(seed, peers, rounds, crypto);
    let quorum = peers - (peers - 1) / 3;
    let delays = Regions::round_robin(peers).base_matrix();
    let floors = three_delay_floor(&delays, quorum);
    let report = Simulation::new(scenario).run();
    let probe = &report.probe;
    let pair_floor = |f: &super::probe::Finality| floors[f.leader][f.peer];
    let blocks = report.stats.blocks_finalized;
    let per_block = |time: Duration| time / u32::try_from(blocks.max(1)).unwrap_or(u32::MAX);
    let busy_total: Duration = probe.busy.iter().sum();
    let span_ms = probe
        .last_final_ms
        .saturating_sub(probe.first_proposal_ms.unwrap_or(0));
    WanReport {
        peers,
        quorum,
        blocks,
        latency: Percentiles::of(
            probe
                .finalities
                .iter()
                .map(|f| f.latency_ms as f64)
                .collect(),
        ),
        floor: Percentiles::of(
            probe
                .finalities
                .iter()
                .map(|f| pair_floor(f) as f64)
                .collect(),
        ),
        below_floor: probe
            .finalities
            .iter()
            .filter(|f| f.latency_ms < pair_floor(f))
            .count(),
        step_time_per_block: per_block(busy_total / peers as u32),
        busiest_step_time_per_block: per_block(
            probe.busy.iter().max().copied().unwrap_or_default(),
        ),
        blocks_per_second: blocks as f64 * 1e3 / span_ms.max(1) as f64,
        messages: report.stats.messages,
        simulated_ms: report.stats.simulated_ms,
        violations: report.violations,
    }
}
