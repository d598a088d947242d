//! The driver: the one place where the pure core meets the database, the ledger, the network
//! and the clock. Inputs are handled in batches: every output of a batch is committed in one
//! transaction (one disk sync), then the finalized blocks are applied to the ledger, and only
//! then does anything of the batch leave the process (the core's durability contract).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bfte_shared::admin::{AdminEvent, AdminResponse};
use bfte_shared::message::Message;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::modules::ctrl::ProposalId;
use bfte_shared::modules::{CONSENSUS_CTRL, EVIDENCE};
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::Vote;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::clock::NodeClock;
use super::events::Observer;
use crate::ledger::Ledger;
use crate::modules::ctrl;
use crate::modules::evidence::proof_of;
use crate::net::Net;
use crate::store::Store;
use bfte_consensus::{
    Core, CoreConfig, Destination, Evidence, Input, Output, Timer, coalesce_items,
};

/// Most finalized blocks one answer to a peer's pull carries.
const SERVE_LIMIT: usize = 256;
/// Offences remembered as reported; past it the memory starts over (a repeated proof is only
/// rejected as known when applied).
const MAX_REPORTED: usize = 10_000;
/// State roots a started core is told about: the window it checks commitments against.
const RESTORED_ROOTS: u64 = 1_024;

pub(super) struct Driver {
    pub(super) core: Core,
    /// What a core of this node starts from, in the genesis epoch; a new epoch's core takes
    /// the epoch's configuration instead.
    pub(super) config: CoreConfig,
    /// The founding peers' addresses from the genesis file.
    pub(super) founder_addrs: HashMap<PeerId, Vec<SocketAddr>>,
    pub(super) store: Store,
    pub(super) ledger: Ledger,
    pub(super) net: Net,
    pub(super) clock: NodeClock,
    /// The core's timers, at monotonic times.
    pub(super) timers: BTreeMap<Timer, u64>,
    pub(super) names: HashMap<PeerId, String>,
    pub(super) connected: HashMap<PeerId, bool>,
    pub(super) federation_name: String,
    /// Votes received since the last flush to the store's audit trail.
    pub(super) seen_votes: Vec<Vote>,
    pub(super) observer: Observer,
    /// Outputs of this batch, not yet committed, each with the round the core was in after it.
    pub(super) pending: Vec<(Output, Round)>,
    /// Offences (offender, round) this node already put a proof of into consensus.
    pub(super) reported: HashSet<(PeerId, Round)>,
    /// Admin answers that wait for this batch's commit.
    pub(super) replies: Vec<(oneshot::Sender<AdminResponse>, AdminResponse)>,
}

impl Driver {
    /// Tells the started core the ledger's recent state roots, applies what the ledger has not
    /// applied yet, and carries out the core's first output.
    pub(super) fn start(&mut self, output: Output) -> anyhow::Result<()> {
        self.pending.push((output, self.core.round()));
        self.tell_recent_roots()?;
        if let Some(epoch) = self.apply_ledger()? {
            self.switch_epoch(epoch)?;
        }
        self.flush()
    }

    /// Tells a started core the ledger's recent state roots: the window it checks the state
    /// commitments of proposals against.
    pub(super) fn tell_recent_roots(&mut self) -> anyhow::Result<()> {
        let roots = self
            .ledger
            .recent_roots(self.store.database(), RESTORED_ROOTS)
            .context("cannot read the ledger's state roots")?;
        for (height, root) in roots {
            self.handle(Input::Applied { height, root });
        }
        Ok(())
    }

    /// Hands one input to the core; its output waits for the batch's commit.
    pub(super) fn handle(&mut self, input: Input) {
        let output = self.core.handle(self.clock.now(), input);
        self.pending.push((output, self.core.round()));
    }

    /// Ends a batch: commits every pending output at once, applies newly finalized blocks to
    /// the ledger, carries the outputs out, and answers the admin calls that waited. Repeats
    /// while applying produced more output.
    pub(super) fn flush(&mut self) -> anyhow::Result<()> {
        while !self.pending.is_empty() {
            let outputs = std::mem::take(&mut self.pending);
            self.store
                .commit_outputs(outputs.iter().map(|(output, _)| output))
                .context(
                    "cannot write the database; stopping rather than sending what is not durable",
                )?;
            let new_epoch = if outputs
                .iter()
                .any(|(output, _)| !output.finalized.is_empty())
            {
                self.apply_ledger()?
            } else {
                None
            };
            let mut sends = Vec::new();
            for (output, round) in outputs {
                sends.extend(self.carry_out(output, round)?);
            }
            // One `Items` message for the whole batch's items, not one `Item` each.
            for (to, message) in coalesce_items(sends) {
                self.send(to, &message);
            }
            if let Some(epoch) = new_epoch {
                self.switch_epoch(epoch)?;
            }
        }
        for (reply, response) in self.replies.drain(..) {
            let _ = reply.send(response);
        }
        Ok(())
    }

