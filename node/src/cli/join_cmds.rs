//! Growing the federation: `invite` (a code for a new node), `join` (the new node asks with
//! it), and, on the federation's nodes, `joins`, `approve` and `reject`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use bfte_node::daemon::{DataDir, GenesisFile, NodeSettings};
use bfte_node::net::join::Joiner;
use bfte_node::net::{NetConfig, RelayChoice, RelayUrl};
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::join::{Invite, JoinReply, JoinRequest};
use bfte_shared::modules::ctrl::Member;
use bfte_shared::peer::{PeerId, PeerSecret};
use clap::Args;
use serde_json::{Value, json};

use super::exit::Negative;
use super::governance_cmds::{member_json, submitted};
use super::module_cmds::connect;
use super::node_cmds::parse_relay;
use super::node_dir::DATA_DIR_ENV;

/// Where a joining node listens unless told (the same default as `bfte init`).
const DEFAULT_LISTEN: &str = "127.0.0.1:4100";

#[derive(Debug, Args)]
#[command(
    about = "Print an invite code for a new node",
    after_help = "Example:\n  bfte invite --data-dir ./alice --relay http://relay.example.org:3340\n\n\
        Give the code to the new node's operator, who runs `bfte join CODE ...` (or `bfte\n\
        replicate CODE ...` to follow without voting). The code names the federation, a recent\n\
        finalized block (it stays valid for 7 days), peers to ask and, if there is one, the\n\
        relay the federation runs (`bfte relay`): the node's own `--relay URL`, or --relay.\n\
        Through it a node behind NAT reaches the federation with nothing but the code."
)]
pub struct InviteArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The relay URL the invite names, instead of the node's own `--relay URL`: the same relay
    /// the federation's nodes use, as outsiders reach it (say, by its public name).
    #[arg(long)]
    pub relay: Option<RelayUrl>,
}

#[derive(Debug, Args)]
#[command(
    about = "List the join requests this node holds as pending",
    after_help = "Example:\n  bfte joins --data-dir ./alice --json\n\n\
        Approve one with `bfte approve PEER`, drop it with `bfte reject PEER`."
)]
pub struct JoinsArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output: one JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    about = "Vote to add a node that asked to join",
    after_help = "Example:\n  bfte approve --data-dir ./alice 5x4k...q\n\n\
        Votes yes on the open proposal that adds the peer, or proposes adding it as its pending\n\
        request describes it. The peer becomes a member once a quorum of peers approved."
)]
pub struct ApproveArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The joining node's peer id, from `bfte joins`.
    pub peer: PeerId,
}

#[derive(Debug, Args)]
#[command(
    about = "Drop a pending join request on this node",
    after_help = "Example:\n  bfte reject --data-dir ./alice 5x4k...q\n\n\
        Other peers keep their copy of the request; a proposal already made is voted down with\n\
        `bfte vote ID no`."
)]
pub struct RejectArgs {
    /// The data directory of a running node.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The joining node's peer id, from `bfte joins`.
    pub peer: PeerId,
}

#[derive(Debug, Args)]
#[command(
    about = "Ask a federation to add this new node, with an invite code",
    after_help = "Example:\n  bfte join bfte-invite-... --data-dir ./erin --name erin --listen 10.0.0.5:4100\n\n\
        Creates the data directory and the node's identity if needed, sends the signed request\n\
        to the peers the invite lists, and writes the federation's genesis file. Then start the\n\
        node with `bfte run --data-dir DIR` (add `--relay off` on a network without internet):\n\
        it waits as a follower until the federation approves it (`bfte approve` on their\n\
        nodes), then fetches what it missed and votes. Exits with 1 when the federation refused\n\
        the request, 2 when no peer of the invite answered."
)]
pub struct JoinArgs {
    /// The invite code from `bfte invite`.
    pub code: String,
    /// The new node's data directory, created if missing.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// A human name for this node, shown to the federation's operators.
    #[arg(long)]
    pub name: String,
    /// UDP address this node will listen on; the federation dials it there. Defaults to the
    /// data directory's setting, or 127.0.0.1:4100 for a new one.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// How to reach the invite's peers: `off` (their direct addresses only), `default` (n0's
    /// relays and address lookup) or a relay URL. Without it: the relay the invite names, or
    /// `off` if it names none.
    #[arg(long, value_parser = parse_relay)]
    pub relay: Option<RelayChoice>,
}

