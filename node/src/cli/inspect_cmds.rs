//! Read-only commands on a running node's admin socket: `peers` and `block`.

use std::path::PathBuf;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse, BlockDetail, PeerInfo};
use bfte_shared::round::Height;
use clap::Args;
use serde_json::{Value, json};

use super::admin_client::AdminClient;
use super::exit::Negative;
use super::node_dir::DATA_DIR_ENV;
use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "List the federation's peers with their connection, path, RTT and last vote",
    after_help = "Example:\n  bfte peers --data-dir ./alice --json"
)]
pub struct PeersArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn peers(args: PeersArgs) -> anyhow::Result<()> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let AdminResponse::Peers(peers) = client.call(&AdminRequest::Peers)? else {
        bail!("the node answered something else than its peers");
    };
    if args.json {
        let list: Vec<Value> = peers.iter().map(peer_json).collect();
        println!("{:#}", Value::Array(list));
        return Ok(());
    }
    println!(
        "{:<8} {:<12} {:<14} {:<7} {:>9} {:>10}",
        "ID", "NAME", "STATE", "PATH", "RTT", "LAST VOTE"
    );
    for peer in &peers {
        let state = match (peer.is_self, peer.connected) {
            (true, _) => "this node",
            (false, true) => "connected",
            (false, false) => "not connected",
        };
        println!(
            "{:<8} {:<12} {:<14} {:<7} {:>9} {:>10}",
            peer.id.short(),
            peer.name,
            state,
            peer.path.map_or("-", |p| p.as_str()),
            peer.rtt_us.map_or("-".to_string(), |us| format!(
                "{:.1} ms",
                us as f64 / 1000.0
            )),
            peer.last_vote_round
                .map_or("-".to_string(), |round| round.to_string()),
        );
    }
    Ok(())
}

fn peer_json(peer: &PeerInfo) -> Value {
    json!({
        "id": peer.id.to_string(),
        "name": peer.name,
        "self": peer.is_self,
        "connected": peer.connected,
        "path": peer.path.map(|p| p.as_str()),
        "rtt_us": peer.rtt_us,
        "last_vote_round": peer.last_vote_round.map(|r| r.0),
        "dropped_frames": peer.dropped_frames,
    })
}

#[derive(Debug, Args)]
#[command(
    about = "Show one finalized block: header, certificate signers and items",
    after_help = "Example:\n  bfte block 12 --data-dir ./alice --json\n\n\
        Exits with 1 when no block is final at that height yet."
)]
pub struct BlockArgs {
    /// The block's height.
    pub height: u64,
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn block(args: BlockArgs) -> anyhow::Result<()> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let request = AdminRequest::Block {
        height: Height(args.height),
    };
    let AdminResponse::Block(detail) = client.call(&request)? else {
        bail!("the node answered something else than a block");
    };
    let Some(detail) = detail else {
        return Err(Negative::Missing(format!(
            "no block is final at height {} yet (see `bfte status` for the finalized height)",
            args.height
        ))
        .into());
    };
    if args.json {
        println!("{:#}", block_json(&detail));
        return Ok(());
    }
    let header = &detail.block.header;
    println!("height      {}", header.height);
    println!("round       {}", header.round);
    println!("hash        {}", detail.block.hash());
    println!("parent      {}", header.parent);
    println!("proposer    {}", header.proposer);
    println!("timestamp   {} ms", header.timestamp_ms);
    println!("state root  {}", header.state_root);
    match &detail.certificate {
        Some(certificate) => println!(
            "certificate finalize, round {}, {} signers",
            certificate.round,
            detail.signers.len()
        ),
        None => println!("certificate none of its own (finalized with a later block)"),
    }
    for signer in &detail.signers {
        println!("  signed by {signer}");
    }
    // Entries, each with where it is: its item's author and nonce, and its index there.
    let payload = &detail.block.payload;
    println!(
        "items       {} ({} signed)",
        payload.entry_count(),
        payload.items.len()
    );
    for (at, entry) in payload.items.iter().flat_map(|item| item.entry_refs()) {
        println!(
            "  module {} author {} nonce {} #{} {} bytes",
            entry.module.0,
            at.author.short(),
            at.nonce,
            at.index,
            entry.data.len()
        );
    }
    Ok(())
}

fn block_json(detail: &BlockDetail) -> Value {
    let header = &detail.block.header;
    let items: Vec<Value> = detail
        .block
        .payload
        .items
        .iter()
        .flat_map(|item| item.entry_refs())
        .map(|(at, entry)| {
            json!({
                "module": entry.module.0,
                "author": at.author.to_string(),
                "nonce": at.nonce,
                "index": at.index,
                "bytes": entry.data.len(),
            })
        })
        .collect();
    json!({
        "height": header.height.0,
        "round": header.round.0,
        "hash": detail.block.hash().to_string(),
        "parent": header.parent.to_string(),
        "proposer": header.proposer.to_string(),
        "timestamp_ms": header.timestamp_ms,
        "state_root": header.state_root.to_string(),
        "certificate": detail.certificate.as_ref().map(|c| json!({
            "round": c.round.0,
            "signers": detail.signers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        })),
        "items": items,
    })
}
