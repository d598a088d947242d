//! The consensus transport: one iroh endpoint per node, carrying consensus messages between the
//! peers of the federation.
//!
//! # Identity
//!
//! The endpoint's secret key is the peer's 32-byte seed, so its iroh `EndpointId` is the same
//! ed25519 public key as its [`PeerId`]. iroh's TLS handshake proves the remote holds that key,
//! so an inbound frame's `from` is authenticated and the node need not sign the transport.
//!
//! # Connection model
//!
//! - Each direction is its own connection. For every peer in the set given to
//!   [`Net::set_peers`] a *link* dials the peer (its known direct addresses, plus relays and
//!   address lookup when those are configured) and keeps one connection with one long-lived
//!   unidirectional stream per [`Lane`], writing each lane's frames onto its stream in queue
//!   order. The peer does the same towards us, so between two peers there are two connections,
//!   one per direction.
//! - **Lanes**: consensus messages (proposals, votes, certificates, catch-up) and item gossip
//!   travel apart, each with its own send queue, stream and inbound channel. The consensus
//!   stream has the higher QUIC priority and the driver takes consensus frames first (but
//!   never so many in a row that gossip starves), so megabytes of gossiped items waiting for a
//!   slow peer never hold up a vote. Order holds
//!   within a lane, not across lanes: no message depends on one of the other lane.
//! - On any failure the link redials with exponential backoff (50 ms doubling to 5 s, back to
//!   50 ms once a connection stayed up for a second). Keep-alives every second and a 5 s idle
//!   timeout notice a silent peer; a peer that restarted notices sooner because its new dial
//!   reaches us, and a link whose connection is older than a few seconds then redials at once.
//! - Inbound connections are accepted on ALPN [`ALPN`] only from peers in the set (closed
//!   otherwise, also when a connected peer is later removed). Their streams are read frame by
//!   frame into one bounded channel of [`Inbound`] per lane ([`InboundFrames`]) that the
//!   node's driver consumes.
//! - Join requests from nodes that are not peers yet come in on a second ALPN,
//!   [`JOIN_ALPN`], from anyone ([`join`]); the driver answers them.
//! - A peer that refuses us (during a membership change it may not know us yet) closes the
//!   connection before reading anything, with its own close code; the frames written on that
//!   connection are then written again on the next one, so they are not lost and never
//!   delivered twice.
//!
//! # Framing
//!
//! A stream starts with one byte, its lane's tag ([`Lane::tag`]). Then each frame is a u32
//! big-endian length and that many bytes of one encoded [`bfte_shared::message::Message`], at
//! most [`MAX_MESSAGE_BYTES`]. Frames are delivered as raw bytes: decoding (and rejecting) them
//! is the driver's job. An unknown lane tag, an oversized length or a stream that ends inside a
//! frame is a protocol violation: that connection is closed with an error logged, and no other
//! peer notices.
//!
//! # Why sending never blocks
//!
//! The consensus core is a pure state machine driven by one loop; if that loop waited on the
//! network, one slow or dead peer would stall consensus for everyone. So [`Net::send`] only
//! `try_send`s into the peer's bounded queue and returns. When a peer cannot keep up (or is
//! down) its queue fills and further frames to it are dropped and counted in
//! [`PeerState::dropped_frames`]. Dropping is safe: the core resends its votes while finality is
//! stuck and peers pull what they missed, so the network only has to be eventually reliable.
//! Inbound, the readers await room in the bounded channel instead: while the driver is behind,
//! each peer's reader waits its turn for a slot (tokio serves waiting senders in order, so a
//! flooding peer gets its share and no more), and QUIC flow control pushes the wait back to the
//! senders, whose queues then drop. The driver never waits on the network.
//!
//! # Stopping
//!
//! [`Net::shutdown`] closes every connection and the endpoint gracefully, so peers see the close
//! at once. Dropping a [`Net`] instead aborts its tasks without telling anyone, like a crash:
//! peers find out by the idle timeout or when this node comes back and dials them.