pub fn invite(args: InviteArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let AdminResponse::Invite(code) = client.call(&AdminRequest::Invite)? else {
        bail!("the node answered something else than an invite");
    };
    let Some(relay) = args.relay else {
        println!("{code}");
        return Ok(());
    };
    let mut invite = Invite::decode(&code).context("the node answered an unusable invite")?;
    invite.relay = Some(relay.to_string());
    println!("{}", invite.encode());
    Ok(())
}

pub fn joins(args: JoinsArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let AdminResponse::Joins(joins) = client.call(&AdminRequest::Joins)? else {
        bail!("the node answered something else than join requests");
    };
    if args.json {
        let list: Vec<Value> = joins
            .iter()
            .map(|join| {
                let mut value = member_json(&join.member);
                value["requested_ms"] = json!(join.requested_ms);
                value["pin_height"] = json!(join.pin_height.0);
                value
            })
            .collect();
        println!("{:#}", Value::Array(list));
        return Ok(());
    }
    if joins.is_empty() {
        println!("no pending join requests");
    }
    for join in &joins {
        println!(
            "{}  {:<12} at {}  (asked {} s ago)",
            join.member.id,
            join.member.name,
            join.member.addrs.join(", "),
            now_ms().saturating_sub(join.requested_ms) / 1000
        );
    }
    Ok(())
}

pub fn approve(args: ApproveArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let what = format!("approved {}", args.peer);
    submitted(
        &mut client,
        &AdminRequest::Approve { peer: args.peer },
        &what,
    )
}

pub fn reject(args: RejectArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let AdminResponse::Done = client.call(&AdminRequest::Reject { peer: args.peer })? else {
        bail!("the node answered something else than done");
    };
    println!("dropped the join request of {}", args.peer);
    Ok(())
}

