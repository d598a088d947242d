//! The driver's side of the metrics: it counts what passes through the driver (messages,
//! outputs, bytes) and samples what the node keeps anyway. Everything here is quick and never
//! waits: a metric handle is an atomic, and a per-peer series takes a short lock the first
//! time it appears.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use bfte_consensus::{Core, Durable, Output};
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::VoteKind;

use super::{NodeMetrics, PeerLabels};
use crate::daemon::events::Observer;
use crate::net::PeerState;

/// Rounds below the current one whose proposals and certificates are remembered, so that a
/// resent message is not counted again; a proposal older than that never finalized.
const RECENT_ROUNDS: u64 = 64;

/// What the node keeps anyway, read where `bfte status` reads it.
#[derive(Debug)]
pub struct Sample<'a> {
    pub core: &'a Core,
    pub names: &'a HashMap<PeerId, String>,
    pub states: &'a [PeerState],
    pub queued_frames: &'a [(PeerId, usize)],
    pub history_bytes_out: u64,
    pub history_replicas: usize,
    pub finality_wait_ms: u64,
}

/// Updates [`NodeMetrics`] from the driver.
#[derive(Debug)]
pub struct MetricsRecorder {
    metrics: NodeMetrics,
    round: Round,
    /// When this node first saw each recent proposal, by block hash, with its round.
    proposals: HashMap<Hash, (Round, Instant)>,
    /// (round, is_dummy) of recent certificates already counted.
    certificates: BTreeSet<(Round, bool)>,
    /// The history server's byte count at the last sample; the counter grows by the change.
    history_bytes_out: u64,
}

impl MetricsRecorder {
    pub fn new(metrics: NodeMetrics) -> MetricsRecorder {
        MetricsRecorder {
            metrics,
            round: Round::default(),
            proposals: HashMap::new(),
            certificates: BTreeSet::new(),
            history_bytes_out: 0,
        }
    }

    /// A frame from a peer: its size, and the message if it decoded.
    pub fn inbound(&mut self, bytes: usize, message: Option<&Message>) {
        self.metrics.consensus_bytes_in.inc_by(bytes as u64);
        if let Some(message) = message {
            self.message(message);
        }
    }

    /// A frame of `bytes` handed to the network for each of `peers` peers.
    pub fn sent(&self, bytes: usize, peers: usize) {
        self.metrics
            .consensus_bytes_out
            .inc_by((bytes as u64).saturating_mul(peers as u64));
    }

    /// A committed core output, after which the core is in `round`. `observer` has seen the
    /// output's votes and the messages before it, so it knows which peers voted in the round
    /// this node leaves now.
    pub fn committed(
        &mut self,
        output: &Output,
        round: Round,
        core: &Core,
        names: &HashMap<PeerId, String>,
        observer: &Observer,
    ) {
        for (_, message) in &output.send {
            self.message(message);
        }
        for durable in &output.persist {
            if let Durable::Certificate(certificate) = durable {
                self.certificate(certificate);
            }
        }
        for finalized in &output.finalized {
            for block in &finalized.blocks {
                self.metrics.finalized_blocks.inc();
                self.metrics
                    .finalized_items
                    .inc_by(block.payload.items.len() as u64);
                if let Some((_, seen)) = self.proposals.remove(&block.hash()) {
                    self.metrics
                        .finality_latency
                        .observe(seen.elapsed().as_secs_f64());
                }
            }
        }
        if round > self.round {
            // A node that starts (or restarts) enters its first round without leaving one.
            if self.round != Round::default() {
                self.count_missed_votes(self.round, core, names, observer);
            }
            self.round = round;
            self.forget_old_rounds();
        }
    }

    /// Sets the sampled figures; called a few times a second.
    pub fn sample(&mut self, sample: &Sample<'_>) {
        let core = sample.core;
        let m = &self.metrics;
        m.round.set(gauge(core.round().0));
        m.finalized_height.set(gauge(core.finalized_height().0));
        m.pending_items.set(gauge(core.pending_items() as u64));
        m.finality_wait.set(sample.finality_wait_ms as f64 / 1000.0);
        m.history_replicas
            .set(gauge(sample.history_replicas as u64));
        m.history_bytes_out.inc_by(
            sample
                .history_bytes_out
                .saturating_sub(self.history_bytes_out),
        );
        self.history_bytes_out = sample.history_bytes_out;
        let labels =
            |id: &PeerId| PeerLabels::new(sample.names.get(id).map_or("", String::as_str), id);
        let me = core.peer_id();
        m.peer_connected.get_or_create(&labels(&me)).set(1);
        for state in sample.states {
            let peer = labels(&state.id);
            m.peer_connected
                .get_or_create(&peer)
                .set(i64::from(state.connected));
            match state.path.as_ref().filter(|_| state.connected) {
                Some(path) => {
                    m.peer_rtt
                        .get_or_create(&peer)
                        .set(path.rtt_us() as f64 / 1e6);
                }
                None => {
                    m.peer_rtt.remove(&peer);
                }
            }
        }
        for (id, queued) in sample.queued_frames {
            m.peer_send_queue
                .get_or_create(&labels(id))
                .set(gauge(*queued as u64));
        }
    }

    /// Times proposals from when this node first saw them; certificates are counted when
    /// recorded (`certificate`).
    fn message(&mut self, message: &Message) {
        if let Message::Proposal(proposal) = message {
            let round = proposal.block.header.round;
            if self.is_recent(round) {
                self.proposals
                    .entry(proposal.block.hash())
                    .or_insert((round, Instant::now()));
            }
        }
    }

    /// A certificate the core recorded, formed from votes or received and verified.
    fn certificate(&mut self, certificate: &Certificate) {
        let dummy = match certificate.kind {
            VoteKind::Notarize(_) => false,
            VoteKind::Dummy => true,
            VoteKind::Finalize(_) => return,
        };
        if self.is_recent(certificate.round) && self.certificates.insert((certificate.round, dummy))
        {
            if dummy {
                self.metrics.dummy_rounds.inc();
            } else {
                self.metrics.notarized_blocks.inc();
            }
        }
    }

    /// Each peer in force (but this node) whose vote for `left` had not arrived counts one
    /// missed vote; every other peer's count is there too, at zero until it misses one.
    fn count_missed_votes(
        &self,
        left: Round,
        core: &Core,
        names: &HashMap<PeerId, String>,
        observer: &Observer,
    ) {
        let me = core.peer_id();
        for id in core.peers().iter().filter(|id| **id != me) {
            let name = names.get(id).map_or("", String::as_str);
            let missed = self
                .metrics
                .missed_votes
                .get_or_create(&PeerLabels::new(name, id));
            if observer.last_vote(id).is_none_or(|voted| voted < left) {
                missed.inc();
            }
        }
    }

    fn is_recent(&self, round: Round) -> bool {
        round.0 + RECENT_ROUNDS > self.round.0
    }

    fn forget_old_rounds(&mut self) {
        let oldest = Round(self.round.0.saturating_sub(RECENT_ROUNDS));
        self.certificates = self.certificates.split_off(&(oldest, false));
        self.proposals.retain(|_, (round, _)| *round >= oldest);
    }
}

/// A count as a gauge's value (gauges are signed).
fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
