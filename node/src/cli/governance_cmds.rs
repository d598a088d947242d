//! Governance through a running node: `proposals`, `propose`, `vote` and `epoch`. A change
//! passes once a quorum of the peers in force voted yes on it (consensus_ctrl).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::federation::ConsensusParams;
use bfte_shared::item::ModuleId;
use bfte_shared::modules::ctrl::{
    Change, EpochConfig, Member, ModuleVersion, Proposal, ProposalId, ProposalStatus,
};
use bfte_shared::peer::PeerId;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::admin_client::AdminClient;
use super::module_cmds::connect;
use super::node_dir::{self, DATA_DIR_ENV};
use bfte_node::modules::ctrl::{MAX_BACKOFF_DOUBLINGS, MIN_BLOCK_BYTES, MIN_TIMEOUT_MS};

#[derive(Debug, Args)]
#[command(
    about = "List the federation's proposals (consensus_ctrl), newest first",
    after_help = "Example:\n  bfte proposals --data-dir ./alice --json\n\n\
        A proposal is open until a quorum of the peers in force voted yes (passed) or so many\n\
        voted no that it cannot pass any more (rejected)."
)]
pub struct ProposalsArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output: one JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    about = "Propose a change to the federation (this peer's yes vote comes with it)",
    after_help = "Examples:\n  \
        bfte propose --data-dir ./alice add-peer --id 5x4k...q --name erin --addr 10.0.0.5:4100\n  \
        bfte propose --data-dir ./alice remove-peer 5x4k...q\n  \
        bfte propose --data-dir ./alice params --round-timeout-ms 2000\n  \
        bfte propose --data-dir ./alice enable-module --id 9 --kind attest --version 1\n  \
        bfte propose --data-dir ./alice upgrade-module --id 3 --version 2\n\n\
        The proposal gets its id once finalized (see `bfte proposals`); other peers vote with\n\
        `bfte vote ID yes`. Adding or removing a peer or changing parameters starts a new\n\
        epoch at the block that passes it."
)]
pub struct ProposeArgs {
    /// The data directory of a running node (before or after the change's name).
    #[arg(long, global = true, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub change: ProposeChange,
}

#[derive(Debug, Subcommand)]
pub enum ProposeChange {
    /// Add a peer (usually `bfte approve` does this for a pending join request).
    #[command(after_help = "Example:\n  \
        bfte propose --data-dir ./alice add-peer --id 5x4k...q --name erin --addr 10.0.0.5:4100")]
    AddPeer {
        /// The new peer's id (`bfte init` or `bfte join` prints it).
        #[arg(long)]
        id: PeerId,
        /// A human name for it.
        #[arg(long)]
        name: String,
        /// Where it listens, `ip:port`; repeat for several.
        #[arg(long = "addr")]
        addrs: Vec<String>,
    },
    /// Remove a peer.
    #[command(
        after_help = "Example:\n  bfte propose --data-dir ./alice remove-peer 5x4k...q\n\n\
        Once it passes, a new epoch starts without the peer; its node keeps following."
    )]
    RemovePeer {
        /// The peer's id (`bfte epoch` lists the members).
        id: PeerId,
    },
    /// New consensus parameters; every one not given keeps its value in force.
    #[command(after_help = "Example:\n  \
        bfte propose --data-dir ./alice params --round-timeout-ms 2000 --max-block-items 5000\n\n\
        `bfte epoch` shows the parameters in force.")]
    Params(ParamsArgs),
    /// Start applying items of a module kind under a new id.
    #[command(after_help = "Example:\n  \
        bfte propose --data-dir ./alice enable-module --id 9 --kind attest --version 1\n\n\
        Every node must run a bfte that has this module kind and version.")]
    EnableModule {
        /// The id its items will carry; not in use by another module.
        #[arg(long)]
        id: u16,
        /// The module's kind, such as `meta` or `attest`.
        #[arg(long)]
        kind: String,
        /// The version of the kind to run.
        #[arg(long)]
        version: u32,
    },
    /// Move an enabled module to another version.
    #[command(
        after_help = "Example:\n  bfte propose --data-dir ./alice upgrade-module --id 3 --version 2\n\n\
        Every node must run a bfte that has that version before the change passes."
    )]
    UpgradeModule {
        /// The enabled module's id (`bfte epoch` lists them).
        #[arg(long)]
        id: u16,
        /// The version to move to.
        #[arg(long)]
        version: u32,
    },
}

