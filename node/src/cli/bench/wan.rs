//! `bfte bench wan`: simulated federations spread over ten cloud regions, their finalization
//! latency against the protocol's three-delay floor, and the CPU each peer spends per block.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bfte_node::bench::net::cpu_time;
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
/// the time spent per peer in its driver step and decoding its messages, with real ed25519 and
/// no shared verification, per finalized block, scaled by the share of the run's wall time it
/// had the CPU (the steps are timed on the wall clock; a run is single-threaded). The
/// simulated figures are deterministic; the CPU figures are not.
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
            "{:>5} {:>4} {:>7} {:>8} {:>8} {:>10} {:>10} {:>7} {:>12} {:>12} {:>9} {:>7} {:>6}",
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
            "wall s",
            "cpu %"
        );
    }
    let mut rows = Vec::new();
    let mut clean = true;
    for &peers in &args.peers {
        let pid = std::process::id();
        let cpu_before = cpu_time(pid)?;
        let started = Instant::now();
        let report = run_wide_area(args.seed, usize::try_from(peers)?, args.rounds, crypto);
        let wall = started.elapsed();
        let cpu = cpu_time(pid)?.saturating_sub(cpu_before);
        let run = Run {
            wall,
            cpu_share: (cpu.as_secs_f64() / wall.as_secs_f64()).min(1.0),
        };
        for violation in &report.violations {
            eprintln!("{peers} peers: {violation}");
        }
        clean &= report.violations.is_empty() && report.below_floor == 0;
        if args.json {
            rows.push(report_json(&report, &run));
        } else {
            print_row(&report, &run)?;
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

/// The real side of one run: its wall time and the share of it the process had the CPU.
struct Run {
    wall: Duration,
    cpu_share: f64,
}

impl Run {
    /// CPU milliseconds of a step time measured on the wall clock.
    fn cpu_ms(&self, step_time: Duration) -> f64 {
        step_time.as_secs_f64() * 1e3 * self.cpu_share
    }
}

fn print_row(report: &WanReport, run: &Run) -> anyhow::Result<()> {
    let latency = report.latency;
    let floor = report.floor;
    let ms = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.0}"));
    println!(
        "{:>5} {:>4} {:>7} {:>8} {:>8} {:>10} {:>10} {:>7} {:>12.2} {:>12.2} {:>9.2} {:>7.1} {:>6.0}",
        report.peers,
        report.quorum,
        report.blocks,
        ms(latency.map(|l| l.p50_ms)),
        ms(latency.map(|l| l.p99_ms)),
        ms(floor.map(|f| f.p50_ms)),
        ms(floor.map(|f| f.p99_ms)),
        report
            .ratio()
            .map_or("-".to_string(), |r| format!("{r:.3}")),
        run.cpu_ms(report.step_time_per_block),
        run.cpu_ms(report.busiest_step_time_per_block),
        report.blocks_per_second,
        run.wall.as_secs_f64(),
        run.cpu_share * 100.0,
    );
    // Rows come seconds to minutes apart: show each as soon as it is measured.
    std::io::stdout().flush().context("cannot write to stdout")
}

fn report_json(report: &WanReport, run: &Run) -> serde_json::Value {
    json!({
        "peers": report.peers,
        "quorum": report.quorum,
        "blocks": report.blocks,
        "latency_ms": report.latency,
        "floor_ms": report.floor,
        "p50_over_floor": report.ratio(),
        "below_floor": report.below_floor,
        "cpu_ms_per_block_per_peer": run.cpu_ms(report.step_time_per_block),
        "busiest_peer_cpu_ms_per_block": run.cpu_ms(report.busiest_step_time_per_block),
        "simulated_blocks_per_second": report.blocks_per_second,
        "messages": report.messages,
        "simulated_seconds": report.simulated_ms as f64 / 1e3,
        "wall_seconds": run.wall.as_secs_f64(),
        "cpu_share": run.cpu_share,
        "violations": report.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}
