//! The simulation loop: a seeded event queue over virtual time that drives real cores.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use bfte_shared::block::Block;
use bfte_shared::federation::{Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::byzantine::Byzantine;
use super::crypto::SimCrypto;
use super::disk::Disk;
use super::events::{Event, Queued};
use super::host::SimHost;
use super::invariants::{Checker, Violation};
use super::ledger::ModelLedger;
use super::network::Network;
use super::report::{RunReport, RunStats};
use super::scenario::{PROGRESS_BOUND_MS, Scenario};
use crate::driver::{Flow, StartCore, Step};
use bfte_consensus::{CoreConfig, Input, Now};

/// Longest a simulated ledger takes to apply newly finalized blocks.
pub(super) const MAX_APPLY_DELAY_MS: u64 = 30;
/// Most finalized blocks one answer to a pull carries: smaller than the node's, so that
/// catching up takes several pulls.
const SERVE_LIMIT: usize = 64;

type SimStep = Step<Disk, ModelLedger>;

/// A simulated process: running its step, or down with only its disk and ledger left.
#[derive(Debug)]
pub(super) struct SimPeer {
    step: Option<Box<SimStep>>,
    down: Option<(Disk, ModelLedger)>,
    pub(super) byzantine: Option<Byzantine>,
    /// Whether a `Flush` event is queued for the batch in progress.
    flush_queued: bool,
}

pub struct Simulation {
    pub(super) scenario: Scenario,
    pub(super) rng: ChaCha8Rng,
    pub(super) now: u64,
    pub(super) seq: u64,
    pub(super) queue: BinaryHeap<Reverse<Queued>>,
    pub(super) peers: Vec<SimPeer>,
    pub(super) ids: Vec<PeerId>,
    pub(super) genesis: Genesis,
    pub(super) crypto: SimCrypto,
    pub(super) network: Network,
    pub(super) checker: Checker,
    pub(super) stats: RunStats,
    pub(super) healed: bool,
    pub(super) submissions_open: bool,
    pub(super) closed_at: Option<u64>,
    /// Items of correct peers by id: (submitted at, the peers that have it final as a bit
    /// mask, whether it counted as final everywhere yet).
    pub(super) items: HashMap<Hash, (u64, u64, bool)>,
    /// Correct peers that are members in every epoch, as a bit mask: an item is final
    /// everywhere once final at all of them (a removed peer stops following).
    pub(super) permanent: u64,
    /// The correct founder that puts the schedule's membership changes into consensus.
    pub(super) change_submitter: Option<usize>,
    /// Items the change submitter made durable, by content: a change submitted into a batch
    /// that a crash lost before its commit is submitted again, as a client would retry.
    pub(super) durable_changes: std::collections::HashSet<Vec<u8>>,
    /// Certificate kinds correct peers formed, per round: bit 0 notarization, bit 1 dummy.
    pub(super) certified: HashMap<u64, u8>,
    #[cfg(test)]
    pub(super) mutation: Option<bfte_consensus::Mutation>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.scenario.seed)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Simulation {
        let crypto = SimCrypto::new(scenario.crypto, scenario.seed, scenario.peers);
        let ids: Vec<PeerId> = crypto.signers.iter().map(|s| s.peer_id()).collect();
        let founders: Vec<PeerId> = match scenario.membership.first() {
            Some(first) => first.iter().map(|&i| ids[i]).collect(),
            None => ids.clone(),
        };
        let genesis = Genesis {
            name: format!("sim-{}", scenario.seed),
            peers: PeerSet::new(founders).unwrap_or_else(|e| panic!("simulated keys: {e}")),
            params: scenario.params.clone(),
            timestamp_ms: 0,
        };
        let mut correct = vec![true; scenario.peers];
        for (peer, _) in &scenario.byzantine {
            correct[*peer] = false;
        }
        let always: Vec<usize> = (0..scenario.peers)
            .filter(|i| correct[*i])
            .filter(|i| scenario.membership.iter().all(|set| set.contains(i)))
            .collect();
        let permanent = always.iter().fold(0u64, |mask, i| mask | 1 << i);
        let change_submitter = always
            .first()
            .copied()
            .filter(|_| !scenario.membership.is_empty());
        let genesis_block = Block::genesis(&genesis);
        let genesis_epoch = bfte_consensus::genesis_epoch(&genesis);
        let checker = Checker::new(correct, &genesis_block);
        let shared_ids: std::sync::Arc<[PeerId]> = ids.clone().into();
        let membership = !scenario.membership.is_empty();
        let peers =
            (0..scenario.peers)
                .map(|i| SimPeer {
                    step: None,
                    down: Some((
                        Disk::new(&genesis_block, genesis_epoch.clone()),
                        ModelLedger::new(
                            &genesis_block,
                            genesis_epoch.clone(),
                            shared_ids.clone(),
                            membership,
                        ),
                    )),
                    byzantine: scenario.byzantine.iter().find(|(peer, _)| *peer == i).map(
                        |(_, b)| {
                            Byzantine::new(*b, crypto.signers[i].clone(), genesis.federation_id())
                        },
                    ),
                    flush_queued: false,
                })
                .collect();
        Simulation {
            rng: ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x5eed),
            network: Network {
                link: scenario.link,
                partition: None,
            },
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            peers,
            ids,
            genesis,
            crypto,
            checker,
            stats: RunStats::default(),
            healed: false,
            submissions_open: true,
            closed_at: None,
            items: HashMap::new(),
            permanent,
            change_submitter,
            durable_changes: Default::default(),
            certified: HashMap::new(),
            scenario,
            #[cfg(test)]
            mutation: None,
        }
    }

    /// Breaks one rule in every correct peer's core, to show the checker notices.
    #[cfg(test)]
    pub fn with_mutation(mut self, mutation: bfte_consensus::Mutation) -> Self {
        self.mutation = Some(mutation);
        self
    }

    /// What `peer`'s clocks read now: virtual time, the wall clock less any step back.
    pub(super) fn clock(&self, peer: usize) -> Now {
        let back: u64 = self
            .scenario
            .clock_steps
            .iter()
            .filter(|step| step.peer == peer && step.at_ms <= self.now)
            .map(|step| step.back_ms)
            .sum();
        Now {
            monotonic_ms: self.now,
            wall_ms: self.now.saturating_sub(back),
        }
    }

    pub(super) fn rng_range(&mut self, low: u64, high: u64) -> u64 {
        self.rng.random_range(low..high)
    }

    pub(super) fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    pub fn run(mut self) -> RunReport {
        for peer in 0..self.peers.len() {
            self.start_peer(peer);
            if self.submits(peer) {
                let at = self.rng.random_range(0..=self.scenario.submit_gap_ms * 2);
                self.schedule(at, Event::Submit { peer });
            }
        }
        for crash in self.scenario.crashes.clone() {
            self.schedule(crash.at_ms, Event::Crash { peer: crash.peer });
            self.schedule(crash.restart_ms, Event::Restart { peer: crash.peer });
        }
        for partition in self.scenario.partitions.clone() {
            self.schedule(
                partition.start_ms,
                Event::Partition {
                    groups: partition.groups,
                },
            );
            self.schedule(partition.end_ms, Event::EndPartition);
        }
        self.schedule(self.scenario.heal_ms, Event::Heal);
        if self.change_submitter.is_some() {
            let at = self.rng.random_range(200..=self.scenario.heal_ms.max(201));
            self.schedule(at, Event::ProposeChange { index: 1 });
        }
        // Without progress the run still ends: this is where a liveness failure shows.
        let deadline = self.scenario.heal_ms + self.scenario.rounds * 5_000 + PROGRESS_BOUND_MS;
        loop {
            let Some(Reverse(next)) = self.queue.pop() else {
                self.stats.went_idle = true;
                break;
            };
            if next.at > deadline || (self.scenario.stop_when_done && self.finished()) {
                break;
            }
            self.now = next.at;
            self.dispatch(next.event);
            if !self.checker.violations.is_empty() {
                break;
            }
        }
        self.finish()
    }

    /// Whether `peer` submits items in this scenario.
    fn submits(&self, peer: usize) -> bool {
        self.checker.is_correct(peer)
            && self
                .scenario
                .submitters
                .as_ref()
                .is_none_or(|list| list.contains(&peer))
    }

    fn finished(&self) -> bool {
        self.closed_at.is_some_and(|closed| {
            self.now > closed && self.pending_items() == 0 && self.membership_done()
        })
    }

    /// Every correct member of the schedule's last peer set is in the last epoch.
    fn membership_done(&self) -> bool {
        let Some(last) = self.scenario.membership.last() else {
            return true;
        };
        let final_epoch = self.scenario.membership.len() as u64 - 1;
        last.iter()
            .filter(|&&p| self.checker.is_correct(p))
            .all(|&p| self.checker.epoch(p) == final_epoch)
    }

    fn pending_items(&self) -> usize {
        self.items
            .values()
            .filter(|(_, mask, _)| mask & self.permanent != self.permanent)
            .count()
    }

    fn finish(mut self) -> RunReport {
        self.checker.check_prefixes();
        let pending = self.pending_items();
        if self.checker.violations.is_empty() && pending > 0 {
            let heights: Vec<u64> = (0..self.peers.len())
                .map(|p| self.checker.finalized_height(p))
                .collect();
            let detail = format!(
                "at {} ms, heal at {} ms, finalized heights {heights:?}",
                self.now, self.scenario.heal_ms
            );
            self.checker.violations.push(Violation::Liveness {
                pending_items: pending,
                detail,
            });
        }
        if self.checker.violations.is_empty() && !self.membership_done() {
            let epochs: Vec<u64> = (0..self.peers.len())
                .map(|p| self.checker.epoch(p))
                .collect();
            self.checker.violations.push(Violation::Liveness {
                pending_items: 0,
                detail: format!(
                    "the membership schedule did not complete: epochs {epochs:?} of {} changes",
                    self.scenario.membership.len() - 1
                ),
            });
        }
        if self.checker.violations.is_empty()
            && self.stats.worst_item_latency_ms > PROGRESS_BOUND_MS
        {
            self.checker.violations.push(Violation::Liveness {
                pending_items: 0,
                detail: format!(
                    "an item took {} ms after the heal to be final everywhere, the bound is {PROGRESS_BOUND_MS} ms",
                    self.stats.worst_item_latency_ms
                ),
            });
        }
        self.stats.simulated_ms = self.now;
        self.stats.blocks_finalized = self.checker.longest_height();
        self.stats.rounds = self.max_round();
        RunReport {
            scenario: self.scenario,
            stats: self.stats,
            violations: self.checker.violations,
        }
    }

    fn max_round(&self) -> u64 {
        self.peers
            .iter()
            .filter_map(|p| p.step.as_ref())
            .map(|step| step.core().round().0)
            .max()
            .unwrap_or(0)
    }

    /// How the peer's cores start: broken by the run's mutation if it is correct and one
    /// is set.
    fn start_core(&self, peer: usize) -> StartCore {
        #[cfg(test)]
        if let Some(mutation) = self.mutation.filter(|_| self.checker.is_correct(peer)) {
            return Box::new(move |config, restored, now| {
                bfte_consensus::Core::start_mutated(config, restored, now, Some(mutation))
            });
        }
        let _ = peer;
        crate::driver::start_core()
    }

    /// The process starts from its disk and ledger, as a node does: the step applies what
    /// is finalized and carries out the core's first output.
    pub(super) fn start_peer(&mut self, peer: usize) {
        let Some((disk, mut ledger)) = self.peers[peer].down.take() else {
            return;
        };
        ledger.release(disk.tip_height());
        let base = CoreConfig::new(
            &self.genesis,
            self.crypto.signers[peer].clone(),
            self.crypto.verifier.clone(),
        );
        let start = self.start_core(peer);
        let mut host = SimHost { sim: self, peer };
        match Step::start(base, start, disk, ledger, SERVE_LIMIT, &mut host) {
            Ok((step, flow)) => self.settle(peer, Box::new(step), Ok(flow)),
            // As a node that cannot start stays down; its disk is of no further use.
            Err(error) if self.checker.is_correct(peer) => {
                self.checker.violations.push(Violation::Stopped {
                    peer,
                    reason: format!("cannot start: {error:#}"),
                });
            }
            Err(_) => {}
        }
    }

    /// Runs `f` on the peer's step, if it is up, with the peer's host; then carries out
    /// what `f` decided: a crash after a commit, or a stop on an error. Returns whether the
    /// peer was up.
    fn with_step(
        &mut self,
        peer: usize,
        f: impl FnOnce(&mut SimStep, &mut SimHost<'_>) -> anyhow::Result<Flow>,
    ) -> bool {
        let Some(mut step) = self.peers[peer].step.take() else {
            return false;
        };
        let mut host = SimHost { sim: self, peer };
        let result = f(&mut step, &mut host);
        self.settle(peer, step, result);
        true
    }

    fn settle(&mut self, peer: usize, step: Box<SimStep>, result: anyhow::Result<Flow>) {
        match result {
            Ok(Flow::Go) => self.peers[peer].step = Some(step),
            Ok(Flow::Crash) => {
                self.peers[peer].step = Some(step);
                self.crash(peer);
                let restart = self.now + self.rng.random_range(10..1_000);
                self.schedule(restart, Event::Restart { peer });
            }
            Err(error) => {
                self.peers[peer].down = Some(step.into_parts());
                if self.checker.is_correct(peer) {
                    self.checker.violations.push(Violation::Stopped {
                        peer,
                        reason: format!("{error:#}"),
                    });
                }
            }
        }
    }

    /// Hands an input to the peer's step; the batch it joins ends at the next `Flush`.
    /// Returns whether the peer was up.
    pub(super) fn input(&mut self, peer: usize, input: Input) -> bool {
        let up = self.with_step(peer, |step, host| {
            step.handle(host, input);
            Ok(Flow::Go)
        });
        self.queue_flush(peer);
        up
    }

    fn queue_flush(&mut self, peer: usize) {
        let state = &mut self.peers[peer];
        if !state.flush_queued && state.step.as_ref().is_some_and(|s| s.has_pending()) {
            state.flush_queued = true;
            self.schedule(self.now + self.scenario.batch_ms, Event::Flush { peer });
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, bytes } => {
                if self.peers[to].step.is_none() {
                    return;
                }
                self.stats.messages += 1;
                match Message::decode(&bytes) {
                    Ok(message) => {
                        let from = self.ids[from];
                        self.input(to, Input::Message { from, message });
                    }
                    Err(_) => self.stats.undecodable += 1,
                }
            }
            Event::Timer { peer } => {
                self.with_step(peer, |step, host| {
                    step.fire_due(host);
                    Ok(Flow::Go)
                });
                self.queue_flush(peer);
            }
            Event::Flush { peer } => {
                self.peers[peer].flush_queued = false;
                self.with_step(peer, |step, host| step.flush(host));
            }
            Event::Connected { peer, with } => {
                let with = self.ids[with];
                self.input(peer, Input::PeerConnected(with));
            }
            Event::Submit { peer } => self.submit(peer),
            Event::ProposeChange { index } => self.propose_change(index),
            Event::Apply { peer, height } => {
                self.with_step(peer, |step, host| {
                    step.ledger_mut().release(height);
                    step.catch_up_ledger(host)
                });
            }
            Event::Crash { peer } => {
                if !self.healed {
                    self.crash(peer);
                }
            }
            Event::Restart { peer } => self.start_peer(peer),
            Event::Partition { groups } => {
                if !self.healed {
                    self.end_partition();
                    self.network.partition = Some(groups);
                }
            }
            Event::EndPartition => self.end_partition(),
            Event::Heal => {
                self.healed = true;
                self.end_partition();
                self.network.link = self.network.link.healed(self.scenario.loss_after_heal);
                for peer in 0..self.peers.len() {
                    self.start_peer(peer);
                }
            }
        }
    }

    /// Links across the split come back; both ends notice the connection, as a node's
    /// transport would.
    fn end_partition(&mut self) {
        let Some(groups) = self.network.partition.take() else {
            return;
        };
        for a in 0..self.peers.len() {
            for b in 0..self.peers.len() {
                if groups[a] == groups[b] {
                    continue;
                }
                self.input(a, Input::PeerConnected(self.ids[b]));
            }
        }
    }

    /// The process dies: memory, timers and the batch in progress are gone; the disk and
    /// the ledger stay.
    pub(super) fn crash(&mut self, peer: usize) {
        let state = &mut self.peers[peer];
        if let Some(step) = state.step.take() {
            self.stats.crashes += 1;
            state.down = Some(step.into_parts());
        }
    }

    fn submit(&mut self, peer: usize) {
        if self.submissions_open && self.healed && self.max_round() >= self.scenario.rounds {
            self.submissions_open = false;
            self.closed_at = Some(self.now);
        }
        if !self.submissions_open {
            return;
        }
        if self.peers[peer].step.is_some() {
            let len = self.rng.random_range(1..64usize);
            let data: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
            let module = ModuleId(0);
            self.input(peer, Input::Submit { module, data });
        }
        let gap = self.rng.random_range(0..=self.scenario.submit_gap_ms * 2);
        self.schedule(self.now + gap, Event::Submit { peer });
    }
}