#[derive(Debug, Args)]
pub struct ParamsArgs {
    /// Δ, the base round timeout.
    #[arg(long, value_parser = clap::value_parser!(u64).range(MIN_TIMEOUT_MS..))]
    pub round_timeout_ms: Option<u64>,
    /// How many times the round timeout may double while finality lags.
    #[arg(long, value_parser = clap::value_parser!(u8).range(..=i64::from(MAX_BACKOFF_DOUBLINGS)))]
    pub max_backoff_doublings: Option<u8>,
    /// How often unanswered votes are re-sent.
    #[arg(long, value_parser = clap::value_parser!(u64).range(MIN_TIMEOUT_MS..))]
    pub resend_interval_ms: Option<u64>,
    /// Largest encoded payload of a block.
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_BLOCK_BYTES)..))]
    pub max_block_bytes: Option<u32>,
    /// Most items in a block.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_block_items: Option<u32>,
    /// How far a proposal's timestamp may run ahead of a voter's clock.
    #[arg(long)]
    pub max_clock_drift_ms: Option<u64>,
}

impl ParamsArgs {
    fn over(&self, current: &ConsensusParams) -> ConsensusParams {
        ConsensusParams {
            round_timeout_ms: self.round_timeout_ms.unwrap_or(current.round_timeout_ms),
            max_backoff_doublings: self
                .max_backoff_doublings
                .unwrap_or(current.max_backoff_doublings),
            resend_interval_ms: self
                .resend_interval_ms
                .unwrap_or(current.resend_interval_ms),
            max_block_bytes: self.max_block_bytes.unwrap_or(current.max_block_bytes),
            max_block_items: self.max_block_items.unwrap_or(current.max_block_items),
            max_clock_drift_ms: self
                .max_clock_drift_ms
                .unwrap_or(current.max_clock_drift_ms),
        }
    }

    fn is_empty(&self) -> bool {
        self.round_timeout_ms.is_none()
            && self.max_backoff_doublings.is_none()
            && self.resend_interval_ms.is_none()
            && self.max_block_bytes.is_none()
            && self.max_block_items.is_none()
            && self.max_clock_drift_ms.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ballot {
    Yes,
    No,
}

#[derive(Debug, Args)]
#[command(
    about = "Vote on an open proposal as this peer",
    after_help = "Example:\n  bfte vote --data-dir ./alice 3 yes\n\n\
        A later vote replaces this peer's earlier one while the proposal is open."
)]
pub struct VoteArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The proposal's id, from `bfte proposals`.
    pub proposal: u64,
    pub ballot: Ballot,
}

#[derive(Debug, Args)]
#[command(
    about = "Show the configuration consensus runs under now: peers, parameters, modules",
    after_help = "Example:\n  bfte epoch --data-dir ./alice --json\n\n\
        Epoch 0 is the genesis; each passed change of the peers or parameters starts the next."
)]
pub struct EpochArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Submits a governance write and says what happens next.
pub(super) fn submitted(
    client: &mut AdminClient,
    request: &AdminRequest,
    what: &str,
) -> anyhow::Result<()> {
    let AdminResponse::Submitted(receipt) = client.call(request)? else {
        bail!("the node answered something else than an accepted item");
    };
    let (item, nonce) = (receipt.item, receipt.nonce);
    println!("{what}: item {item} nonce {nonce}; it counts once finalized (see `bfte proposals`)");
    Ok(())
}

pub(super) fn epoch_of(client: &mut AdminClient) -> anyhow::Result<EpochConfig> {
    let AdminResponse::Epoch(epoch) = client.call(&AdminRequest::Epoch)? else {
        bail!("the node answered something else than the epoch");
    };
    Ok(epoch)
}

pub fn proposals(args: ProposalsArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let AdminResponse::Proposals(proposals) = client.call(&AdminRequest::Proposals)? else {
        bail!("the node answered something else than proposals");
    };
    if args.json {
        let list: Vec<Value> = proposals.iter().map(proposal_json).collect();
        println!("{:#}", Value::Array(list));
        return Ok(());
    }
    if proposals.is_empty() {
        println!("no proposals");
        return Ok(());
    }
    let names: HashMap<PeerId, String> = epoch_of(&mut client)?
        .members
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let name = |id: &PeerId| {
        names
            .get(id)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| id.short())
    };
    for proposal in &proposals {
        let status = match &proposal.status {
            ProposalStatus::Open => "open".to_string(),
            ProposalStatus::Passed { height } => format!("passed at height {height}"),
            ProposalStatus::Rejected { height } => format!("rejected at height {height}"),
        };
        println!(
            "#{:<4} {status:<22} {}",
            proposal.id,
            proposal.change.describe()
        );
        let (yes, no): (Vec<_>, Vec<_>) = proposal.votes.iter().partition(|(_, yes)| *yes);
        let tally = |votes: &[&(PeerId, bool)]| {
            if votes.is_empty() {
                return "0".to_string();
            }
            let names: Vec<String> = votes.iter().map(|(id, _)| name(id)).collect();
            format!("{} ({})", votes.len(), names.join(", "))
        };
        println!(
            "      by {} at height {}; yes {}, no {}",
            name(&proposal.proposer),
            proposal.height,
            tally(&yes),
            tally(&no)
        );
    }
    Ok(())
}

