//! Admin events: what the driver saw, pushed to subscribed admin clients. Every event is built
//! here, from the core's outputs, the ledger's catch-ups (which carry the changed proposals and
//! epochs with their new values) and the join requests, so a client updates from the event
//! without reading anything again.
//!
//! The driver must never wait for a client, so events go into a `tokio::sync::broadcast`
//! channel: publishing never blocks, each subscriber reads at its own pace from a bounded ring,
//! and one that falls [`EVENT_BUFFER`] events behind is told so and dropped by its admin task.
//! Deriving events costs nothing while nobody subscribes: every entry point checks for a
//! receiver first, so no hash is computed and no frame built.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use bfte_shared::admin::{AdminEvent, DummyCause, EventFrame, VoteSort};
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::join::PendingJoin;
use bfte_shared::message::Message;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::VoteKind;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::ledger::CatchUp;
use bfte_consensus::{Core, Durable, Evidence, Output};

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;

/// Events a subscriber may fall behind by before it is dropped.
pub const EVENT_BUFFER: usize = 4096;
/// How long a vote of the round before the current one counts as voting now.
pub const FRESH_VOTE_MS: u64 = 5_000;
/// Rounds below the current one whose first proposal and certificates are remembered, so
/// resent messages do not repeat their events.
const DEDUP_ROUNDS: u64 = 64;

/// The sending side of the event stream; clones share one channel. The channel is made on
/// the first subscription: its ring of `EVENT_BUFFER` frames is most of a megabyte, which a
/// node that nobody watches should not hold.
#[derive(Debug, Clone, Default)]
pub struct EventHub(Arc<OnceLock<broadcast::Sender<EventFrame>>>);

impl EventHub {
    pub fn subscribe(&self) -> broadcast::Receiver<EventFrame> {
        self.0
            .get_or_init(|| broadcast::channel(EVENT_BUFFER).0)
            .subscribe()
    }

    /// Whether anybody listens; when not, callers skip building events altogether.
    pub fn is_watched(&self) -> bool {
        self.0
            .get()
            .is_some_and(|sender| sender.receiver_count() > 0)
    }

    /// Sends an event to every subscriber without waiting.
    pub fn publish(&self, event: AdminEvent) {
        if let Some(sender) = self.0.get()
            && sender.receiver_count() > 0
        {
            // An error only means the last subscriber left in between.
            let _ = sender.send(EventFrame {
                at_ms: super::clock::wall_ms(),
                event,
            });
        }
    }
}

/// What the observer asks the consensus core about a round, to say why it went dummy (a trait,
/// so that its tests need no core).
pub trait RoundView {
    fn leader(&self, round: Round) -> PeerId;
    /// See [`Core::proposal_verdict`].
    fn proposal_verdict(&self, round: Round) -> Option<Result<(), &'static str>>;
}

impl RoundView for Core {
    fn leader(&self, round: Round) -> PeerId {
        Core::leader(self, round)
    }

    fn proposal_verdict(&self, round: Round) -> Option<Result<(), &'static str>> {
        Core::proposal_verdict(self, round)
    }
}

/// Why `round` went dummy, from what this node's core made of its proposal.
fn dummy_cause(view: &impl RoundView, round: Round) -> DummyCause {
    match view.proposal_verdict(round) {
        None => DummyCause::LeaderSilent {
            leader: view.leader(round),
        },
        Some(Err(why)) => DummyCause::ProposalInvalid { why: why.into() },
        Some(Ok(())) => DummyCause::Timeout,
    }
}

/// Watches what passes through the driver: remembers each peer's last vote and when it last
/// heard from each peer (for the status and the peers view), and turns messages and core
/// outputs into events.
#[derive(Debug, Default)]
pub struct Observer {
    hub: EventHub,
    round: Round,
    last_vote: HashMap<PeerId, Round>,
    /// When each peer's last message arrived, on the node's monotonic clock.
    heard_ms: HashMap<PeerId, u64>,
    /// When each peer's last vote arrived, on the same clock.
    voted_ms: HashMap<PeerId, u64>,
    /// (round, proposer) of proposals already reported.
    proposals: BTreeSet<(Round, PeerId)>,
    /// (round, is_dummy) of certificates already reported.
    certificates: BTreeSet<(Round, bool)>,
    /// This node's proposals not final yet, each with when its driver batch started.
    own_proposals: HashMap<Hash, (Round, Instant)>,
    /// When the driver batch in progress started.
    batch_started: Option<Instant>,
}

