//! The simulation loop: a seeded event queue over virtual time that drives real cores.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use bfte_shared::block::Block;
use bfte_shared::federation::{Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{Entry, ModuleId};
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::byzantine::Byzantine;
use super::crypto::SimCrypto;
use super::disk::Disk;
use super::events::{Event, Queued};
use super::invariants::Checker;
use super::ledger::ModelLedger;
use super::network::Network;
use super::peer::SimPeer;
use super::probe::Probe;
use super::report::{RunReport, RunStats};
use super::scenario::{PROGRESS_BOUND_MS, Scenario};
use crate::driver::Flow;
use bfte_consensus::{Input, Now};

/// Most peers one simulation holds: which peers have an item final is a bit mask.
pub const MAX_PEERS: usize = u128::BITS as usize;

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
    pub(super) probe: Probe,
    pub(super) healed: bool,
    pub(super) submissions_open: bool,
    pub(super) closed_at: Option<u64>,
    /// Items of correct peers by id: (submitted at, the peers that have it final as a bit
    /// mask, whether it counted as final everywhere yet, the author).
    pub(super) items: HashMap<Hash, (u64, u128, bool, usize)>,
    /// Peers restored from a backup, as a bit mask: their items are no longer owed (those
    /// signed after the backup are lost, and new ones may reuse their nonces: SPEC rule 15),
    /// and they submit no more.
    pub(super) restored: u128,
    /// Correct peers that are members in every epoch, as a bit mask: an item is final
    /// everywhere once final at all of them (a removed peer stops following).
    pub(super) permanent: u128,
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
        assert!(
            scenario.peers <= MAX_PEERS,
            "a simulation holds at most {MAX_PEERS} peers, not {}",
            scenario.peers
        );
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
        let permanent = always.iter().fold(0u128, |mask, i| mask | 1 << i);
        let change_submitter = always
            .first()
            .copied()
            .filter(|_| !scenario.membership.is_empty());
        let genesis_block = Block::genesis(&genesis);
        let genesis_epoch = bfte_consensus::genesis_epoch(&genesis);
        let checker = Checker::new(correct, &genesis_block);
        let shared_ids: std::sync::Arc<[PeerId]> = ids.clone().into();
        let membership = !scenario.membership.is_empty();
        let peers = (0..scenario.peers)
            .map(|i| {
                let mut disk = Disk::new(&genesis_block, genesis_epoch.clone());
                let backup = scenario.crashes.iter().find(|c| c.peer == i);
                if let Some(syncs) = backup.and_then(|c| c.from_backup) {
                    disk.back_up_at(syncs);
                }
                let ledger = ModelLedger::new(
                    &genesis_block,
                    genesis_epoch.clone(),
                    shared_ids.clone(),
                    membership,
                );
                let byzantine = scenario.byzantine.iter().find(|(peer, _)| *peer == i);
                let byzantine = byzantine.map(|(_, b)| {
                    Byzantine::new(*b, crypto.signers[i].clone(), genesis.federation_id())
                });
                SimPeer::down(disk, ledger, byzantine)
            })
            .collect();
        Simulation {
            rng: ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x5eed),
            network: Network {
                link: scenario.link,
                partition: None,
                regions: scenario.regions.clone(),
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
            probe: Probe::new(scenario.peers),
            healed: false,
            submissions_open: true,
            closed_at: None,
            items: HashMap::new(),
            restored: 0,
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
            let from_backup = crash.from_backup.is_some();
            let peer = crash.peer;
            self.schedule(crash.at_ms, Event::Crash { peer, from_backup });
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

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, bytes } => {
                if self.peers[to].step.is_none() {
                    return;
                }
                self.stats.messages += 1;
                let started = Instant::now();
                let decoded = Message::decode(&bytes);
                self.probe.spent(to, started.elapsed());
                match decoded {
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
            Event::Flush { peer } => self.flush(peer),
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
            Event::Crash { peer, from_backup } => {
                if !self.healed {
                    self.crash(peer);
                    if from_backup {
                        self.restore_backup(peer);
                    }
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

    fn submit(&mut self, peer: usize) {
        if self.submissions_open && self.healed && self.max_round() >= self.scenario.rounds {
            self.submissions_open = false;
            self.closed_at = Some(self.now);
        }
        if !self.submissions_open {
            return;
        }
        if self.peers[peer].step.is_some() && self.restored & 1 << peer == 0 {
            let len = self.rng.random_range(1..64usize);
            let data: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
            let entries = vec![Entry {
                module: ModuleId(0),
                data,
            }];
            self.submit_entries(peer, entries);
        }
        let gap = self.rng.random_range(0..=self.scenario.submit_gap_ms * 2);
        self.schedule(self.now + gap, Event::Submit { peer });
    }
}