mod dialer;
#[cfg(feature = "chaos")]
pub mod faults;
pub mod frame;
mod inbound;
pub mod join;
mod lanes;
mod link;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bfte_shared::join::{Invite, JOIN_ALPN};
use bfte_shared::message::MAX_MESSAGE_BYTES;
use bfte_shared::peer::{PeerId, PeerSecret};
use iroh::endpoint::{IdleTimeout, QuicTransportConfig, VarInt, presets};
use iroh::protocol::Router;
use iroh::tls::CaTlsConfig;
use iroh::{Endpoint, EndpointId, NetReportConfig, RelayMode, SecretKey};
use tokio::sync::mpsc;

pub use iroh::RelayUrl;

pub use self::dialer::Dialer;
use self::inbound::InboundHandler;
use self::join::{JOIN_QUEUE, JoinCall, JoinHandler};
pub use self::lanes::{InboundFrames, Lane};
use self::link::Link;
pub use self::link::PathInfo;
use crate::replica::{HISTORY_ALPN, HistoryServer, HistorySource, Served};

/// The ALPN of the consensus protocol; the version changes when the framing or the messages
/// do (2: items carry batches of entries; 3: a stream per lane, starting with its tag), so a
/// node of another version never connects.
pub const ALPN: &[u8] = b"bfte/consensus/3";
/// Consensus frames received from all peers waiting for the driver.
pub const INBOUND_CAPACITY: usize = 4096;
/// Item gossip frames received from all peers waiting for the driver: fewer, since one can hold
/// megabytes of items.
pub const INBOUND_ITEMS_CAPACITY: usize = 256;
/// Frames waiting to be written to one peer, per lane; beyond that `send` drops.
pub const PEER_QUEUE_CAPACITY: usize = 1024;

/// A frame as the driver hands it over: shared, because the same bytes usually go to every peer.
pub type Frame = Arc<Vec<u8>>;

const KEEP_ALIVE: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT_MS: u32 = 5_000;

// Application close codes, so the remote's logs say why a connection ended.
const CLOSE_SHUTDOWN: VarInt = VarInt::from_u32(0);
/// Refused at accept, before reading anything: the dialer may send those frames again.
const CLOSE_NOT_A_PEER: VarInt = VarInt::from_u32(1);
const CLOSE_FRAME_TOO_LARGE: VarInt = VarInt::from_u32(2);
const CLOSE_TRUNCATED_FRAME: VarInt = VarInt::from_u32(3);
const CLOSE_STREAM_FAILED: VarInt = VarInt::from_u32(4);
const CLOSE_REDIAL: VarInt = VarInt::from_u32(5);
/// Accepted earlier, removed from the set since: frames may have been read.
const CLOSE_REMOVED: VarInt = VarInt::from_u32(6);
/// A stream began with a tag that names no [`Lane`].
const CLOSE_UNKNOWN_LANE: VarInt = VarInt::from_u32(7);

/// How the endpoint reaches peers it has no direct path to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayChoice {
    /// Direct addresses only, no relay, no address lookup, no probes: fully offline. For tests
    /// and the local demo.
    Disabled,
    /// n0's production relays, DNS address lookup and hole punching: for real deployments.
    Default,
    /// One relay of our own (`bfte relay`): every node of the federation uses it, so peers are
    /// dialed through it by id (see [`Dialer`]).
    Custom(RelayUrl),
}

impl RelayChoice {
    /// What to use when the user chose `chosen`: that if given, else the relay the invite
    /// names, else `fallback`.
    pub fn or_invite(
        chosen: Option<RelayChoice>,
        invite: &Invite,
        fallback: RelayChoice,
    ) -> Result<RelayChoice, NetError> {
        if let Some(chosen) = chosen {
            return Ok(chosen);
        }
        let Some(relay) = &invite.relay else {
            return Ok(fallback);
        };
        relay
            .parse()
            .map(RelayChoice::Custom)
            .map_err(|error: iroh::RelayUrlParseError| NetError::InviteRelay {
                url: relay.clone(),
                reason: error.to_string(),
            })
    }

    /// The relay of our own, if that is the choice.
    pub fn custom(&self) -> Option<&RelayUrl> {
        match self {
            RelayChoice::Custom(url) => Some(url),
            RelayChoice::Disabled | RelayChoice::Default => None,
        }
    }
}

