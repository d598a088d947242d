//! The daemon's side of the driver step (`crate::driver::Step`): the iroh network, the clock,
//! the admin events and the received-votes audit trail. Inputs come in batches from the loop
//! in `node.rs`; the step commits each batch in one transaction before anything of it leaves.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bfte_shared::admin::AdminResponse;
use bfte_shared::message::Message;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::Vote;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::admin_calls::Shape;
use super::clock::NodeClock;
use super::epochs::dial_list;
use super::events::Observer;
use super::finality::FinalityWatch;
use super::joins::close_admitted_joins;
use crate::driver::{Flow, Host, Step, Submissions};
use crate::ledger::{CatchUp, Ledger};
use crate::metrics::{MetricsRecorder, Sample};
use crate::net::{Lane, Net};
use crate::store::Store;
use bfte_consensus::{Core, Input, Now, Output};

/// Most finalized blocks one answer to a peer's pull carries.
pub(super) const SERVE_LIMIT: usize = 256;

pub(super) struct Driver {
    pub(super) step: Step<Arc<Store>, Ledger>,
    pub(super) host: NodeHost,
    pub(super) federation_name: String,
    /// Votes received since the last flush to the store's audit trail.
    pub(super) seen_votes: Vec<Vote>,
    /// Admin answers that wait for this batch's commit.
    pub(super) replies: Vec<(oneshot::Sender<AdminResponse>, AdminResponse)>,
    /// Submissions waiting to be signed together, and since when the first of them waits.
    pub(super) submissions: Submissions<(oneshot::Sender<AdminResponse>, Shape)>,
    pub(super) submitted_at: Option<Instant>,
}

/// Longest a submission waits for a batch with an own notarize vote (`signs_submissions_now`).
const SUBMISSION_WAIT: Duration = Duration::from_millis(2);

/// What the step reaches the world through in the node process.
pub(super) struct NodeHost {
    pub(super) net: Net,
    pub(super) clock: NodeClock,
    pub(super) observer: Observer,
    /// The founding peers' addresses from the genesis file.
    pub(super) founder_addrs: HashMap<PeerId, Vec<SocketAddr>>,
    pub(super) names: HashMap<PeerId, String>,
    pub(super) connected: HashMap<PeerId, bool>,
    pub(super) finality: FinalityWatch,
    /// The applied tip, which the history server serves up to and pushes to its followers.
    pub(super) history_tip: watch::Sender<Height>,
    /// Present with `--metrics`.
    pub(super) metrics: Option<MetricsRecorder>,
}

impl Host<Arc<Store>> for NodeHost {
    fn now(&self) -> Now {
        self.clock.now()
    }

    fn committed(&mut self, outputs: &[(Output, Round)], core: &Core) -> Flow {
        #[cfg(feature = "chaos")]
        crate::chaos::node_hooks::follow_domain(core.domain());
        for (output, round) in outputs {
            self.observer.output(output, *round, core);
            if let Some(metrics) = &mut self.metrics {
                metrics.committed(output, *round, core, &self.names, &self.observer);
            }
        }
        let finalized = outputs.iter().any(|(o, _)| !o.finalized.is_empty());
        let now = self.clock.now().monotonic_ms;
        self.finality.observe(now, finalized, has_work(core));
        Flow::Go
    }

    fn send(&mut self, to: &[PeerId], message: &Message) {
        #[cfg(feature = "chaos")]
        if crate::chaos::node_hooks::send_byzantine(&self.net, to, message) {
            return;
        }
        let frame = Arc::new(message.encode());
        if let Some(metrics) = &self.metrics {
            metrics.sent(frame.len(), to.len());
        }
        let lane = Lane::of(message);
        for peer in to {
            self.net.send(peer, lane, frame.clone());
        }
    }

    fn applied(&mut self, caught_up: &CatchUp, _store: &Arc<Store>) {
        self.observer.applied(caught_up);
        if let Some(&(height, _)) = caught_up.applied.last() {
            self.history_tip.send_replace(height);
        }
    }

    fn epoch_started(
        &mut self,
        epoch: &EpochConfig,
        _previous: &[PeerId],
        core: &Core,
        store: &Arc<Store>,
    ) {
        for member in &epoch.members {
            if !member.name.is_empty() {
                self.names.insert(member.id, member.name.clone());
            }
        }
        self.net
            .set_peers(dial_list(epoch, &self.founder_addrs, &core.peer_id()));
        self.observer.epoch_started(epoch);
        close_admitted_joins(store, epoch, &self.observer);
    }
}

impl Driver {
    /// Ends a batch: its submissions become one signed item, the step commits and sends it,
    /// then the admin calls that waited are answered. What it finalized waits for `settle`.
    pub(super) fn send_batch(&mut self) -> anyhow::Result<()> {
        self.sign_due_submissions();
        self.step.send_pending(&mut self.host)?;
        for (reply, response) in self.replies.drain(..) {
            let _ = reply.send(response);
        }
        Ok(())
    }

