//! Simulator runs as tests: broad seed sweeps, one named scenario per known pitfall, and
//! mutated cores that the checker must catch.

mod membership;
mod mutations;
mod pitfalls;
mod sweep;
mod wan;

use std::collections::BTreeSet;

use super::{Behavior, CryptoMode, RunReport, Scenario, SimOptions, Simulation, run_seed};

/// The command that replays one seed of a sweep exactly.
fn replay(seed: u64, options: SimOptions) -> String {
    let mut command = format!(
        "bfte sim --seed {seed} --seeds 1 --rounds {}",
        options.rounds
    );
    if let Some(peers) = options.peers {
        command += &format!(" --peers {peers}");
    }
    if let Some(byzantine) = options.byzantine {
        command += &format!(" --byzantine {byzantine}");
    }
    if options.crypto == CryptoMode::Real {
        command += " --real-crypto";
    }
    if options.membership {
        command += " --membership";
    }
    command
}

/// Panics with the seed, the violations and the replay command if a run broke an invariant.
fn assert_clean(report: &RunReport, replay_command: &str) {
    assert!(
        report.violations.is_empty(),
        "seed {} violated {} (scenario {:?}); replay with: {replay_command}",
        report.scenario.seed,
        report
            .violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        report.scenario,
    );
}

/// What a sweep exercised, so a sweep that silently stopped covering a fault fails.
#[derive(Debug, Default)]
struct Coverage {
    seeds: u64,
    peer_counts: BTreeSet<usize>,
    behaviors: BTreeSet<String>,
    crashes: u64,
    restores: u64,
    refinalized: u64,
    partitions: u64,
    lossy: u64,
    undecodable: u64,
    notarized_and_dummy: u64,
    blocks: u64,
    items: u64,
}

fn sweep(seeds: std::ops::Range<u64>, options: SimOptions) -> Coverage {
    let mut coverage = Coverage::default();
    for seed in seeds {
        let report = run_seed(seed, options);
        assert_clean(&report, &replay(seed, options));
        let scenario = &report.scenario;
        coverage.seeds += 1;
        coverage.peer_counts.insert(scenario.peers);
        for (_, behavior) in &scenario.byzantine {
            coverage.behaviors.insert(format!("{behavior:?}"));
        }
        coverage.crashes += report.stats.crashes;
        coverage.restores += scenario
            .crashes
            .iter()
            .filter(|c| c.from_backup.is_some())
            .count() as u64;
        coverage.refinalized += report.stats.refinalized;
        coverage.partitions += scenario.partitions.len() as u64;
        coverage.lossy += u64::from(scenario.link.loss > 0.0);
        coverage.undecodable += report.stats.undecodable;
        coverage.notarized_and_dummy += report.stats.rounds_notarized_and_dummy;
        coverage.blocks += report.stats.blocks_finalized;
        coverage.items += report.stats.items_finalized;
    }
    coverage
}

/// A sweep must have mixed every fault and Byzantine behaviour and finalized real work.
fn assert_covers_everything(coverage: &Coverage) {
    assert_eq!(
        coverage.peer_counts,
        BTreeSet::from([1, 4, 7, 10]),
        "{coverage:?}"
    );
    assert_eq!(
        coverage.behaviors.len(),
        Behavior::ALL.len(),
        "{coverage:?}"
    );
    assert!(coverage.crashes > 0 && coverage.partitions > 0 && coverage.lossy > 0);
    assert!(
        coverage.restores > 0,
        "no restore from a backup: {coverage:?}"
    );
    assert!(
        coverage.refinalized > 0,
        "no crash lost unsynced finality: {coverage:?}"
    );
    assert!(
        coverage.undecodable > 0 && coverage.notarized_and_dummy > 0,
        "{coverage:?}"
    );
    assert!(coverage.blocks > 10 * coverage.seeds, "{coverage:?}");
    assert!(coverage.items > coverage.blocks, "{coverage:?}");
}

/// Runs a hand-made scenario and returns its report, checked clean.
fn run_clean(scenario: Scenario) -> RunReport {
    let seed = scenario.seed;
    let report = Simulation::new(scenario).run();
    assert_clean(&report, &format!("the named test with seed {seed}"));
    report
}

fn fast(rounds: u64) -> SimOptions {
    SimOptions {
        rounds,
        ..SimOptions::default()
    }
}
