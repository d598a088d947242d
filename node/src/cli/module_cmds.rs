//! Commands for the built-in modules through a running node: metadata (`meta`), attestations
//! (`attest`, `attestations`) and what applying a block did (`outcome`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bfte_node::daemon::DataDir;
use bfte_node::modules::attest::{STATEMENTS, Statement};
use bfte_node::modules::meta::{PROPOSALS, VALUES};
use bfte_shared::admin::{AdminRequest, AdminResponse, ModuleEntry};
use bfte_shared::codec;
use bfte_shared::item::ModuleId;
use bfte_shared::ledger::ItemOutcome;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, META};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::admin_client::AdminClient;
use super::exit::Negative;
use super::node_dir::{self, DATA_DIR_ENV};

/// Largest CBOR value these commands decode from a node.
const MAX_DECODED: usize = 1 << 20;

#[derive(Debug, Args)]
#[command(
    about = "Read or propose federation metadata (key/value, set by a quorum of peers)",
    after_help = "Examples:\n  bfte meta --data-dir ./alice set federation.name \"Acme CI\"\n  \
        bfte meta --data-dir ./alice get --json\n\n\
        A key takes a value once a quorum of peers proposed that same value; until then the\n\
        proposals are listed as pending."
)]
pub struct MetaArgs {
    /// The node's data directory (before or after `set`/`get`).
    #[arg(long, global = true, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub action: MetaAction,
}

#[derive(Debug, Subcommand)]
pub enum MetaAction {
    /// Propose a value for a key (this peer's vote for it).
    Set { key: String, value: String },
    /// Show agreed values (all, or one key) and pending proposals.
    Get {
        key: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(
    about = "Attest a claim about a subject as this peer",
    after_help = "Example:\n  bfte attest --data-dir ./alice artifact:sha256:9f2c built-from:commit:4e1a \
        --detail \"ci run 812\"\n\n\
        The statement is final once the threshold of peers (a quorum, unless the meta key\n\
        attest.threshold says otherwise) attested the same claim about the same subject."
)]
pub struct AttestArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    pub subject: String,
    pub claim: String,
    #[arg(long)]
    pub detail: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    about = "List attested statements, final or not",
    after_help = "Example:\n  bfte attestations --data-dir ./alice --subject artifact:sha256:9f2c --json"
)]
pub struct AttestationsArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Only statements about this subject.
    #[arg(long)]
    pub subject: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    about = "Show what applying a finalized block did: each item's outcome and effects",
    after_help = "Example:\n  bfte outcome --data-dir ./alice 42 --json\n\n\
        Exits with 1 when that height is not applied yet."
)]
pub struct OutcomeArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    pub height: u64,
    #[arg(long)]
    pub json: bool,
}

pub(super) fn connect(data_dir: &Path) -> anyhow::Result<AdminClient> {
    AdminClient::connect(&DataDir::new(data_dir))
}

fn submit(client: &mut AdminClient, module: ModuleId, data: Vec<u8>) -> anyhow::Result<()> {
    let AdminResponse::Submitted(receipt) =
        client.call(&AdminRequest::SubmitItem { module, data })?
    else {
        bail!("the node answered something else than an accepted item");
    };
    let (item, nonce) = (receipt.item, receipt.nonce);
    println!("submitted {item} nonce {nonce}; it counts once finalized");
    Ok(())
}

pub(super) fn entries(
    client: &mut AdminClient,
    module: ModuleId,
    table: &str,
) -> anyhow::Result<Vec<ModuleEntry>> {
    let request = AdminRequest::ModuleEntries {
        module,
        table: table.into(),
    };
    let AdminResponse::ModuleEntries(entries) = client.call(&request)? else {
        bail!("the node answered something else than module entries");
    };
    Ok(entries)
}

pub(super) fn decoded<T: DeserializeOwned>(bytes: &[u8], what: &str) -> anyhow::Result<T> {
    codec::decode(bytes, MAX_DECODED)
        .with_context(|| format!("the node sent an undecodable {what}"))
}