impl Observer {
    pub fn new(hub: EventHub) -> Observer {
        Observer {
            hub,
            ..Observer::default()
        }
    }

    pub fn hub(&self) -> &EventHub {
        &self.hub
    }

    /// The highest round in which `peer` was seen voting.
    pub fn last_vote(&self, peer: &PeerId) -> Option<Round> {
        self.last_vote.get(peer).copied()
    }

    /// How long ago (monotonic `now_ms`) the last message from `peer` arrived; `None` if
    /// none did since the node started.
    pub fn silent_ms(&self, peer: &PeerId, now_ms: u64) -> Option<u64> {
        self.heard_ms.get(peer).map(|at| now_ms.saturating_sub(*at))
    }

    /// Whether `peer` votes now: a vote of it in `round` arrived, or one of the round before
    /// less than [`FRESH_VOTE_MS`] ago. A peer that died after voting in the round before a
    /// stuck one stops counting after that; the live ones resend their votes of the stuck
    /// round, so they keep counting.
    pub fn is_voting(&self, peer: &PeerId, round: Round, now_ms: u64) -> bool {
        let fresh = self
            .voted_ms
            .get(peer)
            .is_some_and(|at| now_ms.saturating_sub(*at) < FRESH_VOTE_MS);
        self.last_vote(peer)
            .is_some_and(|last| last >= round || (fresh && last.0 + 1 >= round.0))
    }

    /// A decoded message from `from` at monotonic `now_ms`, before the core handles it.
    pub fn inbound(&mut self, from: PeerId, message: &Message, now_ms: u64) {
        self.heard_ms.insert(from, now_ms);
        if let Message::Vote(vote) = message {
            self.voted_ms.insert(vote.signer, now_ms);
        }
        self.message(message);
    }

    /// A driver batch starts: its own proposals are timed from now.
    pub fn batch_started(&mut self, at: Instant) {
        self.batch_started = Some(at);
    }

