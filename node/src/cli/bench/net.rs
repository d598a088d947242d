//! `bfte bench net`: a federation of real node processes on loopback, one fresh federation
//! per measured phase, driven and watched through the admin sockets.

use std::path::PathBuf;
use std::process::{Child, ExitCode};
use std::time::Duration;

use anyhow::Context as _;
use bfte_node::bench::net::{
    ItemKind, NetNode, NetPhaseReport, NetWorkload, Percentiles, PhaseDisk, run_phase,
};
use bfte_node::daemon::DataDir;
use bfte_node::store::{Store, TableUsage};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::demo;

/// Benchmark a federation of `bfte run` processes on loopback.
///
/// For each federation size, four phases run, each on a fresh federation in a temporary
/// directory (started as `bfte demo` starts one: relays off, votes fsynced before sending):
/// near-empty blocks (one load thread per node submitting 8-byte items in a closed loop, so
/// rounds keep running), saturation with 100-byte and with 1 KiB items (several load threads
/// per node in a closed loop), and half the 100-byte saturation rate, paced. Blocks and items
/// count once peer0 reports them final. Proposal to final is measured by the proposer, from the
/// start of the batch that proposed a block to its finalization there (peer0's own blocks);
/// submit to final, by the benchmark as peer0's admin socket reports it.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte bench net                            4 peers, 10 s per phase\n  \
    bfte bench net --peers 4,7 --seconds 10   the figures in BENCHMARKS.md\n  \
    bfte bench net --json > net.json          machine-readable results\n  \
    bfte bench net --near-empty-only          block rate and latency in 15 s\n  \
    bfte bench net --batch 64 --paced 10000   batched requests; latency at 10,000 entries/s\n\n\
    Node logs go to a temporary directory, removed after each phase (kept if a phase fails).")]
