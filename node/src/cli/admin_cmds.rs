//! Commands that talk to a running node through its admin socket: `status`, `submit`, `blocks`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse, PeerPath, Status};
use bfte_shared::round::Height;
use clap::Args;
use serde_json::json;

use super::EXIT_REFUSED;
use super::admin_client::AdminClient;
use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "Show a running node's view of consensus",
    after_help = "Example:\n  bfte status --data-dir ./alice --json\n\n\
        Exits 0, or 1 when finality is stalled: work (items, or rounds above the finalized\n\
        tip's) has waited 10 s or more without a finalized block. 2 means no answer."
)]
pub struct StatusArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Exits with [`EXIT_REFUSED`] when finality is stalled, so scripts can alert on it.
pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let AdminResponse::Status(status) = client.call(&AdminRequest::Status)? else {
        bail!("the node answered something else than a status");
    };
    if args.json {
        let peers: Vec<_> = status
            .peers
            .iter()
            .map(|p| json!({ "id": p.id.to_string(), "name": p.name, "connected": p.connected }))
            .collect();
        let value = json!({
            "federation_id": status.federation_id.0.to_string(),
            "federation_name": status.federation_name,
            "peer_id": status.peer_id.to_string(),
            "role": status.role,
            "round": status.round.0,
            "leader": status.leader.to_string(),
            "finalized_height": status.finalized_height.0,
            "pending_items": status.pending_items,
            "finality_wait_ms": status.finality_wait_ms,
            "stalled": status.stalled(),
            "peers": peers,
            "replication": status.replication.as_ref().map(|r| json!({
                "source": r.source,
                "target_height": r.target_height.0,
                "lag_heights": r.lag_heights(status.finalized_height),
                "lag_ms": r.lag_ms,
                "following": r.following,
                "bytes_in": r.bytes_in,
                "source_path": r.source_path.map(PeerPath::as_str),
            })),
        });
        println!("{value:#}");
        return Ok(stall_code(&status));
    }
    println!(
        "federation  {} ({})",
        status.federation_name,
        status.federation_id.0.short()
    );
    println!("peer        {} ({})", status.peer_id.short(), status.role);
    println!(
        "round       {}  leader {}",
        status.round,
        status.leader.short()
    );
    println!("finalized   height {}", status.finalized_height);
    if let Some(replication) = &status.replication {
        let state = if replication.following {
            "following"
        } else {
            "catching up"
        };
        let path = replication
            .source_path
            .map_or(String::new(), |path| format!(" ({})", path.as_str()));
        println!(
            "replica     {state} from {}{path}: {} heights ({:.1} s) behind, {:.1} MB received",
            replication.source.as_deref().unwrap_or("no source yet"),
            replication.lag_heights(status.finalized_height),
            replication.lag_ms as f64 / 1000.0,
            replication.bytes_in as f64 / 1e6
        );
    }
    println!("pending     {} items", status.pending_items);
    if status.finality_wait_ms > 0 {
        let stalled = if status.stalled() { " (stalled)" } else { "" };
        println!(
            "finality    waiting {:.1} s{stalled}",
            status.finality_wait_ms as f64 / 1000.0
        );
    }
    for peer in &status.peers {
        let state = if peer.connected {
            "connected"
        } else {
            "not connected"
        };
        println!("  {} {:<12} {state}", peer.id.short(), peer.name);
    }
    Ok(stall_code(&status))
}

fn stall_code(status: &Status) -> ExitCode {
    if status.stalled() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Debug, Args)]
#[command(
    about = "Put an item into consensus through a running node",
    after_help = "Example:\n  bfte submit --data-dir ./alice 'hello federation'\n\n\
        Prints the item id and nonce once the node accepted it into its outbox."
)]
pub struct SubmitArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    pub payload: String,
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let request = AdminRequest::Submit {
        data: args.payload.into_bytes(),
    };
    let AdminResponse::Submitted { item, nonce } = client.call(&request)? else {
        bail!("the node answered something else than an accepted item");
    };
    println!("{item} nonce {nonce}");
    Ok(())
}

#[derive(Debug, Args)]
#[command(
    about = "List finalized blocks",
    after_help = "Example:\n  bfte blocks --data-dir ./alice --from 1 --json"
)]
pub struct BlocksArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

pub fn blocks(args: BlocksArgs) -> anyhow::Result<()> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let request = AdminRequest::Blocks {
        from: Height(args.from),
        limit: args.limit,
    };
    let AdminResponse::Blocks(blocks) = client.call(&request)? else {
        bail!("the node answered something else than blocks");
    };
    for entry in &blocks {
        let header = &entry.block.header;
        if args.json {
            let value = json!({
                "height": header.height.0,
                "round": header.round.0,
                "hash": entry.block.hash().to_string(),
                "parent": header.parent.to_string(),
                "proposer": header.proposer.to_string(),
                "timestamp_ms": header.timestamp_ms,
                "items": entry.block.payload.items.len(),
                "finalization_signers": entry.certificate.as_ref().map(|c| c.signatures.len()),
            });
            println!("{value}");
        } else {
            println!(
                "{:>6} round {:>6} {} items {:>4} by {}",
                header.height,
                header.round,
                entry.block.hash().short(),
                entry.block.payload.items.len(),
                header.proposer.short()
            );
        }
    }
    Ok(())
}
