//! `bfte backup`: a consistent copy of a node's database, marked so that a node restored from
//! it sits out until it cannot sign anything it may have signed since the backup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_node::daemon::DataDir;
use bfte_node::store::{BackupReport, Store};
use bfte_shared::admin::{AdminRequest, AdminResponse};
use clap::Args;
use serde_json::json;

use super::admin_client::AdminClient;
use super::node_dir::{self, DATA_DIR_ENV};

#[derive(Debug, Args)]
#[command(
    about = "Copy a node's database, running or stopped, to a file",
    after_help = "Example:\n  bfte backup --data-dir ./alice /backups/alice.redb\n\n\
        A running node copies its database itself, as of one moment, while it goes on; a \
        stopped node's is copied directly. OUT is written whole or not at all.\n\
        Restore: stop the node, copy OUT over DIR/bfte.redb, start it. A restored node votes \
        again only once it has learnt, from its peers, a round above every round it may have \
        voted in since the backup (README, \"Backup and restore\")."
)]
pub struct BackupArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Where the copy goes.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// A running node answers once the copy is synced and in place: for a large database, that
/// can take far longer than any other admin call.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(3600);

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let dir = node_dir::existing(&args.data_dir)?;
    let out = absolute(&args.out)?;
    if out.exists() && !args.force {
        bail!(
            "{} exists: pass --force to replace it, or choose another OUT",
            out.display()
        );
    }
    let progress = indicatif::ProgressBar::new_spinner().with_message(format!(
        "copying {} to {}",
        dir.database_path().display(),
        out.display()
    ));
    progress.enable_steady_tick(Duration::from_millis(200));
    let copied = if std::os::unix::net::UnixStream::connect(dir.admin_socket_path()).is_ok() {
        through_the_node(&dir, &out, args.force)
    } else {
        directly(&dir, &out, args.force)
    };
    progress.finish_and_clear();
    let report = copied?;
    if args.json {
        println!(
            "{}",
            json!({
                "path": out.display().to_string(),
                "tables": report.tables,
                "entries": report.entries,
                "bytes": report.bytes,
            })
        );
    } else {
        println!(
            "backed up {} tables, {} entries ({} bytes) to {}\nto restore: stop the node, copy it \
             over {}, start the node",
            report.tables,
            report.entries,
            report.bytes,
            out.display(),
            dir.database_path().display()
        );
    }
    Ok(())
}

/// The node is running: only it may open the database, so it makes the copy.
fn through_the_node(dir: &DataDir, out: &Path, replace: bool) -> anyhow::Result<BackupReport> {
    let mut client = AdminClient::connect(dir)?;
    client.wait_up_to(BACKUP_TIMEOUT)?;
    let request = AdminRequest::Backup {
        path: out.display().to_string(),
        replace,
    };
    match client
        .call(&request)
        .context("backing up through the node")?
    {
        AdminResponse::BackedUp {
            tables,
            entries,
            bytes,
        } => Ok(BackupReport {
            tables: tables as usize,
            entries,
            bytes,
        }),
        other => bail!("the node answered a backup with {other:?}"),
    }
}

/// No node answers: the database is copied here, under the same rules.
fn directly(dir: &DataDir, out: &Path, replace: bool) -> anyhow::Result<BackupReport> {
    let path = dir.database_path();
    let store = Store::open(&path).context("backing up a stopped node's database")?;
    Ok(store.backup_to(out, replace)?)
}

/// The node may run in another working directory: it is told where OUT is absolutely.
fn absolute(out: &Path) -> anyhow::Result<PathBuf> {
    let out = std::path::absolute(out)
        .with_context(|| format!("cannot resolve the path {}", out.display()))?;
    match out.parent() {
        Some(parent) if parent.is_dir() => Ok(out),
        _ => bail!(
            "{} is not in an existing directory: create the directory first",
            out.display()
        ),
    }
}
