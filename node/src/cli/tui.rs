//! `bfte tui`: the console on a running node's admin socket.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "Watch a running node in the console (a terminal UI)",
    after_help = "Example:\n  bfte tui --data-dir ./alice\n\n\
        Press ? inside for the keys, q to quit. The console reconnects by itself when the node\n\
        restarts. --read-only attaches to admin-ro.sock, which refuses every change."
)]
pub struct TuiArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Attach to the read-only socket.
    #[arg(long)]
    pub read_only: bool,
}

pub fn tui(args: TuiArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    let socket = if args.read_only {
        dir.admin_read_only_socket_path()
    } else {
        dir.admin_socket_path()
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(bfte_tui::run(bfte_tui::Options { socket }))
}