    /// Sends the batch's proposals that may leave before its commit (`Step::send_early`);
    /// returns whether any did. The caller lets them out before `send_batch`: the commit
    /// blocks the thread.
    pub(super) fn send_early(&mut self) -> bool {
        // First: an item of this batch must not leave in a proposal before it is durable.
        self.sign_due_submissions();
        self.step.send_early(&mut self.host);
        self.step.has_sent_early()
    }

    fn sign_due_submissions(&mut self) {
        if self.signs_submissions_now() {
            self.sign_submissions();
            self.submitted_at = None;
        }
    }

    /// Whether this batch signs the waiting submissions. An item costs a disk sync of its own
    /// unless it rides with an own vote. While rounds run (the pool holds items) it waits, at
    /// most `SUBMISSION_WAIT`, for a notarize vote: the middle of a round, so the item still
    /// reaches the next leader before it proposes. With an empty pool it is signed at once:
    /// nothing else would start a round.
    fn signs_submissions_now(&self) -> bool {
        let waited = self
            .submitted_at
            .is_some_and(|at| at.elapsed() >= SUBMISSION_WAIT);
        waited || self.step.votes_notarize() || self.step.core().pending_items() == 0
    }

    /// Whether every output of the batch is sent and what it finalized applied.
    pub(super) fn is_settled(&self) -> bool {
        self.step.is_settled()
    }

    /// Applies what the sent batch finalized and sends what came of it.
    pub(super) fn settle(&mut self) -> anyhow::Result<()> {
        self.step.settle(&mut self.host)?;
        self.send_batch()
    }

    /// A batch starts with the input the loop woke for: own proposals are timed from here.
    pub(super) fn begin_batch(&mut self) {
        self.host.observer.batch_started(Instant::now());
    }

    pub(super) fn on_frame(&mut self, from: PeerId, bytes: &[u8]) {
        let decoded = Message::decode(bytes);
        if let Some(metrics) = &mut self.host.metrics {
            metrics.inbound(bytes.len(), decoded.as_ref().ok());
        }
        match decoded {
            Ok(message) => {
                // A peer sends its own votes only; recording others' would let one peer fill
                // the trail with votes under any name.
                if let Message::Vote(vote) = &message
                    && vote.signer == from
                {
                    self.seen_votes.push(vote.clone());
                }
                let now = self.host.clock.now().monotonic_ms;
                self.host.observer.inbound(from, &message, now);
                self.step
                    .handle(&self.host, Input::Message { from, message });
            }
            Err(error) => tracing::warn!(peer = %from.short(), %error, "undecodable message"),
        }
    }

    /// Writes the buffered received votes to the audit trail; a failure there is logged, not
    /// fatal: the trail is evidence for operators, not consensus state.
    pub(super) fn flush_seen_votes(&mut self) {
        let votes = std::mem::take(&mut self.seen_votes);
        if let Err(error) = self.step.store().record_seen_votes(&votes) {
            tracing::warn!(%error, "cannot record received votes");
        }
    }

    /// When the loop must wake: the core's next timer, or the end of a submission's wait.
    pub(super) fn next_timer(&self) -> Instant {
        let core = match self.step.next_timer() {
            Some(at) => self.host.clock.deadline(at),
            None => Instant::now() + Duration::from_secs(3600),
        };
        match self.submitted_at {
            Some(at) => core.min(at + SUBMISSION_WAIT),
            None => core,
        }
    }

    pub(super) fn fire_timers(&mut self) {
        self.step.fire_due(&self.host);
    }

    /// Refreshes the metrics the node keeps anyway, from where `bfte status` reads them.
    pub(super) fn sample_metrics(&mut self) {
        let Some(metrics) = &mut self.host.metrics else {
            return;
        };
        let net = &self.host.net;
        let now = self.host.clock.now().monotonic_ms;
        metrics.sample(&Sample {
            core: self.step.core(),
            names: &self.host.names,
            states: &net.peer_states(),
            queued_frames: &net.queued_frames(),
            history_bytes_out: net.served().bytes_out(),
            history_replicas: net.served().replicas().len(),
            finality_wait_ms: self.host.finality.waiting_ms(now),
        });
    }

    /// A connection that came up (again) is a reason to compare notes with that peer.
    pub(super) fn check_connections(&mut self) {
        for state in self.host.net.peer_states() {
            let was = self
                .host
                .connected
                .insert(state.id, state.connected)
                .unwrap_or(false);
            if state.connected && !was {
                tracing::info!(peer = %state.id.short(), "connected");
                self.host.observer.peer_connected(state.id, true);
                self.step.handle(&self.host, Input::PeerConnected(state.id));
            } else if was && !state.connected {
                tracing::info!(peer = %state.id.short(), "connection lost");
                self.host.observer.peer_connected(state.id, false);
            }
        }
    }
}

/// Whether the core waits for finality: items to order, or rounds above the finalized tip's
/// next one (dummy rounds, or rounds that cannot end without a quorum).
pub(super) fn has_work(core: &Core) -> bool {
    core.pending_items() > 0 || core.round() > core.finalized_tip().1.round.next()
}
