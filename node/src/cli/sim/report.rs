//! What `bfte sim` shows: failing seeds with their replay commands, and the totals, as text
//! or JSON.

use std::ops::Range;
use std::time::Duration;

use anyhow::Context as _;
use bfte_node::sim::Scenario;
use serde_json::json;

use super::{Failure, SeedOutcome, SimArgs};

/// Totals over all seeds.
#[derive(Debug, Default)]
pub(super) struct Summary {
    seeds: u64,
    rounds: u64,
    blocks: u64,
    items: u64,
    messages: u64,
    undecodable: u64,
    crashes: u64,
    refinalized: u64,
    disk_writes: u64,
    disk_syncs: u64,
    /// Finalized blocks times peers: the block-peer pairs the disk writes paid for.
    peer_blocks: u64,
    simulated: Duration,
    violations: u64,
    failing_seeds: u64,
    /// The worst post-heal item latency and the first seed that reached it.
    worst_latency_ms: u64,
    worst_latency_seed: Option<u64>,
    wall: Duration,
}

impl Summary {
    pub(super) fn of(outcomes: &[SeedOutcome], wall: Duration) -> Summary {
        let mut summary = Summary {
            wall,
            ..Summary::default()
        };
        for outcome in outcomes {
            let stats = &outcome.stats;
            summary.seeds += 1;
            summary.rounds += stats.rounds;
            summary.blocks += stats.blocks_finalized;
            summary.items += stats.items_finalized;
            summary.messages += stats.messages;
            summary.undecodable += stats.undecodable;
            summary.crashes += stats.crashes;
            summary.refinalized += stats.refinalized;
            summary.disk_writes += stats.disk_writes;
            summary.disk_syncs += stats.disk_syncs;
            summary.peer_blocks += stats.peer_blocks;
            summary.simulated += Duration::from_millis(stats.simulated_ms);
            if let Some(failure) = &outcome.failure {
                summary.failing_seeds += 1;
                summary.violations += failure.violations.len() as u64;
            }
            if stats.worst_item_latency_ms > summary.worst_latency_ms
                || summary.worst_latency_seed.is_none()
            {
                summary.worst_latency_ms = stats.worst_item_latency_ms;
                summary.worst_latency_seed = Some(outcome.seed);
            }
        }
        summary
    }

    fn rounds_per_second(&self) -> f64 {
        self.rounds as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }
}

fn crypto_name(real: bool) -> &'static str {
    if real { "real ed25519" } else { "fast" }
}

fn describe(scenario: &Scenario) -> String {
    let byzantine: Vec<String> = scenario
        .byzantine
        .iter()
        .map(|(peer, behavior)| format!("peer {peer} {behavior:?}"))
        .collect();
    let byzantine = if byzantine.is_empty() {
        "none".to_string()
    } else {
        byzantine.join(", ")
    };
    let link = &scenario.link;
    format!(
        "peers {}, byzantine: {byzantine}, loss {:.1}%, duplicate {:.1}%, latency {}-{} ms, \
         partitions {}, crashes {}, heal at {} ms",
        scenario.peers,
        link.loss * 100.0,
        link.duplicate * 100.0,
        link.min_latency_ms,
        link.max_latency_ms,
        scenario.partitions.len(),
        scenario.crashes.len(),
        scenario.heal_ms,
    )
}

pub(super) fn print_failure(args: &SimArgs, seed: u64, failure: &Failure) {
    println!("FAIL seed {seed}: {}", describe(&failure.scenario));
    for violation in &failure.violations {
        println!("  {violation}");
    }
    println!("  replay: {}", args.replay_command(seed));
}

pub(super) fn print_summary(args: &SimArgs, seeds: &Range<u64>, threads: usize, summary: &Summary) {
    println!(
        "seeds               {} ({}..{}), {} crypto, {threads} threads",
        summary.seeds,
        seeds.start,
        seeds.end,
        crypto_name(args.real_crypto)
    );
    println!("rounds              {}", summary.rounds);
    println!("blocks finalized    {}", summary.blocks);
    println!("items finalized     {}", summary.items);
    println!(
        "messages            {} ({} undecodable)",
        summary.messages, summary.undecodable
    );
    println!(
        "crashes             {} ({} finalized blocks lost unsynced, finalized again)",
        summary.crashes, summary.refinalized
    );
    let per_block = |count: u64| count as f64 / summary.peer_blocks.max(1) as f64;
    println!(
        "disk per peer-block {:.2} commits, {:.2} synced",
        per_block(summary.disk_writes),
        per_block(summary.disk_syncs)
    );
    println!(
        "violations          {} in {} failing seeds",
        summary.violations, summary.failing_seeds
    );
    println!("wall time           {:.2} s", summary.wall.as_secs_f64());
    println!(
        "simulated time      {:.0} s",
        summary.simulated.as_secs_f64()
    );
    println!("simulated rounds/s  {:.0}", summary.rounds_per_second());
    if let Some(seed) = summary.worst_latency_seed {
        println!(
            "worst item latency  {} ms after heal (seed {seed})",
            summary.worst_latency_ms
        );
    }
}

pub(super) fn print_json(
    args: &SimArgs,
    seeds: &Range<u64>,
    threads: usize,
    summary: &Summary,
    failures: &[(u64, &Failure)],
) -> anyhow::Result<()> {
    let failures: Vec<_> = failures
        .iter()
        .map(|(seed, failure)| {
            let scenario = &failure.scenario;
            json!({
                "seed": seed,
                "peers": scenario.peers,
                "byzantine": scenario.byzantine.iter()
                    .map(|(peer, behavior)| json!({"peer": peer, "behavior": format!("{behavior:?}")}))
                    .collect::<Vec<_>>(),
                "loss": scenario.link.loss,
                "scenario": describe(scenario),
                "violations": failure.violations,
                "replay": args.replay_command(*seed),
            })
        })
        .collect();
    let value = json!({
        "seed_start": seeds.start,
        "seeds": summary.seeds,
        "rounds_option": args.rounds,
        "peers_option": args.peers,
        "byzantine_option": args.byzantine,
        "crypto": if args.real_crypto { "real" } else { "fast" },
        "threads": threads,
        "total_rounds": summary.rounds,
        "blocks_finalized": summary.blocks,
        "items_finalized": summary.items,
        "messages": summary.messages,
        "undecodable": summary.undecodable,
        "crashes": summary.crashes,
        "refinalized": summary.refinalized,
        "disk_commits": summary.disk_writes,
        "disk_syncs": summary.disk_syncs,
        "simulated_seconds": summary.simulated.as_secs_f64(),
        "violations": summary.violations,
        "failing_seeds": summary.failing_seeds,
        "wall_seconds": summary.wall.as_secs_f64(),
        "simulated_rounds_per_second": summary.rounds_per_second(),
        "worst_item_latency_ms": summary.worst_latency_ms,
        "worst_item_latency_seed": summary.worst_latency_seed,
        "failures": failures,
    });
    let text = serde_json::to_string_pretty(&value).context("cannot render the summary as JSON")?;
    println!("{text}");
    Ok(())
}
