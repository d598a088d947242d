//! `bfte tui`: the console on a running node's admin socket.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::node_dir::{self, DATA_DIR_ENV};
use bfte_node::daemon::DataDir;

/// How often the command looks for a node that has not started yet.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Args)]
#[command(
    about = "Watch a running node in the console (a terminal UI)",
    after_help = "Example:\n  bfte tui --data-dir ./alice\n\n\
        Press ? inside for the keys, q to quit. The console reconnects by itself when the node\n\
        restarts. --read-only attaches to admin-ro.sock, which refuses every change.\n\n\
        A directory without a node is an error (create one with `bfte init`); a node that is\n\
        not running yet is waited for, and the console opens once it answers."
)]
pub struct TuiArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Attach to the read-only socket.
    #[arg(long)]
    pub read_only: bool,
}

pub fn tui(args: TuiArgs) -> anyhow::Result<()> {
    let dir = node_dir::existing(&args.data_dir)?;
    let socket = if args.read_only {
        dir.admin_read_only_socket_path()
    } else {
        dir.admin_socket_path()
    };
    wait_for_node(&dir, &socket);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(bfte_tui::run(bfte_tui::Options { socket }))
}

/// Waits on the plain terminal until the node answers: once the console takes the screen, it
/// would only retry, and a node never started would look like a slow one.
fn wait_for_node(dir: &DataDir, socket: &Path) {
    if UnixStream::connect(socket).is_ok() {
        return;
    }
    eprintln!(
        "no node is running in {} yet: waiting for it (start it with `{}`); Ctrl-C stops",
        dir.path().display(),
        node_dir::start_command(dir)
    );
    while UnixStream::connect(socket).is_err() {
        std::thread::sleep(POLL);
    }
}
