//! `bfte bench wan`: simulated federations spread over ten cloud regions, their finalization
//! latency against the protocol's three-delay floor, and the CPU each peer spends per block.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bfte_node::sim::{CryptoMode, MAX_PEERS, WanReport, run_wide_area};
use clap::Args;
use serde_json::json;

use crate::cli::EXIT_VIOLATION;

/// Benchmark consensus over a wide-area network, in the simulator.
///
/// Peers are dealt round-robin over ten AWS regions (commonware's alto deployment) and every
/// message takes its regions' one-way delay (half the published p50 round trip) plus up to 5%
/// jitter, in simulated time. One peer per region submits items until the federation reaches
/// --rounds. Latency is from the leader sending its proposal to each peer committing the block
/// final; the floor is what the protocol could do if every peer acted at once: per (leader,
/// peer), three one-way delays, each to the quorum's nearest peers (see BENCHMARKS.md). CPU is
/// real time spent per peer in its driver step, with real ed25519 and no shared verification,
/// per finalized block; runs are single-threaded and deterministic.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte bench wan                            4, 50 and 100 peers\n  \
    bfte bench wan --peers 50 --rounds 300    one size, longer\n  \
    bfte bench wan --fast-crypto --json       latency only, machine-readable")]
pub struct WanArgs {
    /// Federation sizes to simulate, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "4,50,100", value_name = "N,..",
          value_parser = clap::value_parser!(u64).range(1..=MAX_PEERS as u64))]
    peers: Vec<u64>,
    /// Items are submitted until the federation reaches this round.
    #[arg(long, default_value_t = 100, value_name = "R")]
    rounds: u64,
    /// Seed of the simulated runs (jitter and load).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A keyed-hash stand-in for signatures: the same latencies, meaningless CPU figures.
    #[arg(long)]
    fast_crypto: bool,
    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: WanArgs) -> anyhow::Result<ExitCode> {
    let crypto = if args.fast_crypto {
        CryptoMode::Fast
    } else {
        CryptoMode::RealPerPeer
    };
    if !args.json {
        println!(
            "{:>5} {:>4} {:>7} {:>8} {:>8} {:>10} {:>10} {:>7} {:>12} {:>12} {:>9} {:>7}",
            "peers",
            "q",
            "blocks",
            "p50 ms",
            "p99 ms",
            "floor p50",
            "floor p99",
            "p50/fl",
            "cpu ms/bk/pr",
            "busiest ms",
            "blocks/s",
            "wall s"
        );
    }
    let mut rows = Vec::new();
    let mut clean = true;
    for &peers in &args.peers {
        let started = Instant::now();
        let report = run_wide_area(args.seed, usize::try_from(peers)?, args.rounds, crypto);
        let wall = started.elapsed();
        for violation in &report.violations {
            eprintln!("{peers} peers: {violation}");
        }
        clean &= report.violations.is_empty() && report.below_floor == 0;
        if args.json {
            rows.push(report_json(&report, wall));
        } else {
            print_row(&report, wall)?;
        }
    }
    if args.json {
        let text = serde_json::to_string_pretty(&json!({
            "rounds": args.rounds,
            "seed": args.seed,
            "crypto": if args.fast_crypto { "fast" } else { "real, verified by every peer" },
            "results": rows,
        }))
        .context("cannot render the results as JSON")?;
        println!("{text}");
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VIOLATION)
    })
}

fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

fn print_row(report: &WanReport, wall: Duration) -> anyhow::Result<()> {
    println!(
        "{:>5} {:>4} {:>7} {:>8} {:>8} {:>10} {:>10} {:>7.3} {:>12.2} {:>12.2} {:>9.2} {:>7.1}",
        report.peers,
        report.quorum,
        report.blocks,
        report.latency.p50,
        report.latency.p99,
        report.floor.p50,
        report.floor.p99,
        report.ratio(),
        millis(report.cpu_per_block),
        millis(report.busiest_per_block),
        report.blocks_per_second,
        wall.as_secs_f64(),
    );
    // Rows come seconds to minutes apart: show each as soon as it is measured.
    std::io::stdout().flush().context("cannot write to stdout")
}

fn report_json(report: &WanReport, wall: Duration) -> serde_json::Value {
    json!({
        "peers": report.peers,
        "quorum": report.quorum,
        "blocks": report.blocks,
        "latency_p50_ms": report.latency.p50,
        "latency_p99_ms": report.latency.p99,
        "floor_p50_ms": report.floor.p50,
        "floor_p99_ms": report.floor.p99,
        "p50_over_floor": report.ratio(),
        "below_floor": report.below_floor,
        "cpu_ms_per_block_per_peer": millis(report.cpu_per_block),
        "busiest_peer_ms_per_block": millis(report.busiest_per_block),
        "simulated_blocks_per_second": report.blocks_per_second,
        "messages": report.messages,
        "simulated_seconds": report.simulated_ms as f64 / 1e3,
        "wall_seconds": wall.as_secs_f64(),
        "violations": report.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}