/// Where and how the endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// The one UDP socket the endpoint binds; port 0 picks a free port.
    pub bind: SocketAddr,
    pub relay: RelayChoice,
}

impl NetConfig {
    /// Loopback only, relay disabled: tests and the local demo.
    pub fn loopback(port: u16) -> NetConfig {
        NetConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            relay: RelayChoice::Disabled,
        }
    }
}

/// One frame from a peer: `from` is authenticated by the connection's handshake, `bytes` are
/// not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub from: PeerId,
    pub bytes: Vec<u8>,
}

/// The outbound side of one peer, for status screens and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    pub id: PeerId,
    /// Our connection to the peer is up now.
    pub connected: bool,
    /// Frames `send` dropped because the peer's queue was full (or the frame too large).
    pub dropped_frames: u64,
    /// The path our connection uses now (direct or relayed) and its round-trip time.
    pub path: Option<PathInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "could not bind {addr}: {reason} (is another node using that port? choose another \
         address in the node's configuration)"
    )]
    Bind { addr: SocketAddr, reason: String },
    #[error("could not configure the endpoint for {addr}: {reason}")]
    Config { addr: SocketAddr, reason: String },
    #[error("iroh derived endpoint id {endpoint} from the seed of peer {peer}; they must be equal")]
    IdMismatch { peer: PeerId, endpoint: EndpointId },
    #[error("the network must be started inside a tokio runtime")]
    NoRuntime,
    #[error("the invite's relay `{url}` is not a usable URL ({reason}); ask for a new invite")]
    InviteRelay { url: String, reason: String },
}

/// The iroh endpoint id of a peer: the same key. Fails for bytes that are not an ed25519 key.
pub fn endpoint_id(peer: &PeerId) -> Result<EndpointId, iroh::KeyParsingError> {
    EndpointId::from_bytes(peer.as_bytes())
}

/// The peer id of an iroh endpoint: the same key.
pub fn peer_id(endpoint: &EndpointId) -> PeerId {
    PeerId(*endpoint.as_bytes())
}

/// The allowed peers and their links, shared by `Net` and the inbound handler.
#[derive(Debug)]
struct Peers {
    links: RwLock<HashMap<PeerId, Link>>,
}

