//! What the node reports about itself: status, peers and finalized blocks.

use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::certificate::Certificate;
use crate::federation::FederationId;
use crate::peer::PeerId;
use crate::round::{Height, Round};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub federation_id: FederationId,
    pub federation_name: String,
    pub peer_id: PeerId,
    pub role: String,
    pub round: Round,
    pub leader: PeerId,
    pub finalized_height: Height,
    pub pending_items: u64,
    /// How long this node has had work waiting (items, or rounds above the finalized tip's)
    /// without finalizing a block, in milliseconds; 0 while idle or keeping up.
    pub finality_wait_ms: u64,
    /// Votes a certificate needs in the epoch in force (n - f).
    pub quorum: u32,
    pub peers: Vec<PeerStatus>,
    /// Where a replica stands against its sources; `None` on a peer.
    pub replication: Option<Replication>,
    /// Who this node serves its finalized history to now (replicas, or anyone asking), oldest
    /// connection first.
    pub serving: Vec<ServedReplica>,
    /// Bytes of history served to everyone since the node started.
    pub bytes_out: u64,
}

/// A replica's view of the history it follows (`bfte replicate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replication {
    /// The source it fetches from now, if one answered.
    pub source: Option<String>,
    /// The newest finalized height the sources hold, as far as the replica knows.
    pub target_height: Height,
    /// Caught up: new blocks are pushed to it as they are finalized.
    pub following: bool,
    /// Bytes of history received since the replica started.
    pub bytes_in: u64,
    /// Bytes of history it served to other replicas since it started (as `Status::bytes_out`).
    pub bytes_out: u64,
    /// Milliseconds between its tip block's timestamp and now.
    pub lag_ms: u64,
    /// How the connection to the source travels now: relayed, or direct once hole punched.
    #[serde(default)]
    pub source_path: Option<PeerPath>,
}

impl Replication {
    /// Heights between the replica's tip and its sources' newest.
    pub fn lag_heights(&self, tip: Height) -> u64 {
        self.target_height.0.saturating_sub(tip.0)
    }
}

/// One asker this node serves its history to (`bfte replicate` on another machine, usually),
/// while it holds a connection open to the history or blob protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedReplica {
    pub peer_id: PeerId,
    /// The remote address of the connection's selected path (`ip:ADDR` or `relay:URL`).
    pub remote: Option<String>,
    /// How the connection travels; `None` before iroh selected a path.
    pub path: Option<PeerPath>,
    pub rtt_us: Option<u64>,
    /// It holds a `Follow` stream open: new blocks are pushed to it as they finalize. Otherwise
    /// it is catching up (or only asked for the index).
    pub following: bool,
    /// The highest height it asked from or was sent.
    pub height: Height,
    /// Bytes written to it: history answers, pushed chains and segment blobs.
    pub bytes_out: u64,
    /// Wall-clock milliseconds when its oldest open connection came up.
    pub since_ms: u64,
}

/// Waiting this long for finality with work pending counts as a stall: `bfte status` exits
/// non-zero and the console raises its alert.
pub const FINALITY_STALL_MS: u64 = 10_000;

impl Status {
    pub fn stalled(&self) -> bool {
        self.finality_wait_ms >= FINALITY_STALL_MS
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub id: PeerId,
    pub name: String,
    pub connected: bool,
    /// This node saw a vote signed by the peer in the current round, or one in the round
    /// before within the last few seconds (this node itself: it is a voter).
    pub voting: bool,
    /// Milliseconds since the last message this node received from the peer; `None` if none
    /// came since the node started (and for this node itself).
    pub silent_ms: Option<u64>,
}

impl Status {
    /// The members whose votes this node sees now.
    pub fn voting(&self) -> usize {
        self.peers.iter().filter(|p| p.voting).count()
    }

    /// Whether enough members vote for a certificate to form.
    pub fn has_quorum(&self) -> bool {
        self.voting() >= self.quorum as usize
    }
}

/// One peer of the federation as this node sees it (`AdminRequest::Peers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub id: PeerId,
    pub name: String,
    /// This node itself: always "connected", no path.
    pub is_self: bool,
    /// Our connection to the peer is up.
    pub connected: bool,
    /// How that connection travels; `None` while it is down.
    pub path: Option<PeerPath>,
    /// Round-trip time of the connection's selected path, in microseconds.
    pub rtt_us: Option<u64>,
    /// The highest round in which we saw a vote signed by the peer (since the node started).
    pub last_vote_round: Option<Round>,
    /// Frames to this peer dropped because its queue was full.
    pub dropped_frames: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerPath {
    /// Straight to the peer's address (hole punched or reachable).
    Direct,
    /// Through a relay server.
    Relay,
}

impl PeerPath {
    pub fn as_str(self) -> &'static str {
        match self {
            PeerPath::Direct => "direct",
            PeerPath::Relay => "relay",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedBlock {
    pub block: Block,
    /// The block's own finalization certificate; blocks finalized as an ancestor of a later
    /// block have none of their own.
    pub certificate: Option<Certificate>,
}

/// One finalized block as `AdminRequest::Block` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDetail {
    pub block: Block,
    pub certificate: Option<Certificate>,
    /// The certificate's signers, resolved against the peer set that signed it.
    pub signers: Vec<PeerId>,
}