pub fn meta(args: MetaArgs) -> anyhow::Result<()> {
    let mut client = connect(node_dir::given(args.data_dir.as_deref())?)?;
    let (wanted, json) = match args.action {
        MetaAction::Set { key, value } => {
            let item = MetaItem::Propose { key, value };
            return submit(&mut client, META, codec::encode(&item));
        }
        MetaAction::Get { key, json } => (key, json),
    };
    let selected = |key: &str| wanted.as_deref().is_none_or(|w| w == key);
    let mut values = BTreeMap::new();
    for entry in entries(&mut client, META, VALUES)? {
        let key = String::from_utf8_lossy(&entry.key).into_owned();
        if selected(&key) {
            values.insert(key, decoded::<String>(&entry.value, "meta value")?);
        }
    }
    let mut pending: BTreeMap<String, BTreeMap<PeerId, String>> = BTreeMap::new();
    for entry in entries(&mut client, META, PROPOSALS)? {
        let key = String::from_utf8_lossy(&entry.key).into_owned();
        if selected(&key) {
            pending.insert(key, decoded(&entry.value, "meta proposal")?);
        }
    }
    if json {
        let pending: BTreeMap<_, BTreeMap<String, &String>> = pending
            .iter()
            .map(|(k, by)| (k, by.iter().map(|(p, v)| (p.to_string(), v)).collect()))
            .collect();
        println!("{:#}", json!({ "values": values, "pending": pending }));
        return Ok(());
    }
    if values.is_empty() && pending.is_empty() {
        println!(
            "no metadata{}",
            wanted.map(|k| format!(" for {k}")).unwrap_or_default()
        );
    }
    for (key, value) in &values {
        println!("{key} = {value}");
    }
    for (key, by) in &pending {
        for (peer, value) in by {
            println!("{key} <- {value}  (proposed by {}, pending)", peer.short());
        }
    }
    Ok(())
}

pub fn attest(args: AttestArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let item = AttestItem::Attest {
        subject: args.subject,
        claim: args.claim,
        detail: args.detail,
    };
    submit(&mut client, ATTEST, codec::encode(&item))
}

pub fn attestations(args: AttestationsArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let mut rows = Vec::new();
    for entry in entries(&mut client, ATTEST, STATEMENTS)? {
        let (subject, claim): (String, String) = decoded(&entry.key, "statement key")?;
        if args.subject.as_ref().is_some_and(|s| *s != subject) {
            continue;
        }
        let statement: Statement = decoded(&entry.value, "statement")?;
        rows.push((subject, claim, statement));
    }
    for (subject, claim, statement) in &rows {
        if args.json {
            let attesters: BTreeMap<String, &Option<String>> = statement
                .attesters
                .iter()
                .map(|(peer, detail)| (peer.to_string(), detail))
                .collect();
            let value = json!({
                "subject": subject,
                "claim": claim,
                "final_at": statement.final_at.map(|h| h.0),
                "attesters": attesters,
            });
            println!("{value}");
        } else {
            let state = statement
                .final_at
                .map_or("pending".to_string(), |h| format!("final at height {h}"));
            println!(
                "{subject}  {claim}  {} attester(s), {state}",
                statement.attesters.len()
            );
        }
    }
    if rows.is_empty() && !args.json {
        println!("no statements");
    }
    Ok(())
}

pub fn outcome(args: OutcomeArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let height = Height(args.height);
    let AdminResponse::Outcome(outcome) = client.call(&AdminRequest::Outcome { height })? else {
        bail!("the node answered something else than an outcome");
    };
    let Some(outcome) = outcome else {
        return Err(Negative::Missing(format!(
            "height {height} is not applied yet: check `bfte status` for the finalized height"
        ))
        .into());
    };
    if args.json {
        let entries: Vec<_> = outcome
            .entries
            .iter()
            .map(|entry| match entry {
                ItemOutcome::Applied { effects } => json!({
                    "applied": true,
                    "effects": effects.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
                }),
                ItemOutcome::Rejected { reason } => json!({ "applied": false, "reason": reason }),
            })
            .collect();
        let value = json!({
            "height": height.0,
            "state_root": outcome.state_root.to_string(),
            "entries": entries,
            "changes": outcome.changes.len(),
        });
        println!("{value:#}");
        return Ok(());
    }
    println!("height      {height}");
    println!("state root  {}", outcome.state_root);
    // One outcome per entry, in block order (`bfte block` lists the entries in that order).
    for (i, entry) in outcome.entries.iter().enumerate() {
        match entry {
            ItemOutcome::Applied { effects } if effects.is_empty() => {
                println!("  entry {i}: applied")
            }
            ItemOutcome::Applied { effects } => {
                let kinds: Vec<&str> = effects.iter().map(|e| e.kind.as_str()).collect();
                println!("  entry {i}: applied, effects {}", kinds.join(", "));
            }
            ItemOutcome::Rejected { reason } => println!("  entry {i}: rejected: {reason}"),
        }
    }
    for change in &outcome.changes {
        let what = if change.value.is_some() {
            "set"
        } else {
            "deleted"
        };
        println!(
            "  module {} {} {} ({} key bytes)",
            change.module.0,
            change.table,
            what,
            change.key.len()
        );
    }
    Ok(())
}