pub struct NetArgs {
    /// Federation sizes to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "4", value_name = "N,..",
          value_parser = clap::value_parser!(u64).range(1..=16))]
    peers: Vec<u64>,
    /// Wall time of each measured phase, in seconds (after a one-second warm-up).
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    seconds: f64,
    /// Load threads (admin connections) per node in the saturation phases.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=64))]
    connections: u64,
    /// Entries per request in the saturation and paced phases: 1 submits each on its own
    /// (`Submit`; the node still signs a batch's submissions together), more use `SubmitMany`.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Offered rate of the paced phase, in entries per second over all nodes (default: half
    /// the measured 100-byte saturation rate).
    #[arg(long, value_name = "ITEMS_PER_S")]
    paced: Option<f64>,
    /// Measure the near-empty phase only: the quick check of block rate and latency.
    #[arg(long)]
    near_empty_only: bool,
    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: NetArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds must be a positive number of seconds, not {}",
        args.seconds
    );
    let duration = Duration::from_secs_f64(args.seconds);
    let connections = usize::try_from(args.connections)?;
    let batch = usize::try_from(args.batch)?;
    if let Some(rate) = args.paced {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--paced must be a positive rate in entries per second, not {rate}"
        );
    }
    if !args.json {
        print_header();
    }
    let mut reports = Vec::new();
    for &peers in &args.peers {
        let peers = usize::try_from(peers)?;
        let mut measure = |workload| -> anyhow::Result<NetPhaseReport> {
            let report = measure(peers, workload, duration)?;
            if !args.json {
                print_row(&report);
            }
            reports.push(report.clone());
            Ok(report)
        };
        measure(NetWorkload::NearEmpty)?;
        if args.near_empty_only {
            continue;
        }
        let saturated = measure(NetWorkload::Saturate {
            item_bytes: 100,
            connections,
            items: ItemKind::Data,
            batch,
        })?;
        measure(NetWorkload::Saturate {
            item_bytes: 100,
            connections,
            items: ItemKind::Attest,
            batch,
        })?;
        measure(NetWorkload::Saturate {
            item_bytes: 1024,
            connections,
            items: ItemKind::Data,
            batch,
        })?;
        measure(NetWorkload::Paced {
            item_bytes: 100,
            items_per_second: args.paced.unwrap_or(saturated.items_per_second / 2.0),
            batch,
        })?;
    }
    if args.json {
        let rows: Vec<_> = reports.iter().map(report_json).collect();
        let text = serde_json::to_string_pretty(&json!({
            "seconds": args.seconds,
            "connections": connections,
            "batch": batch,
            "results": rows,
        }))
        .context("cannot render the results as JSON")?;
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts a fresh federation, runs one phase against it, and stops it.
fn measure(
    peers: usize,
    workload: NetWorkload,
    duration: Duration,
) -> anyhow::Result<NetPhaseReport> {
    let progress = progress_bar(peers);
    progress.set_message(format!("{workload}: starting {peers} nodes"));
    let root = std::env::temp_dir().join(format!(
        "bfte-bench-net-{}-{peers}-{}",
        std::process::id(),
        workload.to_string().replace(['/', ' '], "-")
    ));
    let mut federation = Federation {
        root: root.clone(),
        children: Vec::new(),
    };
    let mut peer0 = None;
    let measured = federation.start(peers).and_then(|nodes| {
        peer0 = nodes.first().map(|node| node.dir.clone());
        run_phase(&nodes, workload, duration, &progress)
            .with_context(|| format!("{peers} peers, {workload}"))
    });
    progress.finish_and_clear();
    federation.stop();
    match measured {
        Ok(mut report) => {
            report.disk = peer0.and_then(|dir| peer0_disk(&dir).ok());
            let _ = std::fs::remove_dir_all(&root);
            Ok(report)
        }
        Err(error) => Err(error.context(format!("node logs kept in {}", root.display()))),
    }
}

/// The node processes of one phase. Dropping it kills them; they also stop by themselves when
/// this process dies, because their standard input closes.
struct Federation {
    root: PathBuf,
    children: Vec<Child>,
}

impl Federation {
    fn start(&mut self, peers: usize) -> anyhow::Result<Vec<NetNode>> {
        let dirs = demo::prepare(&self.root, peers)?;
        let mut nodes = Vec::with_capacity(peers);
        for dir in dirs {
            let child = demo::spawn(&dir)?;
            nodes.push(NetNode {
                dir,
                pid: child.id(),
            });
            self.children.push(child);
        }
        Ok(nodes)
    }

    fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What peer0's stopped database holds, table by table, with its finalized height.
fn peer0_disk(dir: &DataDir) -> anyhow::Result<PhaseDisk> {
    let store = Store::open(dir.database_path())?;
    Ok(PhaseDisk {
        height: store.finalized_height()?.0,
        usage: store.disk_usage()?,
    })
}

fn progress_bar(peers: usize) -> ProgressBar {
    let progress = ProgressBar::new(1);
    // The template is a constant; should it ever be rejected, the default style is used.
    let template = format!("{{elapsed:>4}} {peers} peers [{{bar:30}}] {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        progress.set_style(style.progress_chars("=> "));
    }
    progress.enable_steady_tick(Duration::from_millis(200));
    progress
}

fn print_header() {
    println!(
        "{:>5}  {:<16} {:>9} {:>9} {:>8} {:>15} {:>15} {:>10} {:>10} {:>8}",
        "peers",
        "workload",
        "blocks/s",
        "items/s",
        "items/bk",
        "prop>final ms",
        "submit>final ms",
        "cpu ms/bk",
        "disk B/bk",
        "RSS MiB"
    );
    println!(
        "{:>5}  {:<16} {:>9} {:>9} {:>8} {:>15} {:>15} {:>10} {:>10} {:>8}",
        "", "", "", "", "", "p50 / p99", "p50 / p99", "per node", "", "max"
    );
}

fn print_row(report: &NetPhaseReport) {
    println!(
        "{:>5}  {:<16} {:>9.1} {:>9.0} {:>8.1} {:>15} {:>15} {:>10.2} {:>10.0} {:>8.1}",
        report.peers,
        report.workload.to_string(),
        report.blocks_per_second,
        report.items_per_second,
        report.items_per_block(),
        percentiles(report.proposal_to_final),
        percentiles(report.submit_to_final),
        report.node_cpu_ms_per_block(),
        report.db_bytes_per_block(),
        report.max_rss_kib() as f64 / 1024.0,
    );
    println!(
        "{:>7}proposal to final as a client of peer0 sees it: {} ms (p50 / p99)",
        "",
        percentiles(report.proposal_to_seen)
    );
    if let Some(disk) = &report.disk {
        let per_block = |bytes: u64| bytes as f64 / disk.height.max(1) as f64;
        let tables: Vec<String> = disk
            .usage
            .tables
            .iter()
            .filter(|t| t.total_bytes() > 0)
            .map(|t| format!("{} {:.0}", t.name, per_block(t.total_bytes())))
            .collect();
        let kept_for_good = disk
            .usage
            .tables
            .iter()
            .filter(|t| t.kept_for_good())
            .map(TableUsage::total_bytes)
            .sum();
        println!(
            "{:>7}peer0 disk B/bk by table: {}; kept for good {:.0}; file {:.0}",
            "",
            tables.join(", "),
            per_block(kept_for_good),
            per_block(disk.usage.file_bytes)
        );
    }
}

fn percentiles(p: Option<Percentiles>) -> String {
    p.map_or_else(
        || "-".into(),
        |p| format!("{:.1} / {:.1}", p.p50_ms, p.p99_ms),
    )
}

fn report_json(report: &NetPhaseReport) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("items_per_block".into(), json!(report.items_per_block()));
        object.insert(
            "db_bytes_per_block".into(),
            json!(report.db_bytes_per_block()),
        );
        object.insert("max_rss_kib".into(), json!(report.max_rss_kib()));
        object.insert(
            "node_cpu_ms_per_block".into(),
            json!(report.node_cpu_ms_per_block()),
        );
    }
    value
}
