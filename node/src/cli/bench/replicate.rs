//! `bfte bench replicate`: a replica catching up from one source on loopback, for empty blocks
//! and for blocks full of items, beside a copy of the source's database file.

use std::process::ExitCode;

use anyhow::{Context, ensure};
use bfte_node::bench::replicate::{ReplicateReport, run_replicate_bench};
use bfte_node::bench::synthetic::Shape;
use bfte_node::history::ScratchDir;
use clap::Args;
use serde_json::json;

/// Benchmark replication: catch-up speed, verified and applied.
///
/// Writes a synthetic finalized history of a four-peer federation (items signed, a certificate
/// per 100 blocks, state roots from the real ledger), serves it from one node on loopback and
/// times a replica catching up to its tip: segments fetched as iroh blobs, every hash link and
/// certificate checked, every block applied. Two phases: empty blocks, then blocks full of
/// items. `cp` is the time a plain copy of the source's database file took (page cache warm):
/// the limit, since a copy checks nothing.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte bench replicate                                  50,000 empty, 200 full blocks\n  \
    bfte bench replicate --empty-blocks 100000 --json     machine-readable results")]
pub struct ReplicateArgs {
    /// Empty blocks in the first phase.
    #[arg(long, default_value_t = 50_000)]
    empty_blocks: u64,
    /// Full blocks in the second phase (0 skips it).
    #[arg(long, default_value_t = 200)]
    full_blocks: u64,
    /// Items per full block.
    #[arg(long, default_value_t = 900)]
    items_per_block: usize,
    /// Size of each item's data.
    #[arg(long, default_value_t = 1024)]
    item_bytes: usize,
    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ReplicateArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.empty_blocks > 0, "--empty-blocks must be at least 1");
    let mut shapes = vec![Shape {
        blocks: args.empty_blocks,
        items_per_block: 0,
        item_bytes: 0,
    }];
    if args.full_blocks > 0 {
        shapes.push(Shape {
            blocks: args.full_blocks,
            items_per_block: args.items_per_block,
            item_bytes: args.item_bytes,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if !args.json {
        println!(
            "{:<18} {:>8} {:>10} {:>9} {:>10} {:>8} {:>9} {:>9}",
            "blocks", "count", "catch-up s", "blocks/s", "MB in", "MB/s", "cp MB/s", "cp/ours"
        );
    }
    let mut reports = Vec::new();
    for shape in shapes {
        let dir = ScratchDir::new().context("cannot create a scratch directory")?;
        tracing::info!(?shape, "writing the history, then catching up");
        let report = runtime
            .block_on(run_replicate_bench(dir.path(), shape))
            .with_context(|| format!("replicating {} blocks", shape.blocks))?;
        if !args.json {
            print_row(&report);
        }
        reports.push(report);
    }
    if args.json {
        let rows: Vec<_> = reports.iter().map(report_json).collect();
        let text = serde_json::to_string_pretty(&json!({ "results": rows }))
            .context("cannot render the results as JSON")?;
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn label(report: &ReplicateReport) -> String {
    match report.shape.items_per_block {
        0 => "empty".into(),
        items => format!("{items} x {} B items", report.shape.item_bytes),
    }
}

fn print_row(report: &ReplicateReport) {
    println!(
        "{:<18} {:>8} {:>10.2} {:>9.0} {:>10.1} {:>8.1} {:>9.0} {:>9.1}",
        label(report),
        report.shape.blocks,
        report.catch_up.as_secs_f64(),
        report.blocks_per_second(),
        report.bytes_in as f64 / 1e6,
        report.megabytes_per_second(),
        report.copy_megabytes_per_second(),
        report.catch_up.as_secs_f64() / report.copy.as_secs_f64(),
    );
}

fn report_json(report: &ReplicateReport) -> serde_json::Value {
    json!({
        "blocks": report.shape.blocks,
        "items_per_block": report.shape.items_per_block,
        "item_bytes": report.shape.item_bytes,
        "generate_s": report.generate.as_secs_f64(),
        "catch_up_s": report.catch_up.as_secs_f64(),
        "blocks_per_s": report.blocks_per_second(),
        "bytes_in": report.bytes_in,
        "mb_per_s": report.megabytes_per_second(),
        "database_bytes": report.database_bytes,
        "copy_s": report.copy.as_secs_f64(),
        "copy_mb_per_s": report.copy_megabytes_per_second(),
    })
}
