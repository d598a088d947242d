//! Commands that talk to a running node through its admin socket: `submit`, `blocks` (`status`
//! has a file of its own).

use std::path::PathBuf;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::round::Height;
use clap::Args;
use serde_json::json;

use super::admin_client::AdminClient;
use super::node_dir::DATA_DIR_ENV;
use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "Put an item into consensus through a running node",
    after_help = "Example:\n  bfte submit --data-dir ./alice 'hello federation'\n\n\
        Prints the item id and nonce once the node accepted it into its outbox."
)]
pub struct SubmitArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
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
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
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
