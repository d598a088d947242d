//! `bfte bench`: performance measurements.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use bfte_node::bench::{CoreBenchReport, Workload, run_core_bench};
use bfte_shared::federation::PeerSet;
use clap::{Args, Subcommand};
use serde_json::json;

mod net;
mod replicate;
mod wan;

use self::net::NetArgs;
use self::replicate::ReplicateArgs;
use self::wan::WanArgs;

/// Measure performance.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte bench core --peers 4,7,16 --seconds 5\n  \
    bfte bench net --peers 4,7 --seconds 10\n  \
    bfte bench replicate\n  \
    bfte bench wan --peers 4,50,100")]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    Core(CoreArgs),
    Net(NetArgs),
    Replicate(ReplicateArgs),
    Wan(WanArgs),
}

/// Benchmark the consensus core alone: in process, real ed25519, no network, no disk.
///
/// For each federation size, n cores exchange messages over an in-memory bus that delivers
/// every message at once (each one encoded and decoded). Two workloads run: one small item per
/// block, submitted as soon as the previous one is final (finalized blocks per second), and
/// full blocks of 100-byte items with the pools kept full (items per second). A block or item
/// counts once it is final at every peer. All n peers share one thread, so the figures are the
/// whole federation's CPU cost; "peer cpu ms/bk" is the CPU time the busiest peer spent per
/// block, what one peer would spend on a machine of its own.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte bench core                           4, 7 and 16 peers, 5 s per measurement\n  \
    bfte bench core --peers 4 --seconds 2     a quick check\n  \
    bfte bench core --json > core.json        machine-readable results")]
struct CoreArgs {
    /// Federation sizes to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "4,7,16", value_name = "N,..",
          value_parser = clap::value_parser!(u64).range(1..=PeerSet::MAX as u64))]
    peers: Vec<u64>,
    /// Wall time per measurement, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    seconds: f64,
    /// Items per block in the saturation workload (the `max_block_items` parameter).
    #[arg(long, default_value_t = 1000, value_name = "ITEMS")]
    block_items: u32,
    /// Size of each item in the saturation workload.
    #[arg(long, default_value_t = 100, value_name = "BYTES")]
    item_bytes: usize,
    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        BenchTarget::Core(args) => core(args),
        BenchTarget::Net(args) => net::run(args),
        BenchTarget::Replicate(args) => replicate::run(args),
        BenchTarget::Wan(args) => wan::run(args),
    }
}

fn core(args: CoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds must be a positive number of seconds, not {}",
        args.seconds
    );
    anyhow::ensure!(args.block_items > 0, "--block-items must be at least 1");
    let duration = Duration::from_secs_f64(args.seconds);
    let workloads = [
        Workload::OneItem,
        Workload::Saturate {
            item_bytes: args.item_bytes,
            max_block_items: args.block_items,
        },
    ];
    if !args.json {
        println!(
            "{:>5}  {:<16} {:>9} {:>10} {:>11} {:>10} {:>10} {:>13}",
            "peers",
            "workload",
            "blocks",
            "blocks/s",
            "items/s",
            "ms/block",
            "msgs/block",
            "peer cpu ms/bk"
        );
    }
    let mut reports = Vec::new();
    for &peers in &args.peers {
        for workload in workloads {
            tracing::info!(peers, %workload, seconds = args.seconds, "running");
            let peers = usize::try_from(peers)?;
            let report = run_core_bench(peers, workload, duration)
                .with_context(|| format!("core benchmark with {peers} peers, {workload}"))?;
            if report.timeouts > 0 {
                tracing::warn!(
                    peers,
                    %workload,
                    timeouts = report.timeouts,
                    "timers fired: the run left the happy path, figures include waiting"
                );
            }
            if !args.json {
                print_row(&report)?;
            }
            reports.push(report);
        }
    }
    if args.json {
        let rows: Vec<_> = reports.iter().map(report_json).collect();
        let text = serde_json::to_string_pretty(&json!({
            "seconds": args.seconds,
            "block_items": args.block_items,
            "item_bytes": args.item_bytes,
            "results": rows,
        }))
        .context("cannot render the results as JSON")?;
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn millis(duration: Option<Duration>) -> f64 {
    duration.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

fn messages_per_block(report: &CoreBenchReport) -> f64 {
    report.messages as f64 / report.blocks as f64
}

fn print_row(report: &CoreBenchReport) -> anyhow::Result<()> {
    println!(
        "{:>5}  {:<16} {:>9} {:>10.1} {:>11.0} {:>10.3} {:>10.1} {:>13.3}",
        report.peers,
        report.workload.to_string(),
        report.blocks,
        report.blocks_per_second(),
        report.items_per_second(),
        millis(report.wall_per_block()),
        messages_per_block(report),
        millis(report.busiest_peer_per_block()),
    );
    // Rows come seconds apart: show each as soon as it is measured, even through a pipe.
    std::io::stdout().flush().context("cannot write to stdout")
}

fn report_json(report: &CoreBenchReport) -> serde_json::Value {
    let workload = match report.workload {
        Workload::OneItem => json!({"kind": "one_item"}),
        Workload::Saturate {
            item_bytes,
            max_block_items,
        } => {
            json!({"kind": "saturate", "item_bytes": item_bytes, "max_block_items": max_block_items})
        }
    };
    json!({
        "peers": report.peers,
        "workload": workload,
        "wall_seconds": report.wall.as_secs_f64(),
        "blocks": report.blocks,
        "items": report.items,
        "blocks_per_second": report.blocks_per_second(),
        "items_per_second": report.items_per_second(),
        "wall_ms_per_block": report.wall_per_block().map(|d| d.as_secs_f64() * 1e3),
        "busiest_peer_ms_per_block": report.busiest_peer_per_block().map(|d| d.as_secs_f64() * 1e3),
        "messages": report.messages,
        "message_bytes": report.message_bytes,
        "timeouts": report.timeouts,
    })
}