impl Peers {
    fn links(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PeerId, Link>> {
        self.links.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn links_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PeerId, Link>> {
        self.links.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn allows(&self, peer: &PeerId) -> bool {
        self.links().contains_key(peer)
    }

    fn peer_connected_to_us(&self, peer: &PeerId) {
        if let Some(link) = self.links().get(peer) {
            link.peer_connected_to_us();
        }
    }
}

/// The node's consensus transport. See the module docs.
#[derive(Debug)]
pub struct Net {
    me: PeerId,
    endpoint: Endpoint,
    /// The federation's own relay, named when dialing peers.
    relay: Option<RelayUrl>,
    router: Router,
    peers: Arc<Peers>,
    runtime: tokio::runtime::Handle,
    served: Served,
}

impl Net {
    /// Binds the endpoint and starts accepting; no peer is allowed until [`Net::set_peers`].
    /// Returns the inbound frames, which the driver must keep draining, and the
    /// channel of join requests ([`join`]), which it must answer.
    pub async fn bind(
        secret: &PeerSecret,
        config: NetConfig,
    ) -> Result<(Net, InboundFrames, mpsc::Receiver<JoinCall>), NetError> {
        Net::bind_serving(secret, config, None).await
    }

    /// [`Net::bind`], also serving finalized history to anyone on [`HISTORY_ALPN`] and its
    /// segment blobs on iroh-blobs' ALPN.
    pub async fn bind_serving(
        secret: &PeerSecret,
        config: NetConfig,
        history: Option<&HistorySource>,
    ) -> Result<(Net, InboundFrames, mpsc::Receiver<JoinCall>), NetError> {
        Bound::bind(secret, config).await?.serve(history)
    }
}

/// An endpoint bound that accepts nothing yet: it dials out first (a replica fetching the
/// genesis it needs before it can serve), then serves on the same endpoint, so the peers it
/// reached see one node, not two endpoints of one key in turn.
#[derive(Debug)]
pub struct Bound {
    me: PeerId,
    endpoint: Endpoint,
    config: NetConfig,
}

impl Bound {
    pub async fn bind(secret: &PeerSecret, config: NetConfig) -> Result<Bound, NetError> {
        Ok(Bound {
            me: secret.peer_id(),
            endpoint: bind_endpoint(secret, &config).await?,
            config,
        })
    }

    /// Dials through the endpoint, naming our relay.
    pub fn dialer(&self) -> Dialer {
        Dialer::new(self.endpoint.clone(), self.config.relay.custom().cloned())
    }

    /// Starts accepting, as [`Net::bind_serving`].
    pub fn serve(
        self,
        history: Option<&HistorySource>,
    ) -> Result<(Net, InboundFrames, mpsc::Receiver<JoinCall>), NetError> {
        let Bound {
            me,
            endpoint,
            config,
        } = self;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let peers = Arc::new(Peers {
            links: RwLock::new(HashMap::new()),
        });
        let (consensus, consensus_rx) = mpsc::channel(INBOUND_CAPACITY);
        let (items, items_rx) = mpsc::channel(INBOUND_ITEMS_CAPACITY);
        let handler = InboundHandler {
            peers: peers.clone(),
            lanes: [consensus, items],
        };
        let inbound = InboundFrames::new(consensus_rx, items_rx);
        let (joins, joins_rx) = mpsc::channel(JOIN_QUEUE);
        let mut router = Router::builder(endpoint.clone())
            .accept(ALPN, handler)
            .accept(JOIN_ALPN, JoinHandler { calls: joins });
        let served = Served::default();
        if let Some(history) = history {
            router = router
                .accept(
                    HISTORY_ALPN,
                    HistoryServer::new(history.clone(), served.clone()),
                )
                .accept(iroh_blobs::ALPN, history.blobs.protocol(served.clone()));
        }
        let router = router.spawn();
        tracing::info!(
            peer = %me.short(),
            addrs = ?endpoint.bound_sockets(),
            relay = ?config.relay,
            "consensus endpoint bound"
        );
        let net = Net {
            me,
            endpoint,
            relay: config.relay.custom().cloned(),
            router,
            peers,
            runtime,
            served,
        };
        Ok((net, inbound, joins_rx))
    }
}

impl Net {
    pub fn peer_id(&self) -> PeerId {
        self.me
    }

    /// Whom this node serves its history to now (empty when it serves none).
    pub fn served(&self) -> &Served {
        &self.served
    }

    /// Dials peers through this endpoint, naming our relay: for other protocols (a replica's
    /// sources).
    pub fn dialer(&self) -> Dialer {
        Dialer::new(self.endpoint.clone(), self.relay.clone())
    }

    /// The federation's own relay this node uses (`--relay URL`), which its invites name.
    pub fn custom_relay(&self) -> Option<&RelayUrl> {
        self.relay.as_ref()
    }

    /// The bound UDP sockets: what other peers dial (for example from a genesis file).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.endpoint.bound_sockets()
    }

    /// Replaces the peer set. New peers get a link, removed ones lose theirs (and their inbound
    /// connections), and known peers keep their link and queue and use the new addresses from
    /// the next dial on. Our own id is ignored. Never blocks on the network.
    pub fn set_peers(&self, peers: Vec<(PeerId, Vec<SocketAddr>)>) {
        let wanted: HashMap<PeerId, Vec<SocketAddr>> =
            peers.into_iter().filter(|(id, _)| *id != self.me).collect();
        let mut links = self.peers.links_mut();
        links.retain(|id, _| wanted.contains_key(id));
        for (peer, addrs) in wanted {
            if let Some(link) = links.get(&peer) {
                link.set_addrs(addrs);
                continue;
            }
            let id = match endpoint_id(&peer) {
                Ok(id) => id,
                Err(error) => {
                    tracing::error!(%peer, %error, "left out of the peer set: not an ed25519 key");
                    continue;
                }
            };
            let link = Link::spawn(
                &self.runtime,
                self.dialer(),
                peer,
                id,
                addrs,
                PEER_QUEUE_CAPACITY,
            );
            links.insert(peer, link);
        }
    }

    /// Queues a frame for a peer on `lane` and returns at once. A full queue drops the frame
    /// and counts it; so does a frame above [`MAX_MESSAGE_BYTES`], which the peer would refuse.
    /// Frames to ids outside the set (including our own) are ignored.
    pub fn send(&self, to: &PeerId, lane: Lane, frame: Frame) {
        let links = self.peers.links();
        let Some(link) = links.get(to) else {
            tracing::debug!(peer = %to.short(), "frame for a peer outside the set ignored");
            return;
        };
        if frame.len() > MAX_MESSAGE_BYTES {
            tracing::error!(
                peer = %to.short(),
                len = frame.len(),
                "frame above the message size limit dropped"
            );
            link.count_drop();
            return;
        }
        if !link.push(lane, frame) {
            tracing::trace!(peer = %to.short(), "queue full: frame dropped");
        }
    }

    /// The outbound state of every peer in the set, ordered by id.
    pub fn peer_states(&self) -> Vec<PeerState> {
        let links = self.peers.links();
        let mut states: Vec<PeerState> = links
            .iter()
            .map(|(id, link)| PeerState {
                id: *id,
                connected: link.status().connected(),
                dropped_frames: link.status().dropped_frames(),
                path: link.status().path(),
            })
            .collect();
        states.sort_by_key(|state| state.id);
        states
    }

    /// How many frames wait in each peer's send queue (for the metrics).
    pub fn queued_frames(&self) -> Vec<(PeerId, usize)> {
        let links = self.peers.links();
        links
            .iter()
            .map(|(id, link)| (*id, link.queue_len()))
            .collect()
    }

    /// Closes every connection and the endpoint, telling peers; frames still queued are lost.
    pub async fn shutdown(self) {
        self.peers.links_mut().clear();
        if let Err(error) = self.router.shutdown().await {
            tracing::warn!(peer = %self.me.short(), %error, "consensus endpoint shut down uncleanly");
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Links hold endpoint clones; without them the socket is freed once the router stops.
        self.peers.links_mut().clear();
    }
}

/// Binds an endpoint whose key is the peer's seed, as `config` says: the node's, or the
/// temporary one of a joining node ([`join::Joiner`]).
pub(crate) async fn bind_endpoint(
    secret: &PeerSecret,
    config: &NetConfig,
) -> Result<Endpoint, NetError> {
    let me = secret.peer_id();
    let addr = config.bind;
    let transport = QuicTransportConfig::builder()
        .keep_alive_interval(KEEP_ALIVE)
        .max_idle_timeout(Some(IdleTimeout::from(VarInt::from_u32(IDLE_TIMEOUT_MS))))
        .build();
    let builder = match &config.relay {
        RelayChoice::Disabled => Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .net_report_config(NetReportConfig::minimal()),
        RelayChoice::Default => Endpoint::builder(presets::N0),
        // A federation's relay is checked against the machine's trust store (SSL_CERT_FILE
        // included), so one with a certificate from a private CA serves QUIC address discovery.
        RelayChoice::Custom(url) => Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::custom([url.clone()]))
            .ca_tls_config(CaTlsConfig::system()),
    };
    let endpoint = builder
        .secret_key(SecretKey::from_bytes(&secret.seed()))
        .transport_config(transport)
        .clear_ip_transports()
        .bind_addr(addr)
        .map_err(|error| NetError::Config {
            addr,
            reason: error_chain(&error),
        })?
        .bind()
        .await
        .map_err(|error| NetError::Bind {
            addr,
            reason: error_chain(&error),
        })?;
    if endpoint.id().as_bytes() != me.as_bytes() {
        let endpoint_id = endpoint.id();
        endpoint.close().await;
        return Err(NetError::IdMismatch {
            peer: me,
            endpoint: endpoint_id,
        });
    }
    Ok(endpoint)
}

/// An error and its sources on one line: iroh's top-level messages alone say little ("Failed to
/// bind sockets").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
