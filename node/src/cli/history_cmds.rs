//! `bfte history export` and `bfte history verify`: a node's finalized history as a file, and
//! that file checked offline by replaying it (`bfte_node::history`).

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use bfte_node::history::{self, ExportRange, HistoryError, ScratchDir, Verification, Verified};
use bfte_node::store::{Store, StoreError};
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::round::Height;
use clap::{Args, Subcommand};
use serde_json::json;

use super::EXIT_VIOLATION;

/// Export finalized history to a file, or verify such a file offline.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte history export --data-dir ./alice > history.cbor\n  \
    bfte history export --data-dir ./alice --to 5000 > first-5000.cbor\n  \
    bfte history export --data-dir ./alice --from 5001 > rest.cbor\n  \
    bfte history verify history.cbor\n  \
    bfte history verify first-5000.cbor rest.cbor\n\n\
    The format (a CBOR sequence: the genesis, then each epoch's blocks with their\n\
    certificates and how the epoch ended) is in docs/history-format.md.")]
pub struct HistoryArgs {
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    Export(ExportArgs),
    Verify(VerifyArgs),
}

/// Write a node's finalized history to stdout, from the genesis on (or from `--from`).
///
/// Reads the database in one transaction (a consistent moment of history). The node must not
/// be running: its database is open in one process at a time.
///
/// A file always ends on a certified block, and the summary on stderr says which `--from`
/// continues it. A file exported `--from` a later height starts with the block it continues
/// instead of the genesis: verify it after the files before it, never alone.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte history export --data-dir ./alice > history.cbor\n  \
    bfte history export --data-dir ./alice --to 5000 > first-5000.cbor\n  \
    bfte history export --data-dir ./alice --from 5001 > rest.cbor\n  \
    bfte history verify first-5000.cbor rest.cbor")]
struct ExportArgs {
    /// The node's data directory.
    #[arg(long, env = super::node_dir::DATA_DIR_ENV, value_name = "DIR")]
    data_dir: PathBuf,
    /// Start at this height, continuing a file that ended on the block before it (which
    /// must be certified, as every file's last block is).
    #[arg(long, value_name = "HEIGHT")]
    from: Option<u64>,
    /// Stop at the first certified block at or above this height (default: the tip).
    #[arg(long, value_name = "HEIGHT")]
    to: Option<u64>,
}

/// Verify an exported history offline, alone: every hash link and certificate, each epoch's
/// peers derived by applying the history, and the state roots the blocks commit to.
///
/// Several files are verified in order as one history: the first from the genesis, each
/// later one continuing where the one before ended (`export --from`).
///
/// Exits 0 when every file verifies, 1 when one does not (the error names the file, the
/// height and the reason), 2 when it cannot be checked (unreadable file, no scratch space).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte history verify history.cbor\n  \
    bfte history verify history.cbor --json\n  \
    bfte history verify first-5000.cbor rest.cbor")]
struct VerifyArgs {
    /// The exported history: one file, or a first file and the ones that continue it.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Machine-readable output: one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        HistoryCommand::Export(args) => export(args).map(|()| ExitCode::SUCCESS),
        HistoryCommand::Verify(args) => verify(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        bail!("the export is binary CBOR: redirect it to a file (`> history.cbor`)");
    }
    let path = super::node_dir::existing(&args.data_dir)?.database_path();
    let opened = |error| match error {
        StoreError::InUse { .. } => anyhow::Error::new(error)
            .context("export reads the database itself; stop the node first"),
        other => anyhow::Error::new(other).context("export reads the node's database"),
    };
    // A start beyond the chain is refused before the database is opened for writing.
    if let Some(from) = args.from {
        let tip = Store::peek_finalized_height(&path).map_err(opened)?;
        if from > tip.0 {
            bail!("nothing to export from height {from}: the finalized chain ends at height {tip}");
        }
    }
    let store = Store::open(&path).map_err(opened)?;
    let mut out = std::io::BufWriter::new(stdout.lock());
    let range = ExportRange {
        from: args.from.map(Height),
        to: args.to.map(Height),
    };
    let written = history::export(&store, range, &mut out)?;
    out.flush().context("writing the export")?;
    eprintln!(
        "exported heights {} to {} ({} epochs, {} segments, {} bytes); `--from {}` continues it",
        written.first,
        written.last,
        written.epochs,
        written.segments,
        written.bytes,
        written.last.next()
    );
    Ok(())
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let scratch = ScratchDir::new()?;
    let result = verify_all(&args.files, &scratch.path().join("replay.redb"));
    // Removed before anything is printed: a reader that stops early (`| head`) ends this
    // process with SIGPIPE, and no destructor runs then.
    drop(scratch);
    match result? {
        Ok(verified) => {
            print_verified(&verified, args.json);
            Ok(ExitCode::SUCCESS)
        }
        Err((path, error @ (HistoryError::Io { .. } | HistoryError::Store(_)))) => {
            Err(error).with_context(|| format!("cannot check {}", path.display()))
        }
        Err((path, error)) => {
            if args.json {
                println!(
                    "{:#}",
                    json!({ "verified": false, "file": path, "error": error.to_string() })
                );
            } else {
                eprintln!("error: {} does not verify: {error}", path.display());
            }
            Ok(ExitCode::from(EXIT_VIOLATION))
        }
    }
}

/// The files verified in order as one history; the outer error is one that keeps them from
/// being checked at all, the inner one names the file that does not verify.
fn verify_all(
    files: &[PathBuf],
    database: &Path,
) -> anyhow::Result<Result<Verified, (PathBuf, HistoryError)>> {
    let mut verification = Verification::new(database, Arc::new(Ed25519Verifier));
    let mut last = None;
    for path in files {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        if let Err(error) = verification.read(BufReader::new(file)) {
            return Ok(Err((path.clone(), error)));
        }
        last = Some(path);
    }
    let last = last.context("no file to verify")?;
    Ok(verification.finish().map_err(|e| (last.clone(), e)))
}

fn print_verified(verified: &Verified, json: bool) {
    let (root_height, root) = verified.state_root;
    if json {
        let epochs: Vec<_> = verified
            .epochs
            .iter()
            .map(|e| {
                json!({
                    "number": e.number,
                    "start_height": e.start.0,
                    "end_height": e.end.map(|h| h.0),
                    "peers": e.peers,
                    "changes": e.changes,
                })
            })
            .collect();
        let report = json!({
            "verified": true,
            "federation": verified.federation.0.to_string(),
            "name": verified.name,
            "tip_height": verified.tip.0,
            "tip_hash": verified.tip_hash.to_string(),
            "state_root_height": root_height.0,
            "state_root": root.to_string(),
            "epochs": epochs,
            "bytes": verified.bytes,
        });
        println!("{report:#}");
        return;
    }
    println!(
        "verified {} ({}): heights 0 to {}, {} epochs, {} bytes",
        verified.name,
        verified.federation.0.short(),
        verified.tip,
        verified.epochs.len(),
        verified.bytes
    );
    for epoch in &verified.epochs {
        let end = epoch
            .end
            .map_or("in force at the end of the file".to_string(), |h| {
                format!("ended at height {h}")
            });
        println!(
            "  epoch {}: from height {}, {} peers, {end}",
            epoch.number, epoch.start, epoch.peers
        );
        for change in &epoch.changes {
            println!("    passed: {change}");
        }
    }
    println!("  tip {} at height {}", verified.tip_hash, verified.tip);
    println!("  state root after height {root_height}: {root}");
}