    /// Applies every finalized block not applied yet and reports each state root to the core;
    /// returns the new epoch if applying started one (then it stopped at that block). A ledger
    /// that cannot go on (a divergence, a damaged table, a module this binary lacks) stops the
    /// node: continuing would vote on a state this node cannot vouch for.
    fn apply_ledger(&mut self) -> anyhow::Result<Option<EpochConfig>> {
        let caught_up = self
            .ledger
            .catch_up(&self.store)
            .context("the ledger cannot apply the finalized chain; the node stops")?;
        for &(height, root) in &caught_up.applied {
            self.handle(Input::Applied { height, root });
        }
        if self.observer.hub().is_watched() {
            for &(height, _) in &caught_up.applied {
                self.announce_proposals(height);
            }
        }
        Ok(caught_up.epoch)
    }

    /// Tells subscribers which consensus_ctrl proposals the block at `height` touched (made,
    /// voted on, passed or rejected), so consoles refetch them.
    fn announce_proposals(&self, height: Height) {
        let outcome = match self.ledger.outcome(self.store.database(), height) {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%height, %error, "cannot read a block's outcome");
                return;
            }
        };
        let touched: BTreeSet<u64> = outcome
            .changes
            .iter()
            .filter(|c| c.module == CONSENSUS_CTRL && c.table == ctrl::PROPOSALS)
            .filter_map(|c| Some(u64::from_be_bytes(c.key.as_slice().try_into().ok()?)))
            .collect();
        for id in touched {
            self.observer
                .hub()
                .publish(AdminEvent::ProposalChanged { id: ProposalId(id) });
        }
    }

    /// Everything but the durable writes and the messages, which it returns: events (as of
    /// `round`, the core's round right after this output), logs, timers, and answers to pulls.
    fn carry_out(
        &mut self,
        output: Output,
        round: Round,
    ) -> anyhow::Result<Vec<(Destination, Message)>> {
        self.observer
            .output(&output, round, self.core.leader(round));
        for finalized in &output.finalized {
            if let Some(last) = finalized.blocks.last() {
                tracing::info!(height = %last.header.height, round = %last.header.round, items = finalized.blocks.iter().map(|b| b.payload.items.len()).sum::<usize>(), "finalized");
            }
        }
        for evidence in &output.evidence {
            self.commit_evidence(evidence);
        }
        for (timer, at) in output.timers {
            self.timers.insert(timer, at);
        }
        for (to, from) in output.serve_finalized {
            if let Some(chain) = self.store.finalized_chain(from, SERVE_LIMIT)? {
                self.send(Destination::Peer(to), &Message::Finalized(chain));
            }
        }
        Ok(output.send)
    }

    /// Puts the proof of a peer's misbehaviour into consensus, once per offender and round,
    /// so every peer records it and admins see it.
    fn commit_evidence(&mut self, evidence: &Evidence) {
        let proof = proof_of(evidence);
        let (offender, round) = proof.offence();
        tracing::warn!(offender = %offender.short(), %round, "a peer signed conflicting messages; committing the proof");
        if self.reported.len() >= MAX_REPORTED {
            self.reported.clear();
        }
        if self.reported.insert((offender, round)) {
            let data = bfte_shared::codec::encode(&proof);
            self.handle(Input::Submit {
                module: EVIDENCE,
                data,
            });
        }
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

    pub(super) fn on_frame(&mut self, from: PeerId, bytes: &[u8]) {
        match Message::decode(bytes) {
            Ok(message) => {
                if let Message::Vote(vote) = &message {
                    self.seen_votes.push(vote.clone());
                }
                self.observer.inbound(&message);
                self.handle(Input::Message { from, message });
            }
            Err(error) => tracing::warn!(peer = %from.short(), %error, "undecodable message"),
        }
    }

    /// Writes the buffered received votes to the audit trail; a failure there is logged, not
    /// fatal: the trail is evidence for operators, not consensus state.
    pub(super) fn flush_seen_votes(&mut self) {
        let votes = std::mem::take(&mut self.seen_votes);
        if let Err(error) = self.store.record_seen_votes(&votes) {
            tracing::warn!(%error, "cannot record received votes");
        }
    }

    pub(super) fn next_timer(&self) -> Instant {
        match self.timers.values().min() {
            Some(&at) => self.clock.deadline(at),
            None => Instant::now() + Duration::from_secs(3600),
        }
    }

    pub(super) fn fire_timers(&mut self) {
        let now = self.clock.now().monotonic_ms;
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(timer, _)| *timer)
            .collect();
        for timer in due {
            self.timers.remove(&timer);
            self.handle(Input::Timer(timer));
        }
    }

    /// A connection that came up (again) is a reason to compare notes with that peer.
    pub(super) fn check_connections(&mut self) {
        for state in self.net.peer_states() {
            let was = self
                .connected
                .insert(state.id, state.connected)
                .unwrap_or(false);
            if state.connected && !was {
                tracing::info!(peer = %state.id.short(), "connected");
                self.observer.peer_connected(state.id, true);
                self.handle(Input::PeerConnected(state.id));
            } else if was && !state.connected {
                tracing::info!(peer = %state.id.short(), "connection lost");
                self.observer.peer_connected(state.id, false);
            }
        }
    }
}
