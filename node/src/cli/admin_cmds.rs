//! Commands that talk to a running node through its admin socket: `submit`, `blocks` (`status`
//! has a file of its own).

use std::path::PathBuf;

use std::io::BufRead;

use anyhow::{Context, bail};
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::item::Entry;
use bfte_shared::modules::DATA;
use bfte_shared::round::Height;
use clap::Args;
use serde_json::json;

use super::admin_client::AdminClient;
use super::node_dir::DATA_DIR_ENV;
use bfte_node::daemon::DataDir;

#[derive(Debug, Args)]
#[command(
    about = "Put entries into consensus through a running node",
    after_help = "Examples:\n  bfte submit --data-dir ./alice 'hello federation'\n  \
        bfte submit --data-dir ./alice first second third\n  \
        seq 1000 | bfte submit --data-dir ./alice --lines\n\n\
        Several payloads (or --lines) are submitted in one request and signed together as one \
        item. Prints, per payload once the node made it durable, the id and nonce of the \
        item that carries it and, for several, its index there (or why it was refused)."
)]
pub struct SubmitArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// One entry per payload.
    #[arg(required_unless_present = "lines")]
    pub payloads: Vec<String>,
    /// Read one payload per line of standard input (after any given as arguments).
    #[arg(long)]
    pub lines: bool,
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let mut payloads = args.payloads;
    if args.lines {
        for line in std::io::stdin().lock().lines() {
            payloads.push(line.context("cannot read standard input")?);
        }
    }
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    if let [payload] = payloads.as_slice() {
        let request = AdminRequest::Submit {
            data: payload.as_bytes().to_vec(),
        };
        let AdminResponse::Submitted(receipt) = client.call(&request)? else {
            bail!("the node answered something else than an accepted item");
        };
        println!("{} nonce {}", receipt.item, receipt.nonce);
        return Ok(());
    }
    if payloads.is_empty() {
        bail!("nothing to submit: standard input had no lines");
    }
    let entries = payloads
        .into_iter()
        .map(|payload| Entry {
            module: DATA,
            data: payload.into_bytes(),
        })
        .collect();
    let AdminResponse::SubmittedMany(receipts) =
        client.call(&AdminRequest::SubmitMany { entries })?
    else {
        bail!("the node answered something else than accepted entries");
    };
    let mut refused = 0;
    for receipt in &receipts {
        match receipt {
            Some(r) => println!("{} nonce {} #{}", r.item, r.nonce, r.index),
            None => {
                refused += 1;
                println!("refused");
            }
        }
    }
    if refused > 0 {
        bail!(
            "the node refused {refused} of {} entries: larger than a block may be, or its \
             outbox is full (retry once its pending items are final)",
            receipts.len()
        );
    }
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
                "items": entry.block.payload.entry_count(),
                "finalization_signers": entry.certificate.as_ref().map(|c| c.signatures.len()),
            });
            println!("{value}");
        } else {
            println!(
                "{:>6} round {:>6} {} items {:>4} by {}",
                header.height,
                header.round,
                entry.block.hash().short(),
                entry.block.payload.entry_count(),
                header.proposer.short()
            );
        }
    }
    Ok(())
}
