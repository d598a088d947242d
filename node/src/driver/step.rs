//! The driver step: takes inputs through the core and carries the outputs out in the order the
//! core's durability contract asks for. The node, the simulator and the core benchmark all run
//! their cores through it, so every simulator seed also tests the node's batching, commit order
//! and epoch switch.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use bfte_consensus::{
    Core, CoreConfig, Destination, Durable, Input, Now, Output, Restored, StartError, Timer,
    coalesce_items,
};
use bfte_shared::hash::Hash;
use bfte_shared::item::Entry;
use bfte_shared::message::Message;
use bfte_shared::modules::EVIDENCE;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::modules::evidence::Proof;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};

use super::early::{highest_vote_round, leaves_early, restart_floor};
use super::finality_log::FinalityLog;
use super::ports::{BlockLedger, DurableStore, Flow, Host};
use crate::modules::evidence::proof_of;

/// State roots a started core is told about: the window it checks commitments against.
const RESTORED_ROOTS: u64 = 1_024;

/// How a core is started: `Core::start`, or a mutated core in the mutation tests.
pub type StartCore =
    Box<dyn Fn(CoreConfig, Restored, Now) -> Result<(Core, Output), StartError> + Send + Sync>;

/// What batches that were sent leave to do once their messages are out.
#[derive(Debug, Default)]
struct Unsettled {
    /// They finalized blocks: the ledger has blocks to apply.
    finalized: bool,
    /// Proofs of misbehaviour they found, to put into consensus.
    proofs: Vec<Proof>,
}

/// One node's core with its store, ledger, timers and the outputs of the batch in progress.
pub struct Step<S, L> {
    core: Core,
    /// What a core of this node starts from in the genesis epoch; an epoch's core takes that
    /// epoch's configuration on top.
    base: CoreConfig,
    start: StartCore,
    store: S,
    ledger: L,
    /// The core's timers, at monotonic times; a repeated timer replaces the earlier one.
    timers: BTreeMap<Timer, u64>,
    /// Outputs of this batch, not yet durable, each with the round the core was in after it.
    pending: Vec<(Output, Round)>,
    /// What sent batches left for `settle`.
    unsettled: Unsettled,
    /// Peers this node put a proof against into consensus in this epoch. One proof is all an
    /// offender's removal needs; a peer that equivocates every round would otherwise make
    /// every correct peer submit a proof every round, work that never ends.
    reported: HashSet<PeerId>,
    /// Most finalized blocks one answer to a peer's pull carries.
    serve_limit: usize,
    finality_log: FinalityLog,
    /// The highest round of an own vote on disk: a proposal at most one round above it may
    /// leave before its batch is durable (`send_early`).
    durable_vote_round: Round,
    /// How many pending outputs `send_early` looked at already.
    early_scanned: usize,
    /// The pending proposals that left already.
    sent_early: Vec<Hash>,
}