pub fn join(args: JoinArgs) -> anyhow::Result<()> {
    let invite = Invite::decode(&args.code).context("that is not a usable invite code")?;
    let dir = DataDir::new(&args.data_dir);
    if dir.genesis_path().exists() {
        let federation = GenesisFile::load(&dir.genesis_path())?
            .genesis()?
            .federation_id();
        ensure!(
            federation == invite.federation,
            "{} already belongs to federation {}, and the invite is for {}; use another \
             --data-dir",
            dir.path().display(),
            federation.0,
            invite.federation.0
        );
    }
    let (secret, settings) = identity(&dir, &args.name, args.listen)?;
    let member = Member {
        id: secret.peer_id(),
        name: settings.name.clone(),
        addrs: vec![settings.listen.to_string()],
    };
    let request = JoinRequest::new(&invite, member, now_ms(), &secret);
    let config = NetConfig {
        bind: SocketAddr::new(settings.listen.ip(), 0),
        relay: RelayChoice::or_invite(args.relay, &invite, RelayChoice::Disabled)?,
    };
    // The node runs with the federation's relay too, or its peers behind NAT cannot reach it.
    let relay_arg = config
        .relay
        .custom()
        .map_or(String::new(), |url| format!(" --relay {url}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let replies = runtime.block_on(ask_all(&secret, config, &invite, &request))?;

    let mut accepted = None;
    let mut refusals = Vec::new();
    for (peer, reply) in replies {
        let who = if peer.name.is_empty() {
            peer.id.short()
        } else {
            peer.name.clone()
        };
        match reply {
            Ok(JoinReply::Pending {
                genesis, founders, ..
            }) => {
                println!("{who}: the request is pending");
                accepted.get_or_insert((who, genesis, founders));
            }
            Ok(JoinReply::Refused(reason)) => {
                println!("{who}: refused: {reason}");
                refusals.push(reason);
            }
            Err(error) => println!("{who}: no answer: {error:#}"),
        }
    }
    let Some((who, genesis, founders)) = accepted else {
        match refusals.first() {
            Some(reason) => {
                let refusal = format!("the federation refused the request: {reason}");
                return Err(Negative::Refused(refusal).into());
            }
            None => bail!(
                "no peer of the invite answered; check that this machine reaches them (or try \
                 --relay default) and that the invite is the latest"
            ),
        }
    };
    ensure!(
        genesis.federation_id() == invite.federation,
        "{who} answered with the genesis of federation {}, not the invite's {}; the invite or \
         that peer is wrong",
        genesis.federation_id().0,
        invite.federation.0
    );
    if dir.genesis_path().exists() {
        println!("kept {}", dir.genesis_path().display());
    } else {
        let file = GenesisFile::from_genesis(&genesis, &founders)?;
        file.save(&dir.genesis_path())?;
        println!(
            "wrote {} (federation {}, {} founding peers)",
            dir.genesis_path().display(),
            genesis.name,
            file.peers.len()
        );
    }
    println!("this node is {}", secret.peer_id());
    println!(
        "next: start the node with `bfte run --data-dir {}{relay_arg}`; it waits as a follower \
         until the federation approves it (`bfte approve {}` on their nodes), then catches up \
         and votes",
        dir.path().display(),
        secret.peer_id()
    );
    Ok(())
}

/// Sends the request to every peer of the invite at once; answers in the invite's order.
async fn ask_all(
    secret: &PeerSecret,
    config: NetConfig,
    invite: &Invite,
    request: &JoinRequest,
) -> anyhow::Result<Vec<(Member, anyhow::Result<JoinReply>)>> {
    let bind = config.bind;
    let joiner = Joiner::bind(secret, config)
        .await
        .with_context(|| format!("cannot open a network endpoint on {bind}"))?;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, peer) in invite.peers.iter().cloned().enumerate() {
        let (joiner, request) = (joiner.clone(), request.clone());
        tasks.spawn(async move {
            let reply = joiner.ask(&peer, &request).await;
            (index, peer, reply)
        });
    }
    let mut replies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (index, peer, reply) = done.context("a request task failed")?;
        replies.push((index, peer, reply.map_err(anyhow::Error::from)));
    }
    joiner.close().await;
    replies.sort_by_key(|(index, _, _)| *index);
    Ok(replies
        .into_iter()
        .map(|(_, peer, reply)| (peer, reply))
        .collect())
}

/// The data directory's identity and settings, made as `bfte init` makes them if it has none;
/// an existing one keeps its key and takes the given name (and listen address).
pub(super) fn identity(
    dir: &DataDir,
    name: &str,
    listen: Option<SocketAddr>,
) -> anyhow::Result<(PeerSecret, NodeSettings)> {
    if !dir.secret_path().exists() {
        let listen = match listen {
            Some(listen) => listen,
            None => DEFAULT_LISTEN
                .parse()
                .context("the default listen address")?,
        };
        let id = dir.init(name, listen)?;
        println!("created {} for peer {id}", dir.path().display());
        return Ok((dir.secret()?, dir.settings()?));
    }
    let secret = dir.secret()?;
    let mut settings = dir.settings()?;
    if settings.name != name || listen.is_some_and(|l| l != settings.listen) {
        settings.name = name.to_string();
        settings.listen = listen.unwrap_or(settings.listen);
        let text = serde_json::to_string_pretty(&settings).context("encoding node settings")?;
        let path = dir.settings_path();
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok((secret, settings))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
