//! The replica process (`bfte replicate`): it learns the genesis from the invite's peers (the
//! invite's federation id is its hash, so no peer can substitute another), then follows the
//! federation's history with `replica::Follower`, verifying and applying every block, and
//! serves what it holds to other replicas. It never votes and needs no approval.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::federation::Genesis;
use bfte_shared::join::Invite;
use tokio::sync::{mpsc, watch};

use super::admin::{self, Access, AdminCall};
use super::events::EventHub;
use super::files::{DataDir, GenesisFile};
use super::node::stdin_closed;
use super::replica_admin::ReplicaAdmin;
use crate::history::Replay;
use crate::ledger::Ledger;
use crate::net::{Bound, Dialer, NetConfig, RelayChoice};
use crate::replica::{self, Follower, Progress, SegmentBlobs, Source};
use crate::store::Store;

/// How `replicate` reaches sources and when it stops besides Ctrl-C.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// `None`: the relay the invite names, or n0's relays if it names none.
    pub relay: Option<RelayChoice>,
    pub stop_on_stdin_close: bool,
}

/// Follows the federation of the data directory's invite until Ctrl-C (or standard input
/// closing, if asked) or a database that cannot be written. `show` gets the progress to
/// display as soon as the follower exists.
pub async fn replicate(
    dir: DataDir,
    options: ReplicaOptions,
    show: impl FnOnce(watch::Receiver<Progress>),
) -> anyhow::Result<()> {
    let invite = load_invite(&dir)?;
    let secret = dir.secret()?;
    let settings = dir.settings()?;
    let config = NetConfig {
        bind: settings.listen,
        relay: RelayChoice::or_invite(options.relay, &invite, RelayChoice::Default)?,
    };
    let bind = config.bind;
    // One endpoint for the genesis fetch and everything after it.
    let bound = Bound::bind(&secret, config)
        .await
        .with_context(|| format!("cannot open a network endpoint on {bind}"))?;
    if !dir.genesis_path().exists() {
        let genesis = fetch_genesis(&bound.dialer(), &invite).await?;
        GenesisFile::from_genesis(&genesis, &invite.peers)?.save(&dir.genesis_path())?;
        tracing::info!(federation = %genesis.name, "wrote the genesis the invite names");
    }
    let genesis = GenesisFile::load(&dir.genesis_path())?.genesis()?;
    if genesis.federation_id() != invite.federation {
        bail!(
            "{} holds the genesis of federation {}, and the invite is for {}; use another \
             --data-dir",
            dir.genesis_path().display(),
            genesis.federation_id().0,
            invite.federation.0
        );
    }
    let store = Arc::new(open_store(&dir, &genesis)?);
    let replay = Replay::new(store.clone(), Arc::new(Ed25519Verifier))
        .context("cannot resume the replica's history")?;
    let blobs_path = dir.blobs_path();
    let blobs = SegmentBlobs::open(&blobs_path)
        .await
        .with_context(|| format!("cannot open the blob store in {}", blobs_path.display()))?;
    let (tip, watched) = watch::channel(replay.tip().height);
    let history = replica::start(store.clone(), blobs.clone(), watched)
        .await
        .context("cannot index the replica's history for serving")?;
    // Nobody is a consensus peer of a replica and it takes no join requests: only the history
    // protocols answer.
    let (net, _inbound, _joins) = bound
        .serve(Some(&history))
        .with_context(|| format!("cannot start networking on {}", settings.listen))?;
    tracing::info!(
        peer = %secret.peer_id(),
        listen = ?net.local_addrs(),
        height = %replay.tip().height,
        "replica running"
    );
    let follower = Follower::new(replay, &history, net.dialer(), invite.peers.clone(), tip);
    show(follower.progress());
    let admin = ReplicaAdmin {
        store,
        ledger: Ledger::new(&genesis),
        progress: follower.progress(),
        source: follower.source_connection(),
        peer_id: secret.peer_id(),
        served: net.served().clone(),
        names: invite
            .peers
            .iter()
            .map(|member| (member.id, member.name.clone()))
            .collect(),
    };
    let sockets = serve_admin(&dir, admin).await?;
    let supervisor_gone = stdin_closed(options.stop_on_stdin_close);
    let result = tokio::select! {
        result = follower.run() => result.context("the replica's database failed"),
        _ = tokio::signal::ctrl_c() => Ok(()),
        () = supervisor_gone => Ok(()),
    };
    tracing::info!("stopping");
    // The follower, and with it the tip's sender, is gone: the segmenter ends before the
    // router (whose blob protocol stops the blob store) and the store itself.
    history.stop().await;
    net.shutdown().await;
    blobs.shutdown().await;
    for path in sockets {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Binds both admin sockets to one `ReplicaAdmin`; returns their paths.
async fn serve_admin(dir: &DataDir, admin: ReplicaAdmin) -> anyhow::Result<Vec<PathBuf>> {
    let (calls, answered) = mpsc::channel::<AdminCall>(64);
    let sockets = vec![dir.admin_socket_path(), dir.admin_read_only_socket_path()];
    for (path, access) in sockets.iter().zip([Access::Full, Access::ReadOnly]) {
        let listener = admin::bind(path).await?;
        let server = admin::Server {
            data_dir: dir.path().to_path_buf(),
            calls: calls.clone(),
            events: EventHub::default(),
            access,
        };
        tokio::spawn(admin::serve(listener, server));
    }
    tokio::spawn(admin.serve(answered));
    Ok(sockets)
}

fn load_invite(dir: &DataDir) -> anyhow::Result<Invite> {
    let path = dir.invite_path();
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} holds no invite: start the replica with `bfte replicate CODE --data-dir {}`",
            path.display(),
            dir.path().display()
        )
    })?;
    Invite::decode(text.trim()).with_context(|| format!("{} is corrupt", path.display()))
}

fn open_store(dir: &DataDir, genesis: &Genesis) -> anyhow::Result<Store> {
    let path = dir.database_path();
    let store = if path.exists() {
        Store::open(&path)?
    } else {
        Store::create(&path, genesis)?
    };
    if store.genesis() != genesis {
        bail!(
            "{} belongs to another federation than {}",
            path.display(),
            dir.genesis_path().display()
        );
    }
    Ok(store)
}

/// Asks every peer of the invite at once for its index and takes the genesis of the first
/// whose genesis hashes to the invite's federation id.
async fn fetch_genesis(dialer: &Dialer, invite: &Invite) -> anyhow::Result<Genesis> {
    let mut asking = tokio::task::JoinSet::new();
    for member in invite.peers.clone() {
        let dialer = dialer.clone();
        asking.spawn(async move {
            let source = Source::connect(&dialer, &member).await;
            let index = match source {
                Ok(source) => {
                    let index = source.index().await;
                    source.close();
                    index
                }
                Err(error) => Err(error),
            };
            (member.name, index)
        });
    }
    let mut failures = Vec::new();
    let mut found = None;
    while let Some(answer) = asking.join_next().await {
        let Ok((name, index)) = answer else {
            continue;
        };
        match index {
            Ok(index) if index.genesis.federation_id() == invite.federation => {
                found = Some(index.genesis);
                break;
            }
            Ok(index) => failures.push(format!(
                "{name} serves federation {}, not the invite's",
                index.genesis.federation_id().0
            )),
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    asking.abort_all();
    found.with_context(|| {
        format!(
            "no peer of the invite served the federation's history ({}); check that this \
             machine reaches them (or try another --relay) and that the invite is recent",
            failures.join("; ")
        )
    })
}
