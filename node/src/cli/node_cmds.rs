//! Commands that set up and run nodes: `init`, `genesis`, `run`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bfte_shared::federation::ConsensusParams;
use clap::Args;

use super::node_dir::{self, DATA_DIR_ENV};

use bfte_node::daemon::{self, DataDir, GenesisFile, GenesisPeer};
use bfte_node::modules::ctrl::MIN_TIMEOUT_MS;
use bfte_node::net::RelayChoice;

#[derive(Debug, Args)]
#[command(
    about = "Create a peer identity (secret key, settings) in a data directory",
    after_help = "Example:\n  bfte init --data-dir ./alice --name alice --listen 127.0.0.1:4100\n\n\
        Prints the peer id. The secret (secret.key, mode 0600) is both the consensus key and\n\
        the iroh endpoint key; keep it private."
)]
pub struct InitArgs {
    /// Where to create the node's directory (made if missing).
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// A human name for this peer, shown to other operators.
    #[arg(long, default_value = "peer")]
    pub name: String,
    /// UDP address the node listens on.
    #[arg(long, default_value = "127.0.0.1:4100")]
    pub listen: SocketAddr,
}

pub fn init(args: InitArgs) -> anyhow::Result<()> {
    let id = DataDir::new(&args.data_dir).init(&args.name, args.listen)?;
    println!("{id}");
    Ok(())
}

#[derive(Debug, Args)]
#[command(
    about = "Assemble a federation's genesis file from its founding peers",
    after_help = "Example:\n  bfte genesis --name demo --out genesis.json ./alice ./bob ./carol ./dave\n\n\
        Each PEER is a data directory made by `bfte init` (its id, name and listen address are\n\
        read from it) or NAME=ID@ADDRESS for a peer elsewhere. Copy the file into every\n\
        founding peer's data directory as genesis.json (or pass it to `bfte run --genesis`)."
)]
pub struct GenesisArgs {
    /// The federation's name.
    #[arg(long)]
    pub name: String,
    /// Where to write the genesis file.
    #[arg(long)]
    pub out: PathBuf,
    /// Δ, the base round timeout in milliseconds.
    #[arg(
        long,
        default_value_t = ConsensusParams::default().round_timeout_ms,
        value_parser = clap::value_parser!(u64).range(MIN_TIMEOUT_MS..),
    )]
    pub round_timeout_ms: u64,
    #[arg(required = true)]
    pub peers: Vec<String>,
}

fn parse_peer(spec: &str) -> anyhow::Result<GenesisPeer> {
    if let Some((name, rest)) = spec.split_once('=') {
        let (id, addr) = rest
            .split_once('@')
            .with_context(|| format!("`{spec}`: expected NAME=ID@ADDRESS"))?;
        return Ok(GenesisPeer {
            name: name.to_string(),
            id: id
                .parse()
                .with_context(|| format!("`{spec}`: bad peer id"))?,
            addrs: vec![
                addr.parse()
                    .with_context(|| format!("`{spec}`: bad address"))?,
            ],
        });
    }
    let dir = DataDir::new(spec);
    let settings = dir.settings()?;
    Ok(GenesisPeer {
        name: settings.name,
        id: dir.secret()?.peer_id(),
        addrs: vec![settings.listen],
    })
}

pub fn genesis_file(
    name: &str,
    round_timeout_ms: u64,
    peers: &[String],
) -> anyhow::Result<GenesisFile> {
    let peers = peers
        .iter()
        .map(|p| parse_peer(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let timestamp_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let file = GenesisFile {
        name: name.to_string(),
        timestamp_ms,
        params: ConsensusParams {
            round_timeout_ms,
            ..ConsensusParams::default()
        },
        peers,
    };
    file.genesis()?;
    Ok(file)
}

pub fn genesis(args: GenesisArgs) -> anyhow::Result<()> {
    let file = genesis_file(&args.name, args.round_timeout_ms, &args.peers)?;
    file.save(&args.out)?;
    println!("federation {}", file.genesis()?.federation_id().0);
    Ok(())
}

#[derive(Debug, Args)]
#[command(
    about = "Run a node until Ctrl-C",
    after_help = "Examples:\n  bfte run --data-dir ./alice --genesis genesis.json\n  \
        bfte run --data-dir ./alice --metrics 127.0.0.1:9464   then: curl 127.0.0.1:9464/metrics\n\n\
        The first run copies the genesis file into the data directory; later runs need only\n\
        --data-dir. The log goes to DATA_DIR/logs/bfte.YYYY-MM-DD.log, a file a day, the last 7\n\
        kept (RUST_LOG=bfte_node=debug for more); stderr gets only the line saying so and the\n\
        error the node stops with.\n\n\
        With --metrics the node serves Prometheus metrics (bfte_*: round, finalized height,\n\
        finality latency, dummy rounds, missed votes, each peer's connection, RTT and send\n\
        queue, bytes in and out) at http://ADDR/metrics. Keep ADDR on loopback or a private\n\
        network: it has no authentication.\n\n\
        Peers behind NAT are reached through relays and hole punching (n0's public relays by\n\
        default). On a LAN or loopback, `--relay off` keeps the node fully offline: it dials\n\
        only the addresses in the genesis file."
)]
pub struct RunArgs {
    /// The node's data directory, made by `bfte init`.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The federation's genesis file, needed on the first run only.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// How to reach peers without a direct path: `default` (n0's relays, address lookup and
    /// hole punching), `off` (direct addresses only, never the internet) or a relay URL.
    #[arg(long, default_value = "default", value_parser = parse_relay)]
    pub relay: RelayChoice,
    /// Stop when standard input closes: a supervisor (such as `bfte demo`) holds the pipe, so
    /// its nodes stop with it even when it is killed.
    #[arg(long)]
    pub stop_on_stdin_close: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (such as 127.0.0.1:9464); off when
    /// absent.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Where the log files go, instead of DATA_DIR/logs.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

pub(super) fn parse_relay(value: &str) -> Result<RelayChoice, String> {
    match value {
        "default" => Ok(RelayChoice::Default),
        "off" => Ok(RelayChoice::Disabled),
        url => url.parse().map(RelayChoice::Custom).map_err(|error| {
            format!("expected `default`, `off` or a relay URL such as https://relay.example.org ({error})")
        }),
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let dir = node_dir::existing(&args.data_dir)?;
    let target = dir.genesis_path();
    match (&args.genesis, target.exists()) {
        (Some(source), false) => {
            GenesisFile::load(source)?;
            std::fs::copy(source, &target).with_context(|| {
                format!("cannot copy {} into the data directory", source.display())
            })?;
        }
        (Some(source), true) => {
            let new = GenesisFile::load(source)?.genesis()?.federation_id();
            let old = GenesisFile::load(&target)?.genesis()?.federation_id();
            if new != old {
                bail!(
                    "{} already belongs to another federation than {}",
                    dir.path().display(),
                    source.display()
                );
            }
        }
        (None, false) => bail!(
            "{} has no genesis.json: pass --genesis FILE on the first run",
            dir.path().display()
        ),
        (None, true) => {}
    }
    super::heap::keep_small_or_warn();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = daemon::RunOptions {
        relay: args.relay,
        stop_on_stdin_close: args.stop_on_stdin_close,
        metrics: args.metrics,
    };
    runtime.block_on(daemon::run(dir, options))
}
