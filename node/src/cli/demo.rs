//! `bfte demo`: a local federation of node processes on loopback, in one command.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{AdminRequest, AdminResponse};
use clap::Args;

use super::admin_client::AdminClient;
use super::node_cmds::genesis_file;
use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "Run a local federation of node processes on loopback until Ctrl-C",
    after_help = "Examples:\n  bfte demo                       4 peers in a temporary directory\n  \
        bfte demo --peers 7 --dir ./fed  keep the data to restart the same federation later\n\n\
        Each peer is a `bfte run` process with its data in DIR/peerN (log in DIR/peerN/logs/).\n\
        The demo submits a trickle of items so rounds keep finalizing and opens the console on\n\
        peer0 (q quits and stops the federation); with --no-tui it prints peer0's view instead.\n\
        Inspect any peer with `bfte status --data-dir DIR/peerN` or `bfte tui --data-dir DIR/peerN`."
)]
pub struct DemoArgs {
    /// How many peers (1 to 16).
    #[arg(long, default_value_t = 4)]
    pub peers: usize,
    /// Where the peers' data directories go; a temporary directory when absent.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print a status line a second instead of opening the console.
    #[arg(long)]
    pub no_tui: bool,
    /// Items submitted per second across the peers (0 for an idle federation).
    #[arg(long, default_value_t = 5.0)]
    pub load: f64,
}

/// A free loopback UDP port, found by binding port 0. Another process could take it before
/// the node binds it; the node then fails with a clear "address in use".
fn free_port() -> anyhow::Result<u16> {
    let socket =
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("no free UDP port on loopback")?;
    Ok(socket.local_addr()?.port())
}

pub(super) fn prepare(root: &Path, peers: usize) -> anyhow::Result<Vec<DataDir>> {
    let dirs: Vec<DataDir> = (0..peers)
        .map(|i| DataDir::new(root.join(format!("peer{i}"))))
        .collect();
    if dirs.iter().all(|d| d.genesis_path().exists()) {
        return Ok(dirs);
    }
    if dirs.iter().any(|d| d.secret_path().exists()) {
        bail!(
            "{} holds a partly set up federation; remove it or pick another --dir",
            root.display()
        );
    }
    for (i, dir) in dirs.iter().enumerate() {
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        dir.init(&format!("peer{i}"), listen)?;
    }
    let specs: Vec<String> = dirs
        .iter()
        .map(|d| d.path().display().to_string())
        .collect();
    let file = genesis_file("demo", 1_000, &specs)?;
    for dir in &dirs {
        file.save(&dir.genesis_path())?;
    }
    Ok(dirs)
}

pub(super) fn spawn(dir: &DataDir) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("cannot find the bfte executable")?;
    // The node logs to DIR/peerN/logs/; its stderr holds only where, and why it stopped,
    // appended to so a node restarted in the same directory (`bfte chaos`) keeps its past.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("node.log"))
        .with_context(|| format!("cannot create a log in {}", dir.path().display()))?;
    Command::new(exe)
        .arg("run")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--relay", "off", "--stop-on-stdin-close"])
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "bfte_node=info".into()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start a node process")
}

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if !(1..=16).contains(&args.peers) {
        bail!("--peers must be between 1 and 16");
    }
    let (root, temporary) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("bfte-demo-{}", std::process::id())),
            true,
        ),
    };
    let dirs = prepare(&root, args.peers)?;
    let mut children = dirs.iter().map(spawn).collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let outcome = if args.no_tui {
        eprintln!(
            "{} peers running in {} (logs: peerN/logs/). Ctrl-C stops them.",
            args.peers,
            root.display()
        );
        runtime.block_on(watch(&dirs, &mut children, args.load))
    } else {
        let console = bfte_tui::Options {
            socket: dirs[0].admin_socket_path(),
        };
        runtime.block_on(async {
            tokio::select! {
                outcome = bfte_tui::run(console) => outcome,
                () = submit_load(&dirs, args.load) => Ok(()),
            }
        })
    };
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    outcome
}

/// Submits `load` items a second round-robin over the peers, forever (never if `load` is 0).
async fn submit_load(dirs: &[DataDir], load: f64) {
    if load <= 0.0 {
        return std::future::pending().await;
    }
    let mut submit = tokio::time::interval(Duration::from_secs_f64(1.0 / load));
    for n in 0u64.. {
        submit.tick().await;
        let dir = dirs[n as usize % dirs.len()].clone();
        let request = AdminRequest::Submit {
            data: format!("demo item {n}").into_bytes(),
        };
        // The blocking client is quick on a local socket, but keep it off the console's thread.
        let _ =
            tokio::task::spawn_blocking(move || AdminClient::connect(&dir)?.call(&request)).await;
    }
}

/// Submits the load, prints peer0's view every second, and stops on Ctrl-C or when a node dies.
async fn watch(dirs: &[DataDir], children: &mut [Child], load: f64) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let load_task = submit_load(dirs, load);
    tokio::pin!(load_task);
    // Made once: a listener made anew each turn would miss a Ctrl-C that came meanwhile.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            () = &mut load_task => {}
            _ = tick.tick() => {
                for (i, child) in children.iter_mut().enumerate() {
                    if let Some(status) = child.try_wait()? {
                        bail!("peer{i} exited ({status}); see {}", dirs[i].path().join("node.log").display());
                    }
                }
                match AdminClient::connect(&dirs[0]).and_then(|mut c| c.call(&AdminRequest::Status)) {
                    Ok(AdminResponse::Status(s)) => {
                        let connected = s.peers.iter().filter(|p| p.connected).count();
                        println!(
                            "round {:>6}  finalized height {:>6}  pending {:>4}  peers connected {}/{}",
                            s.round, s.finalized_height, s.pending_items, connected, s.peers.len()
                        );
                    }
                    _ => println!("waiting for peer0 to answer on its admin socket ..."),
                }
            }
        }
    }
}
