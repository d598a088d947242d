//! `bfte replicate`: a node that follows a federation's history from an invite, verifies and
//! applies every block, serves it on, and never votes.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bfte_node::daemon::{self, DataDir, ReplicaOptions, write_atomically};
use bfte_node::net::RelayChoice;
use bfte_node::replica::Progress;
use bfte_shared::join::Invite;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use super::join_cmds::identity;
use super::node_cmds::parse_relay;
use super::node_dir::DATA_DIR_ENV;

/// How often a replica without a terminal logs its progress while it catches up.
const LOG_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
#[command(
    about = "Follow a federation's history without voting: verify it, apply it, serve it",
    after_help = "Example:\n  bfte replicate bfte-invite-... --data-dir ./replica\n\n\
        Takes the same invite code as `bfte join` (ask any operator for `bfte invite`), needs no\n\
        approval and never votes. It checks every block and certificate against the peer set it\n\
        derives itself from the genesis, catches up from segments served as iroh blobs, then\n\
        follows new blocks as they are finalized, and serves what it holds to other replicas.\n\
        Later runs need only --data-dir; it resumes where it stopped, even after kill -9.\n\n\
        Behind NAT it needs nothing else: it reaches the federation through the relay the invite\n\
        names (`bfte relay`, run by the federation) or n0's relays, and hole punching."
)]
pub struct ReplicateArgs {
    /// The invite code from `bfte invite`; needed on the first run only.
    pub code: Option<String>,
    /// The replica's data directory, created if missing.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// A human name for this replica.
    #[arg(long, default_value = "replica")]
    pub name: String,
    /// UDP address to listen on, where other replicas can fetch from this one. Defaults to the
    /// data directory's setting, or any free port for a new one.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// How to reach the federation: `default` (n0's relays, address lookup and hole punching),
    /// `off` (the invite's direct addresses only) or a relay URL. Without it: the relay the
    /// invite names, or `default` if it names none.
    #[arg(long, value_parser = parse_relay)]
    pub relay: Option<RelayChoice>,
    /// Stop when standard input closes (for a supervisor holding the pipe).
    #[arg(long)]
    pub stop_on_stdin_close: bool,
    /// Where the log files go, instead of DATA_DIR/logs.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

pub fn replicate(args: ReplicateArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    if let Some(code) = &args.code {
        let invite = Invite::decode(code.trim()).context("that is not a usable invite code")?;
        if dir.genesis_path().exists() {
            let held = daemon::GenesisFile::load(&dir.genesis_path())?
                .genesis()?
                .federation_id();
            ensure!(
                held == invite.federation,
                "{} already follows federation {}, and the invite is for {}; use another \
                 --data-dir",
                dir.path().display(),
                held.0,
                invite.federation.0
            );
        }
        let any_port = SocketAddr::from(([0, 0, 0, 0], 0));
        let new = !dir.secret_path().exists();
        identity(&dir, &args.name, args.listen.or(new.then_some(any_port)))?;
        write_atomically(&dir.invite_path(), format!("{code}\n").as_bytes())?;
    } else if let Some(listen) = args.listen {
        identity(&dir, &args.name, Some(listen))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = ReplicaOptions {
        relay: args.relay,
        stop_on_stdin_close: args.stop_on_stdin_close,
    };
    runtime.block_on(daemon::replicate(dir, options, |progress| {
        tokio::spawn(show_progress(progress));
    }))
}

/// A progress bar on a terminal, a log line every few seconds elsewhere, until caught up.
async fn show_progress(mut progress: watch::Receiver<Progress>) {
    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    if terminal {
        // The template is a constant; should it ever be rejected, the default style is used.
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed:>4} [{bar:30}] {pos}/{len} blocks, {per_sec}, {eta} left {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut logged = Instant::now();
    let mut was_following = false;
    loop {
        let now = progress.borrow_and_update().clone();
        bar.set_length(now.target.0);
        bar.set_position(now.tip.0);
        bar.set_message(format!("{} from {}", megabytes(now.bytes_in), source(&now)));
        if now.following && !was_following {
            tracing::info!(
                height = %now.tip,
                source = %source(&now),
                received = %megabytes(now.bytes_in),
                seconds = started.elapsed().as_secs_f64(),
                "caught up: following new blocks as they are finalized"
            );
            bar.finish_and_clear();
        } else if !now.following && !terminal && logged.elapsed() >= LOG_EVERY {
            logged = Instant::now();
            tracing::info!(
                height = %now.tip,
                of = %now.target,
                source = %source(&now),
                received = %megabytes(now.bytes_in),
                "catching up"
            );
        }
        was_following = now.following;
        if progress.changed().await.is_err() {
            return;
        }
    }
}

fn source(progress: &Progress) -> &str {
    progress.source.as_deref().unwrap_or("no source yet")
}

/// Bytes as `bfte replicate` and `bfte status` print them: `12.3 MB`.
pub(super) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
