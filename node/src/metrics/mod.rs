//! A node's Prometheus metrics (`bfte run --metrics ADDR`): what they are (here), how the
//! driver updates them (`recorder.rs`) and the HTTP endpoint that serves them (`server.rs`).
//!
//! Off by default: without `--metrics` no registry exists and the driver records nothing.
//! The metric handles are atomics shared with the registry, so the driver updates them
//! without waiting for a scrape, and a scrape reads them without waiting for the driver.
//! Figures the node keeps anyway (round, finalized height, peers' connections, the history
//! server's bytes) are sampled from the same places as `bfte status` four times a second;
//! the rest (latency, dummy rounds, missed votes, bytes of consensus traffic) are counted
//! as the driver sees messages and outputs.

mod recorder;
mod server;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bfte_shared::peer::PeerId;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use recorder::{MetricsRecorder, Sample};
pub use server::{MetricsError, serve};

/// Which peer a per-peer series is about: its name (as in the genesis file or its epoch) and
/// its id, since names are chosen by operators and need not be unique.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    pub peer: String,
    pub id: String,
}

impl PeerLabels {
    pub fn new(name: &str, id: &PeerId) -> PeerLabels {
        PeerLabels {
            peer: name.to_string(),
            id: id.to_string(),
        }
    }
}

/// Every metric a node exports, registered under the `bfte_` prefix.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    registry: Arc<Registry>,
    round: Gauge,
    finalized_height: Gauge,
    finality_latency: Histogram,
    finality_wait: Gauge<f64, AtomicU64>,
    dummy_rounds: Counter,
    notarized_blocks: Counter,
    finalized_blocks: Counter,
    finalized_items: Counter,
    missed_votes: Family<PeerLabels, Counter>,
    peer_connected: Family<PeerLabels, Gauge>,
    peer_rtt: Family<PeerLabels, Gauge<f64, AtomicU64>>,
    peer_send_queue: Family<PeerLabels, Gauge>,
    pending_items: Gauge,
    consensus_bytes_in: Counter,
    consensus_bytes_out: Counter,
    history_bytes_out: Counter,
    history_replicas: Gauge,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    pub fn new() -> NodeMetrics {
        let mut registry = Registry::with_prefix("bfte");
        // Proposal to finality takes 3 network delays when all goes well, and a few round
        // timeouts when leaders fail: 25 ms to about 100 s, doubling.
        let finality_latency = Histogram::new(exponential_buckets(0.025, 2.0, 13));
        let round = Default::default();
        registry.register(
            "round",
            "The round this node's consensus is in",
            Clone::clone(&round),
        );
        let finalized_height = Default::default();
        registry.register(
            "finalized_height",
            "Height of the highest finalized block",
            Clone::clone(&finalized_height),
        );
        registry.register(
            "finality_latency_seconds",
            "From the moment this node saw a block's proposal to the moment it saw the block \
             final",
            Clone::clone(&finality_latency),
        );
        let finality_wait = Default::default();
        registry.register(
            "finality_wait_seconds",
            "How long work (pending items, or rounds above the finalized tip) has waited \
             without a finalized block; 0 when idle (the figure behind `bfte status`'s stall \
             exit code)",
            Clone::clone(&finality_wait),
        );
        let dummy_rounds = Default::default();
        registry.register(
            "dummy_rounds",
            "Rounds that ended with a dummy certificate (no block) seen by this node",
            Clone::clone(&dummy_rounds),
        );
        let notarized_blocks = Default::default();
        registry.register(
            "notarized_blocks",
            "Rounds that ended with a notarized block seen by this node",
            Clone::clone(&notarized_blocks),
        );
        let finalized_blocks = Default::default();
        registry.register(
            "finalized_blocks",
            "Blocks this node saw finalized",
            Clone::clone(&finalized_blocks),
        );
        let finalized_items = Default::default();
        registry.register(
            "finalized_items",
            "Items in the blocks this node saw finalized",
            Clone::clone(&finalized_items),
        );
        let missed_votes = Default::default();
        registry.register(
            "missed_votes",
            "Rounds this node left before any vote of the peer for that round had arrived",
            Clone::clone(&missed_votes),
        );
        let peer_connected = Default::default();
        registry.register(
            "peer_connected",
            "1 while this node's connection to the peer is up (this node itself counts as \
             connected), 0 otherwise",
            Clone::clone(&peer_connected),
        );
        let peer_rtt = Default::default();
        registry.register(
            "peer_rtt_seconds",
            "Round-trip time of the path to the peer, while connected",
            Clone::clone(&peer_rtt),
        );
        let peer_send_queue = Default::default();
        registry.register(
            "peer_send_queue_frames",
            "Frames queued for the peer and not yet written to its stream",
            Clone::clone(&peer_send_queue),
        );
        let pending_items = Default::default();
        registry.register(
            "pending_items",
            "Items this node holds that are not final yet",
            Clone::clone(&pending_items),
        );
        let consensus_bytes_in = Default::default();
        registry.register(
            "consensus_bytes_received",
            "Bytes of consensus messages received from peers",
            Clone::clone(&consensus_bytes_in),
        );
        let consensus_bytes_out = Default::default();
        registry.register(
            "consensus_bytes_sent",
            "Bytes of consensus messages handed to the network for peers (one copy per peer)",
            Clone::clone(&consensus_bytes_out),
        );
        let history_bytes_out = Default::default();
        registry.register(
            "history_bytes_served",
            "Bytes of finalized history (blocks and segment blobs) served to replicas and \
             peers catching up",
            Clone::clone(&history_bytes_out),
        );
        let history_replicas = Default::default();
        registry.register(
            "history_replicas",
            "Replicas fetching or following the finalized history from this node now",
            Clone::clone(&history_replicas),
        );
        NodeMetrics {
            registry: Arc::new(registry),
            round,
            finalized_height,
            finality_latency,
            finality_wait,
            dummy_rounds,
            notarized_blocks,
            finalized_blocks,
            finalized_items,
            missed_votes,
            peer_connected,
            peer_rtt,
            peer_send_queue,
            pending_items,
            consensus_bytes_in,
            consensus_bytes_out,
            history_bytes_out,
            history_replicas,
        }
    }

    /// The metrics in the text exposition format (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
