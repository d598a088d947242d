//! The node's driver loop: the one place where the pure core meets the database, the network,
//! the clock and the admin socket. Per output: commit what must be durable, then send.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bfte_shared::admin::{
    AdminRequest, AdminResponse, BlockDetail, FinalizedBlock, PeerInfo, PeerPath, PeerStatus,
    Status,
};
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::item::ModuleId;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::vote::Vote;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::admin::{self, Access, AdminCall};
use super::events::{EventHub, Observer};
use super::files::{DataDir, GenesisFile};
use crate::consensus::{Core, CoreConfig, Destination, Durable, Input, Output, Timer};
use crate::net::{Inbound, Net, NetConfig, RelayChoice};
use crate::store::Store;

/// Most finalized blocks one answer to a peer's pull carries.
const SERVE_LIMIT: usize = 256;
/// Most blocks one admin `Blocks` answer carries.
const ADMIN_BLOCKS_LIMIT: u32 = 1_000;

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Driver {
    core: Core,
    store: Store,
    net: Net,
    timers: BTreeMap<Timer, u64>,
    names: HashMap<PeerId, String>,
    connected: HashMap<PeerId, bool>,
    federation_name: String,
    /// Votes received since the last flush to the store's audit trail.
    seen_votes: Vec<Vote>,
    observer: Observer,
}

/// How `run` reaches peers and when it stops besides Ctrl-C.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub relay: RelayChoice,
    pub stop_on_stdin_close: bool,
}

/// Runs a node until Ctrl-C (or standard input closing, if asked) or a fatal error (a database
/// that cannot be written: continuing would send votes that are not durable).
pub async fn run(dir: DataDir, options: RunOptions) -> anyhow::Result<()> {
    let RunOptions {
        relay,
        stop_on_stdin_close,
    } = options;
    let secret = dir.secret()?;
    let settings = dir.settings()?;
    let genesis_file = GenesisFile::load(&dir.genesis_path())?;
    let genesis = genesis_file.genesis()?;
    let db_path = dir.database_path();
    let store = if db_path.exists() {
        Store::open(&db_path)?
    } else {
        Store::create(&db_path, &genesis)?
    };
    if store.genesis() != &genesis {
        anyhow::bail!(
            "{} belongs to another federation than {}: use the genesis file it was created with",
            db_path.display(),
            dir.genesis_path().display()
        );
    }
    let restored = store.restored()?;
    let config = NetConfig {
        bind: settings.listen,
        relay,
    };
    let (net, mut inbound) = Net::bind(&secret, config)
        .await
        .with_context(|| format!("cannot start networking on {}", settings.listen))?;
    let me = secret.peer_id();
    net.set_peers(
        genesis_file
            .peers
            .iter()
            .filter(|p| p.id != me)
            .map(|p| (p.id, p.addrs.clone()))
            .collect(),
    );
    let core_config = CoreConfig {
        genesis: genesis.clone(),
        signer: Arc::new(secret),
        verifier: Arc::new(Ed25519Verifier),
    };
    let (core, output) = Core::start(core_config, restored, now_ms())?;
    let mut driver = Driver {
        core,
        store,
        net,
        timers: BTreeMap::new(),
        names: genesis_file
            .peers
            .iter()
            .map(|p| (p.id, p.name.clone()))
            .collect(),
        connected: HashMap::new(),
        federation_name: genesis.name.clone(),
        seen_votes: Vec::new(),
        observer: Observer::new(EventHub::default()),
    };
    driver.apply(output)?;
    super::log_tap::forward_logs_to(driver.observer.hub());
    let (calls_tx, mut calls) = mpsc::channel::<AdminCall>(64);
    for (path, access) in [
        (dir.admin_socket_path(), Access::Full),
        (dir.admin_read_only_socket_path(), Access::ReadOnly),
    ] {
        let listener = admin::bind(&path).await?;
        let server = admin::Server {
            data_dir: dir.path().to_path_buf(),
            calls: calls_tx.clone(),
            events: driver.observer.hub().clone(),
            access,
        };
        tokio::spawn(admin::serve(listener, server));
    }
    tracing::info!(peer = %me, name = %settings.name, listen = %settings.listen, "node running");
    let mut connection_check = tokio::time::interval(Duration::from_millis(250));
    let supervisor_gone = stdin_closed(stop_on_stdin_close);
    tokio::pin!(supervisor_gone);
    loop {
        let sleep = driver.next_timer();
        tokio::select! {
            Some(Inbound { from, bytes }) = inbound.recv() => driver.on_frame(from, &bytes)?,
            Some((request, reply)) = calls.recv() => {
                let response = driver.on_admin(request)?;
                let _ = reply.send(response);
            }
            () = tokio::time::sleep_until(sleep) => driver.fire_timers()?,
            _ = connection_check.tick() => {
                driver.check_connections()?;
                driver.flush_seen_votes();
            }
            _ = tokio::signal::ctrl_c() => break,
            () = &mut supervisor_gone => {
                tracing::info!("standard input closed: the supervisor is gone");
                break;
            }
        }
    }
    tracing::info!("stopping");
    driver.flush_seen_votes();
    driver.net.shutdown().await;
    let _ = std::fs::remove_file(dir.admin_socket_path());
    let _ = std::fs::remove_file(dir.admin_read_only_socket_path());
    Ok(())
}