impl<S, L> std::fmt::Debug for Step<S, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("peer", &self.core.peer_id().short())
            .field("round", &self.core.round())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<S: DurableStore, L: BlockLedger<S>> Step<S, L> {
    /// Starts a core where the store and the ledger left off (first moving the store into the
    /// ledger's epoch: a crash may have come between the two), tells it the recent state
    /// roots, applies what the ledger has not applied yet and carries out the first output.
    pub fn start(
        base: CoreConfig,
        start: StartCore,
        mut store: S,
        ledger: L,
        serve_limit: usize,
        host: &mut impl Host<S>,
    ) -> anyhow::Result<(Self, Flow)> {
        let epoch = ledger
            .epoch(&store)
            .context("cannot read the epoch from the ledger")?;
        let me = base.signer.peer_id();
        store
            .switch_epoch(&epoch, &me)
            .context("cannot move the database into the ledger's epoch")?;
        let restored = store
            .restored()
            .context("cannot read the consensus state")?;
        let durable_vote_round = highest_vote_round(&restored);
        let config = base
            .clone()
            .in_epoch(epoch)
            .proposing_above(restart_floor(&restored));
        let (core, output) =
            start(config, restored, host.now()).context("cannot start consensus")?;
        let mut step = Step {
            core,
            base,
            start,
            store,
            ledger,
            timers: BTreeMap::new(),
            pending: Vec::new(),
            unsettled: Unsettled::default(),
            reported: HashSet::new(),
            serve_limit,
            finality_log: FinalityLog::default(),
            durable_vote_round,
            early_scanned: 0,
            sent_early: Vec::new(),
        };
        step.pending.push((output, step.core.round()));
        step.tell_recent_roots(host)?;
        let flow = step.catch_up_ledger(host)?;
        Ok((step, flow))
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The restored-from-backup mark is gone (SPEC rule 15): the cores of later epochs sign
    /// from their start instead of asking for a floor again.
    pub fn stop_sitting_out(&mut self) {
        self.base.sit_out = None;
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    pub fn ledger_mut(&mut self) -> &mut L {
        &mut self.ledger
    }

    /// What survives the process: the store and the ledger.
    pub fn into_parts(self) -> (S, L) {
        (self.store, self.ledger)
    }

    /// Whether inputs wait for `flush`.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands one input to the core; its output, returned for a look, waits for the batch's
    /// commit.
    pub fn handle(&mut self, host: &impl Host<S>, input: Input) -> &Output {
        let output = self.core.handle(host.now(), input);
        self.pending.push((output, self.core.round()));
        &self.pending[self.pending.len() - 1].0
    }

    /// The earliest timer, at monotonic time.
    pub fn next_timer(&self) -> Option<u64> {
        self.timers.values().min().copied()
    }

    /// Hands every timer that is due to the core.
    pub fn fire_due(&mut self, host: &impl Host<S>) {
        let now = host.now().monotonic_ms;
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(timer, _)| *timer)
            .collect();
        for timer in due {
            self.timers.remove(&timer);
            self.handle(host, Input::Timer(timer));
        }
    }

    /// Ends a batch: commits and sends every pending output (`send_pending`), then settles
    /// what it finalized (`settle`); repeats while that produced more output. An error means
    /// the node must stop: the store or the ledger cannot go on.
    pub fn flush(&mut self, host: &mut impl Host<S>) -> anyhow::Result<Flow> {
        while !self.is_settled() {
            if self.send_pending(host)? == Flow::Crash {
                return Ok(Flow::Crash);
            }
            self.settle(host)?;
        }
        Ok(Flow::Go)
    }

    /// Whether the pending outputs hold an own notarize vote: a synced commit in the middle of
    /// a round, whose items reach the next leader before it proposes.
    pub fn votes_notarize(&self) -> bool {
        self.pending.iter().any(|(output, _)| {
            output.persist.iter().any(|durable| {
                matches!(
                    durable,
                    Durable::Vote(Vote {
                        kind: VoteKind::Notarize(_),
                        ..
                    })
                )
            })
        })
    }

    /// Whether every output is committed and sent, and what it finalized applied.
    pub fn is_settled(&self) -> bool {
        self.pending.is_empty() && !self.unsettled.finalized && self.unsettled.proofs.is_empty()
    }

    /// Sends the pending proposals that may leave before their batch is durable: SPEC.md,
    /// driver contract 1. Such a proposal is at most one round above an own vote already on
    /// disk, so a restart finds that vote (or a finalized tip above it) and its core proposes
    /// in none of those rounds (`restart_floor`); and it carries no item of this batch, which
    /// must be on disk before it leaves. It goes out one disk sync earlier.
    /// Each pending output is looked at once, however often this runs in a batch.
    pub fn send_early(&mut self, host: &mut impl Host<S>) -> Flow {
        if self.early_scanned == self.pending.len() {
            return Flow::Go;
        }
        let unsynced_items: HashSet<u64> = self
            .pending
            .iter()
            .flat_map(|(output, _)| &output.persist)
            .filter_map(|durable| match durable {
                Durable::OwnItem(item) => Some(item.nonce),
                _ => None,
            })
            .collect();
        let me = self.core.peer_id();
        let early: Vec<(Destination, Message)> = self.pending[self.early_scanned..]
            .iter()
            .flat_map(|(output, _)| &output.send)
            .filter(|(_, message)| match message {
                Message::Proposal(proposal) => {
                    leaves_early(proposal, self.durable_vote_round, me, &unsynced_items)
                }
                _ => false,
            })
            .cloned()
            .collect();
        self.early_scanned = self.pending.len();
        if early.is_empty() {
            return Flow::Go;
        }
        for (to, message) in &early {
            if let Message::Proposal(proposal) = message {
                self.sent_early.push(proposal.block.hash());
            }
            self.send(host, *to, message);
        }
        host.sent_early()
    }

    /// Whether proposals of the pending batch left already (`send_early`).
    pub fn has_sent_early(&self) -> bool {
        !self.sent_early.is_empty()
    }

    /// Commits every pending output at once, then carries it out: answers pulls from the
    /// store, sets timers and sends. What it finalized waits for `settle`: a node lets the
    /// batch's messages leave first, since none depends on module state and a vote must not
    /// wait for the ledger.
    pub fn send_pending(&mut self, host: &mut impl Host<S>) -> anyhow::Result<Flow> {
        if self.pending.is_empty() {
            return Ok(Flow::Go);
        }
        if self.send_early(host) == Flow::Crash {
            return Ok(Flow::Crash);
        }
        let outputs = std::mem::take(&mut self.pending);
        self.early_scanned = 0;
        // Only own signatures must be on disk before anything leaves (SPEC.md, driver
        // contract 1); a batch without one is written in order, unsynced.
        let sync = outputs.iter().any(|(output, _)| output.must_sync());
        self.store
            .commit(outputs.iter().map(|(output, _)| output), sync)
            .context(
                "cannot write the database; stopping rather than sending what is not durable",
            )?;
        if sync {
            let voted = outputs.iter().flat_map(|(output, _)| &output.persist);
            for durable in voted {
                if let Durable::Vote(vote) = durable {
                    self.durable_vote_round = self.durable_vote_round.max(vote.round);
                }
            }
        }
        let sent_early = std::mem::take(&mut self.sent_early);
        if host.committed(&outputs, &self.core) == Flow::Crash {
            return Ok(Flow::Crash);
        }
        self.unsettled.finalized |= outputs.iter().any(|(o, _)| !o.finalized.is_empty());
        let (mut sends, mut proofs) = (Vec::new(), Vec::new());
        for (output, _) in outputs {
            sends.extend(self.carry_out(output, &mut proofs, host)?);
        }
        self.unsettled.proofs.extend(proofs);
        // One `Items` message for the whole batch's items, not one `Item` each.
        for (to, message) in coalesce_items(sends) {
            if let Message::Proposal(proposal) = &message
                && sent_early.contains(&proposal.block.hash())
            {
                continue;
            }
            self.send(host, to, &message);
        }
        Ok(Flow::Go)
    }

    /// Applies what the sent batches finalized to the ledger, switching epochs if that started
    /// one, and puts their proofs of misbehaviour into consensus; what comes of it is pending.
    pub fn settle(&mut self, host: &mut impl Host<S>) -> anyhow::Result<()> {
        let Unsettled { finalized, proofs } = std::mem::take(&mut self.unsettled);
        let new_epoch = match finalized {
            true => self.apply_ledger(host)?,
            false => None,
        };
        if let Some(epoch) = new_epoch {
            self.switch_epoch(host, epoch)?;
        }
        // After a switch too: a proof of an old epoch's offence is still a proof. The
        // batch's proofs are signed together, as one item.
        if !proofs.is_empty() {
            let entries = proofs
                .iter()
                .map(|proof| Entry {
                    module: EVIDENCE,
                    data: bfte_shared::codec::encode(proof),
                })
                .collect();
            self.handle(host, Input::Submit { entries });
        }
        Ok(())
    }

    /// Flushes, then applies what the ledger is ready to apply (switching epochs if that
    /// started one) and flushes what came of it.
    pub fn catch_up_ledger(&mut self, host: &mut impl Host<S>) -> anyhow::Result<Flow> {
        if self.flush(host)? == Flow::Crash {
            return Ok(Flow::Crash);
        }
        if let Some(epoch) = self.apply_ledger(host)? {
            self.switch_epoch(host, epoch)?;
        }
        self.flush(host)
    }

    /// Applies the finalized blocks the ledger can and reports each state root to the core;
    /// returns the new epoch if applying started one (then it stopped at that block, and the
    /// old core, about to go, is told nothing). A ledger that cannot go on (a divergence, a
    /// damaged table, a module this binary lacks) stops the node: continuing would vote on a
    /// state this node cannot vouch for.
    fn apply_ledger(&mut self, host: &mut impl Host<S>) -> anyhow::Result<Option<EpochConfig>> {
        let caught_up = self
            .ledger
            .catch_up(&self.store)
            .context("the ledger cannot apply the finalized chain; the node stops")?;
        if caught_up.epoch.is_none() {
            for &(height, root) in &caught_up.applied {
                self.handle(host, Input::Applied { height, root });
            }
        }
        if !caught_up.applied.is_empty() {
            host.applied(&caught_up, &self.store);
        }
        Ok(caught_up.epoch)
    }

    /// Tells a started core the ledger's recent state roots.
    fn tell_recent_roots(&mut self, host: &impl Host<S>) -> anyhow::Result<()> {
        let roots = self
            .ledger
            .recent_roots(&self.store, RESTORED_ROOTS)
            .context("cannot read the ledger's state roots")?;
        for (height, root) in roots {
            self.handle(host, Input::Applied { height, root });
        }
        Ok(())
    }

    /// Everything of a durable output but its messages, which it returns: logs, evidence,
    /// timers and answers to pulls.
    fn carry_out(
        &mut self,
        output: Output,
        proofs: &mut Vec<Proof>,
        host: &mut impl Host<S>,
    ) -> anyhow::Result<Vec<(Destination, Message)>> {
        self.finality_log
            .finalized(host.now().monotonic_ms, &output.finalized);
        for evidence in &output.evidence {
            let proof = proof_of(evidence);
            let (offender, round) = proof.offence();
            if self.reported.insert(offender) {
                tracing::warn!(offender = %offender.short(), %round, "a peer signed conflicting messages; committing the proof");
                proofs.push(proof);
            }
        }
        for (timer, at) in output.timers {
            self.timers.insert(timer, at);
            host.timer_set(at);
        }
        let mut sends = output.send;
        for (to, from) in output.serve_finalized {
            let chain = self
                .store
                .finalized_chain(from, self.serve_limit)
                .context("cannot read finalized blocks to serve")?;
            if let Some(chain) = chain {
                sends.push((Destination::Peer(to), Message::Finalized(chain)));
            }
        }
        Ok(sends)
    }

    fn send(&self, host: &mut impl Host<S>, to: Destination, message: &Message) {
        match to {
            Destination::Peer(peer) => host.send(&[peer], message),
            Destination::AllPeers => {
                let me = self.core.peer_id();
                let peers: Vec<PeerId> = self
                    .core
                    .peers()
                    .iter()
                    .filter(|p| **p != me)
                    .copied()
                    .collect();
                host.send(&peers, message);
            }
        }
    }

    /// Moves the store and the core into `epoch`: the old core goes with its timers and the
    /// outputs it has not committed (none leave: nothing of them was sent), a fresh one
    /// starts from the store and learns the recent roots.
    fn switch_epoch(&mut self, host: &mut impl Host<S>, epoch: EpochConfig) -> anyhow::Result<()> {
        let me = self.core.peer_id();
        self.store
            .switch_epoch(&epoch, &me)
            .context("cannot move the database into the new epoch")?;
        let restored = self
            .store
            .restored()
            .context("cannot reload the consensus state for the new epoch")?;
        let config = self.base.clone().in_epoch(epoch.clone());
        // No restart floor: a proposal of the old epoch is signed over its domain and cannot
        // clash with one of this epoch.
        self.durable_vote_round = highest_vote_round(&restored);
        let (core, output) = (self.start)(config, restored, host.now())
            .context("cannot start consensus in the new epoch")?;
        let previous: Vec<PeerId> = self.core.peers().iter().copied().collect();
        self.core = core;
        self.timers.clear();
        self.pending.clear();
        self.early_scanned = 0;
        self.sent_early.clear();
        self.reported.clear();
        self.pending.push((output, self.core.round()));
        self.tell_recent_roots(host)?;
        let role = if self.core.is_voter() {
            "a voter"
        } else {
            "not a peer: following only"
        };
        tracing::info!(epoch = epoch.number, from = %epoch.start_height, peers = epoch.members.len(), "new epoch; this node is {role}");
        host.epoch_started(&epoch, &previous, &self.core, &self.store);
        Ok(())
    }
}