pub fn propose(args: ProposeArgs) -> anyhow::Result<()> {
    let mut client = connect(node_dir::given(args.data_dir.as_deref())?)?;
    let change = match args.change {
        ProposeChange::AddPeer { id, name, addrs } => Change::AddPeer(Member { id, name, addrs }),
        ProposeChange::RemovePeer { id } => Change::RemovePeer { id },
        ProposeChange::Params(params) => {
            if params.is_empty() {
                bail!("name at least one parameter to change (`bfte propose params --help`)");
            }
            Change::SetParams(params.over(&epoch_of(&mut client)?.params))
        }
        ProposeChange::EnableModule { id, kind, version } => Change::EnableModule(ModuleVersion {
            id: ModuleId(id),
            kind,
            version,
        }),
        ProposeChange::UpgradeModule { id, version } => Change::UpgradeModule {
            id: ModuleId(id),
            version,
        },
    };
    let what = format!("proposed: {}", change.describe());
    submitted(&mut client, &AdminRequest::Propose { change }, &what)
}

pub fn vote(args: VoteArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let yes = args.ballot == Ballot::Yes;
    let request = AdminRequest::Vote {
        proposal: ProposalId(args.proposal),
        yes,
    };
    let what = format!(
        "voted {} on proposal {}",
        if yes { "yes" } else { "no" },
        args.proposal
    );
    submitted(&mut client, &request, &what)
}

pub fn epoch(args: EpochArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let epoch = epoch_of(&mut client)?;
    if args.json {
        let value = json!({
            "number": epoch.number,
            "start_height": epoch.start_height.0,
            "start_block": epoch.start_block.to_string(),
            "members": epoch.members.iter().map(member_json).collect::<Vec<_>>(),
            "params": serde_json::to_value(&epoch.params)?,
            "modules": epoch.modules.iter().map(|m| json!({
                "id": m.id.0,
                "kind": m.kind,
                "version": m.version,
            })).collect::<Vec<_>>(),
        });
        println!("{value:#}");
        return Ok(());
    }
    println!(
        "epoch {} from height {} (block {})",
        epoch.number,
        epoch.start_height,
        epoch.start_block.short()
    );
    println!("peers ({}):", epoch.members.len());
    for member in &epoch.members {
        println!(
            "  {} {:<12} {}",
            member.id.short(),
            member.name,
            member.addrs.join(", ")
        );
    }
    let p = &epoch.params;
    println!(
        "parameters: round timeout {} ms (doubling at most {}x), resend {} ms, blocks at most \
         {} bytes and {} items, clock drift at most {} ms",
        p.round_timeout_ms,
        p.max_backoff_doublings,
        p.resend_interval_ms,
        p.max_block_bytes,
        p.max_block_items,
        p.max_clock_drift_ms
    );
    println!("modules:");
    for module in &epoch.modules {
        println!("  {:>3} {} v{}", module.id.0, module.kind, module.version);
    }
    Ok(())
}

pub(super) fn member_json(member: &Member) -> Value {
    json!({
        "id": member.id.to_string(),
        "name": member.name,
        "addrs": member.addrs,
    })
}

fn change_json(change: &Change) -> Value {
    let mut value = match change {
        Change::AddPeer(member) => json!({ "kind": "add_peer", "peer": member_json(member) }),
        Change::RemovePeer { id } => json!({ "kind": "remove_peer", "peer": id.to_string() }),
        Change::SetParams(params) => json!({
            "kind": "set_params",
            "params": serde_json::to_value(params).unwrap_or(Value::Null),
        }),
        Change::EnableModule(module) => json!({
            "kind": "enable_module",
            "id": module.id.0,
            "module": module.kind,
            "version": module.version,
        }),
        Change::UpgradeModule { id, version } => json!({
            "kind": "upgrade_module",
            "id": id.0,
            "version": version,
        }),
    };
    value["description"] = Value::String(change.describe());
    value
}

fn proposal_json(proposal: &Proposal) -> Value {
    let (status, decided) = match &proposal.status {
        ProposalStatus::Open => ("open", None),
        ProposalStatus::Passed { height } => ("passed", Some(height.0)),
        ProposalStatus::Rejected { height } => ("rejected", Some(height.0)),
    };
    let votes: serde_json::Map<String, Value> = proposal
        .votes
        .iter()
        .map(|(peer, yes)| (peer.to_string(), Value::Bool(*yes)))
        .collect();
    json!({
        "id": proposal.id.0,
        "change": change_json(&proposal.change),
        "proposer": proposal.proposer.to_string(),
        "height": proposal.height.0,
        "votes": votes,
        "status": status,
        "decided_at": decided,
    })
}