    /// What the core produced: own proposals and votes, recorded certificates, finalized blocks,
    /// evidence, and the round it is in now.
    pub fn output(&mut self, output: &Output, round: Round, view: &impl RoundView) {
        for (_, message) in &output.send {
            self.message(message);
        }
        // Before the round they may have started, as they caused it.
        for durable in &output.persist {
            if let Durable::Certificate(certificate) = durable {
                self.certificate(certificate, view);
            }
        }
        if round > self.round {
            self.round = round;
            self.forget_old_rounds();
            let leader = view.leader(round);
            self.hub.publish(AdminEvent::RoundStarted { round, leader });
        }
        if !self.hub.is_watched() {
            return;
        }
        if let Some(started) = self.batch_started {
            for (_, message) in &output.send {
                // The core sends only its own proposals.
                if let Message::Proposal(proposal) = message {
                    let round = proposal.block.header.round;
                    self.own_proposals
                        .entry(proposal.block.hash())
                        .or_insert((round, started));
                }
            }
        }
        for evidence in &output.evidence {
            let (offender, round, what) = match evidence {
                Evidence::ConflictingVotes(pair) => (pair.0.signer, pair.0.round, "two votes"),
                Evidence::ConflictingProposals(pair) => {
                    let header = &pair.0.block.header;
                    (header.proposer, header.round, "two proposals")
                }
            };
            self.hub.publish(AdminEvent::Evidence {
                offender,
                round,
                what: what.into(),
            });
        }
        for finalized in &output.finalized {
            for block in &finalized.blocks {
                let hash = block.hash();
                let proposed_here_us = self
                    .own_proposals
                    .remove(&hash)
                    .map(|(_, at)| u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX));
                self.hub.publish(AdminEvent::Finalized {
                    height: block.header.height,
                    round: block.header.round,
                    block: hash,
                    proposer: block.header.proposer,
                    items: count(block.payload.items.len()),
                    proposed_here_us,
                });
            }
        }
    }

    /// What the ledger's last catch-up changed: each touched proposal as it stands now.
    pub fn applied(&self, caught_up: &CatchUp) {
        for proposal in &caught_up.proposals_changed {
            self.hub.publish(AdminEvent::ProposalChanged {
                proposal: proposal.clone(),
            });
        }
    }

    pub fn epoch_started(&self, epoch: &EpochConfig) {
        self.hub.publish(AdminEvent::EpochStarted {
            epoch: epoch.clone(),
        });
    }

    pub fn join_requested(&self, join: PendingJoin) {
        self.hub.publish(AdminEvent::JoinRequested { join });
    }

    /// A pending request went: its peer is a member now (`admitted`), or an admin rejected it.
    pub fn join_closed(&self, peer: PeerId, admitted: bool) {
        self.hub.publish(AdminEvent::JoinClosed { peer, admitted });
    }

    pub fn peer_connected(&self, peer: PeerId, up: bool) {
        self.hub.publish(if up {
            AdminEvent::PeerConnected { peer }
        } else {
            AdminEvent::PeerLost { peer }
        });
    }

    fn message(&mut self, message: &Message) {
        if let Message::Vote(vote) = message {
            let last = self.last_vote.entry(vote.signer).or_default();
            *last = (*last).max(vote.round);
        }
        if !self.hub.is_watched() {
            return;
        }
        match message {
            Message::Vote(vote) => self.hub.publish(AdminEvent::VoteSeen {
                round: vote.round,
                signer: vote.signer,
                kind: match vote.kind {
                    VoteKind::Notarize(_) => VoteSort::Notarize,
                    VoteKind::Dummy => VoteSort::Dummy,
                    VoteKind::Finalize(_) => VoteSort::Finalize,
                },
            }),
            Message::Proposal(proposal) => {
                let header = &proposal.block.header;
                if self.is_recent(header.round)
                    && self.proposals.insert((header.round, header.proposer))
                {
                    self.hub.publish(AdminEvent::ProposalSeen {
                        round: header.round,
                        proposer: header.proposer,
                        height: header.height,
                        block: header.hash(),
                        items: count(proposal.block.payload.items.len()),
                    });
                }
            }
            // Certificates are reported when the core records them (`output`), verified.
            Message::Certificate(_)
            | Message::Item(_)
            | Message::Items(_)
            | Message::Pull(_)
            | Message::Catchup(_)
            | Message::Finalized(_)
            | Message::HighestAsk { .. }
            | Message::Highest { .. } => {}
        }
    }

    /// A certificate the core recorded, formed from votes or received and verified.
    fn certificate(&mut self, certificate: &Certificate, view: &impl RoundView) {
        if !self.hub.is_watched() {
            return;
        }
        let round = certificate.round;
        let event = match certificate.kind {
            VoteKind::Notarize(block) => AdminEvent::Notarized { round, block },
            VoteKind::Dummy => AdminEvent::DummyCertified {
                round,
                cause: dummy_cause(view, round),
            },
            // Finality is reported block by block.
            VoteKind::Finalize(_) => return,
        };
        let dummy = certificate.kind == VoteKind::Dummy;
        if self.is_recent(round) && self.certificates.insert((round, dummy)) {
            self.hub.publish(event);
        }
    }

    fn is_recent(&self, round: Round) -> bool {
        round.0 + DEDUP_ROUNDS > self.round.0
    }

    fn forget_old_rounds(&mut self) {
        let oldest = Round(self.round.0.saturating_sub(DEDUP_ROUNDS));
        self.proposals = self.proposals.split_off(&(oldest, PeerId([0; 32])));
        self.certificates = self.certificates.split_off(&(oldest, false));
        self.own_proposals.retain(|_, (round, _)| *round >= oldest);
    }
}

fn count(items: usize) -> u32 {
    u32::try_from(items).unwrap_or(u32::MAX)
}