/// Resolves once standard input reaches its end, if `watch`; never otherwise.
async fn stdin_closed(watch: bool) {
    if !watch {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buffer = [0u8; 64];
    while let Ok(read) = tokio::io::AsyncReadExt::read(&mut stdin, &mut buffer).await {
        if read == 0 {
            return;
        }
    }
}

impl Driver {
    fn handle(&mut self, input: Input) -> anyhow::Result<()> {
        let output = self.core.handle(now_ms(), input);
        self.apply(output)
    }

    /// Commits, then carries out everything else: the core's durability contract.
    fn apply(&mut self, output: Output) -> anyhow::Result<()> {
        if !output.persist.is_empty() || !output.finalized.is_empty() {
            self.store
                .commit(&output.persist, &output.finalized)
                .context(
                    "cannot write the database; stopping rather than sending what is not durable",
                )?;
        }
        let round = self.core.round();
        self.observer
            .output(&output, round, self.core.leader(round));
        for finalized in &output.finalized {
            if let Some(last) = finalized.blocks.last() {
                tracing::info!(height = %last.header.height, round = %last.header.round, items = finalized.blocks.iter().map(|b| b.payload.items.len()).sum::<usize>(), "finalized");
            }
        }
        for evidence in &output.evidence {
            tracing::warn!(?evidence, "a peer signed conflicting messages");
        }
        for (timer, at) in output.timers {
            self.timers.insert(timer, at);
        }
        for (to, from) in output.serve_finalized {
            if let Some(chain) = self.store.finalized_chain(from, SERVE_LIMIT)? {
                self.send(Destination::Peer(to), &Message::Finalized(chain));
            }
        }
        for (to, message) in &output.send {
            self.send(*to, message);
        }
        Ok(())
    }

    fn send(&self, to: Destination, message: &Message) {
        let frame = Arc::new(message.encode());
        match to {
            Destination::Peer(peer) => self.net.send(&peer, frame),
            Destination::AllPeers => {
                for peer in self
                    .core
                    .peers()
                    .iter()
                    .filter(|p| **p != self.core.peer_id())
                {
                    self.net.send(peer, frame.clone());
                }
            }
        }
    }

    fn on_frame(&mut self, from: PeerId, bytes: &[u8]) -> anyhow::Result<()> {
        match Message::decode(bytes) {
            Ok(message) => {
                if let Message::Vote(vote) = &message {
                    self.seen_votes.push(vote.clone());
                }
                self.observer.inbound(&message);
                self.handle(Input::Message { from, message })?;
            }
            Err(error) => tracing::warn!(peer = %from.short(), %error, "undecodable message"),
        }
        Ok(())
    }

    /// Writes the buffered received votes to the audit trail; a failure there is logged, not
    /// fatal: the trail is evidence for operators, not consensus state.
    fn flush_seen_votes(&mut self) {
        let votes = std::mem::take(&mut self.seen_votes);
        if let Err(error) = self.store.record_seen_votes(&votes) {
            tracing::warn!(%error, "cannot record received votes");
        }
    }

    fn next_timer(&self) -> Instant {
        let now = now_ms();
        let wait = self
            .timers
            .values()
            .min()
            .map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(at.saturating_sub(now))
            });
        Instant::now() + wait
    }

    fn fire_timers(&mut self) -> anyhow::Result<()> {
        let now = now_ms();
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(timer, _)| *timer)
            .collect();
        for timer in due {
            self.timers.remove(&timer);
            self.handle(Input::Timer(timer))?;
        }
        Ok(())
    }

    /// A connection that came up (again) is a reason to compare notes with that peer.
    fn check_connections(&mut self) -> anyhow::Result<()> {
        for state in self.net.peer_states() {
            let was = self
                .connected
                .insert(state.id, state.connected)
                .unwrap_or(false);
            if state.connected && !was {
                tracing::info!(peer = %state.id.short(), "connected");
                self.observer.peer_connected(state.id, true);
                self.handle(Input::PeerConnected(state.id))?;
            } else if was && !state.connected {
                tracing::info!(peer = %state.id.short(), "connection lost");
                self.observer.peer_connected(state.id, false);
            }
        }
        Ok(())
    }

    fn on_admin(&mut self, request: AdminRequest) -> anyhow::Result<AdminResponse> {
        Ok(match request {
            AdminRequest::Hello { version } => AdminResponse::Hello { version },
            AdminRequest::Status => AdminResponse::Status(self.status()),
            AdminRequest::Submit { data } => {
                let submit = Input::Submit {
                    module: ModuleId(0),
                    data,
                };
                let output = self.core.handle(now_ms(), submit);
                let federation = self.core.federation();
                let accepted = output.persist.iter().find_map(|d| match d {
                    Durable::OwnItem(item) => Some((item.id(&federation), item.nonce)),
                    _ => None,
                });
                self.apply(output)?;
                match accepted {
                    Some((item, nonce)) => AdminResponse::Submitted { item, nonce },
                    None => AdminResponse::Error(
                        "the item was refused: it is larger than a block may be".into(),
                    ),
                }
            }
            AdminRequest::Peers => AdminResponse::Peers(self.peers()),
            AdminRequest::Block { height } => {
                AdminResponse::Block(self.store.finalized_block(height)?.map(
                    |(block, certificate)| {
                        let peers = self.core.peers();
                        let signers = certificate
                            .as_ref()
                            .and_then(|c| c.signer_indices(peers.len()).ok())
                            .unwrap_or_default()
                            .into_iter()
                            .filter_map(|index| peers.get(index).copied())
                            .collect();
                        BlockDetail {
                            block,
                            certificate,
                            signers,
                        }
                    },
                ))
            }
            // The admin task serves subscriptions itself; a Subscribe never reaches the driver.
            AdminRequest::Subscribe => {
                AdminResponse::Error("subscribe on a connection of its own".into())
            }
            AdminRequest::Blocks { from, limit } => {
                let blocks = self
                    .store
                    .finalized_blocks(from, limit.min(ADMIN_BLOCKS_LIMIT) as usize)?
                    .into_iter()
                    .map(|(block, certificate)| FinalizedBlock { block, certificate })
                    .collect();
                AdminResponse::Blocks(blocks)
            }
        })
    }

    fn peers(&self) -> Vec<PeerInfo> {
        let me = self.core.peer_id();
        let states: HashMap<PeerId, crate::net::PeerState> = self
            .net
            .peer_states()
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        self.core
            .peers()
            .iter()
            .map(|id| {
                let state = states.get(id);
                let path = state.and_then(|s| s.path);
                PeerInfo {
                    id: *id,
                    name: self.names.get(id).cloned().unwrap_or_default(),
                    is_self: *id == me,
                    connected: *id == me || state.is_some_and(|s| s.connected),
                    path: path.map(|p| {
                        if p.relayed {
                            PeerPath::Relay
                        } else {
                            PeerPath::Direct
                        }
                    }),
                    rtt_us: path.map(|p| u64::try_from(p.rtt.as_micros()).unwrap_or(u64::MAX)),
                    last_vote_round: self.observer.last_vote(id),
                    dropped_frames: state.map_or(0, |s| s.dropped_frames),
                }
            })
            .collect()
    }

    fn status(&self) -> Status {
        let me = self.core.peer_id();
        let states: HashMap<PeerId, bool> = self
            .net
            .peer_states()
            .into_iter()
            .map(|s| (s.id, s.connected))
            .collect();
        Status {
            federation_id: self.core.federation(),
            federation_name: self.federation_name.clone(),
            peer_id: me,
            role: "voter".into(),
            round: self.core.round(),
            leader: self.core.leader(self.core.round()),
            finalized_height: self.core.finalized_height(),
            pending_items: self.core.pending_items() as u64,
            peers: self
                .core
                .peers()
                .iter()
                .map(|id| PeerStatus {
                    id: *id,
                    name: self.names.get(id).cloned().unwrap_or_default(),
                    connected: *id == me || states.get(id).copied().unwrap_or(false),
                })
                .collect(),
        }
    }
}
