//! The simulation loop: a seeded event queue over virtual time that drives real cores.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use bfte_shared::block::Block;
use bfte_shared::federation::{Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::byzantine::Byzantine;
use super::crypto::SimCrypto;
use super::disk::Disk;
use super::events::{Event, Queued};
use super::invariants::{Checker, Violation};
use super::ledger::model_root;
use super::network::Network;
use super::report::{RunReport, RunStats};
use super::scenario::{PROGRESS_BOUND_MS, Scenario};
use bfte_consensus::{Core, CoreConfig, Input, Now, Timer};

/// Longest a simulated ledger takes to apply newly finalized blocks.
pub(super) const MAX_APPLY_DELAY_MS: u64 = 30;
/// Applied roots a restarted peer reports to its core, as the driver does.
const RESTORED_ROOTS: usize = 1_024;
/// Most finalized blocks one answer to a pull carries.
pub(super) const SERVE_LIMIT: usize = 64;

#[derive(Debug)]
pub(super) struct SimPeer {
    pub(super) core: Option<Core>,
    pub(super) disk: Disk,
    pub(super) byzantine: Option<Byzantine>,
    pub(super) timers: HashMap<Timer, u64>,
    pub(super) generation: u64,
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
        let peers =
            (0..scenario.peers)
                .map(|i| SimPeer {
                    core: None,
                    disk: Disk::new(&genesis_block, genesis_epoch.clone()),
                    byzantine: scenario.byzantine.iter().find(|(peer, _)| *peer == i).map(
                        |(_, b)| {
                            Byzantine::new(*b, crypto.signers[i].clone(), genesis.federation_id())
                        },
                    ),
                    timers: HashMap::new(),
                    generation: 0,
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
            .filter_map(|p| p.core.as_ref())
            .map(|core| core.round().0)
            .max()
            .unwrap_or(0)
    }

    fn config(&self, peer: usize) -> CoreConfig {
        CoreConfig::new(
            &self.genesis,
            self.crypto.signers[peer].clone(),
            self.crypto.verifier.clone(),
        )
        .in_epoch(self.peers[peer].disk.epoch.clone())
    }

    pub(super) fn start_peer(&mut self, peer: usize) {
        let restored = self.peers[peer].disk.restored();
        #[cfg(test)]
        let started = {
            let mutation = self.mutation.filter(|_| self.checker.is_correct(peer));
            Core::start_mutated(self.config(peer), restored, self.clock(peer), mutation)
        };
        #[cfg(not(test))]
        let started = Core::start(self.config(peer), restored, self.clock(peer));
        let (core, output) = match started {
            Ok(started) => started,
            Err(e) => panic!("simulated peer {peer} cannot start: {e}"),
        };
        self.peers[peer].core = Some(core);
        self.apply_output(peer, output);
        // As the driver does: the ledger's recent roots, then whatever it has yet to apply.
        let roots = &self.peers[peer].disk.roots;
        let recent: Vec<(usize, Hash)> = roots
            .iter()
            .copied()
            .enumerate()
            .skip(roots.len().saturating_sub(RESTORED_ROOTS))
            .collect();
        for (height, root) in recent {
            self.report_applied(peer, height, root);
        }
        self.apply_ledger(peer);
    }

    fn report_applied(&mut self, peer: usize, height: usize, root: Hash) {
        let height = Height(height as u64);
        let now = self.clock(peer);
        if let Some(core) = self.peers[peer].core.as_mut() {
            let output = core.handle(now, Input::Applied { height, root });
            self.apply_output(peer, output);
        }
    }

    /// Applies every finalized block the peer's ledger has not applied yet.
    fn apply_ledger(&mut self, peer: usize) {
        loop {
            let disk = &mut self.peers[peer].disk;
            let height = disk.roots.len();
            let Some((block, _)) = disk.chain.get(height) else {
                return;
            };
            let root = model_root(&disk.roots[height - 1], block);
            let block = block.clone();
            disk.roots.push(root);
            // The epoch ends with the block that changes it, atomically, as the ledger
            // records the next epoch in that block's transaction; the new core learns the
            // roots when it starts.
            if self.check_epoch_change(peer, &block) {
                return;
            }
            self.report_applied(peer, height, root);
            if self.peers[peer].core.is_none() {
                return;
            }
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, bytes } => {
                let now = self.clock(to);
                let Some(core) = self.peers[to].core.as_mut() else {
                    return;
                };
                self.stats.messages += 1;
                match Message::decode(&bytes) {
                    Ok(message) => {
                        let from = self.ids[from];
                        let output = core.handle(now, Input::Message { from, message });
                        self.apply_output(to, output);
                    }
                    Err(_) => self.stats.undecodable += 1,
                }
            }
            Event::Timer {
                peer,
                timer,
                generation,
            } => {
                let now = self.clock(peer);
                let state = &mut self.peers[peer];
                if state.generation != generation || state.timers.get(&timer) != Some(&self.now) {
                    return;
                }
                state.timers.remove(&timer);
                if let Some(core) = state.core.as_mut() {
                    let output = core.handle(now, Input::Timer(timer));
                    self.apply_output(peer, output);
                }
            }
            Event::Submit { peer } => self.submit(peer),
            Event::ProposeChange { index } => self.propose_change(index),
            Event::Apply { peer, generation } => {
                if self.peers[peer].generation == generation {
                    self.apply_ledger(peer);
                }
            }
            Event::Crash { peer } => {
                if !self.healed {
                    self.crash(peer);
                }
            }
            Event::Restart { peer } => {
                if self.peers[peer].core.is_none() {
                    self.start_peer(peer);
                }
            }
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
                    if self.peers[peer].core.is_none() {
                        self.start_peer(peer);
                    }
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
                let now = self.clock(a);
                if let Some(core) = self.peers[a].core.as_mut() {
                    let output = core.handle(now, Input::PeerConnected(self.ids[b]));
                    self.apply_output(a, output);
                }
            }
        }
    }

    /// The process dies: memory, timers and in-flight output are gone; the disk stays.
    pub(super) fn crash(&mut self, peer: usize) {
        let state = &mut self.peers[peer];
        if state.core.take().is_some() {
            self.stats.crashes += 1;
            state.timers.clear();
            state.generation += 1;
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
        let now = self.clock(peer);
        if let Some(core) = self.peers[peer].core.as_mut() {
            let len = self.rng.random_range(1..64usize);
            let data: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
            let output = core.handle(
                now,
                Input::Submit {
                    module: ModuleId(0),
                    data,
                },
            );
            self.apply_output(peer, output);
        }
        let gap = self.rng.random_range(0..=self.scenario.submit_gap_ms * 2);
        self.schedule(self.now + gap, Event::Submit { peer });
    }
}
