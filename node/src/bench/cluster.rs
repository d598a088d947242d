//! n cores on an in-memory FIFO bus, driven by a workload: the machinery of the core
//! benchmark, apart from what it reports.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bfte_shared::block::Block;
use bfte_shared::crypto::{Ed25519Verifier, Verifier};
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, PeerSecret};

use super::core::{CoreBenchError, Workload};
use bfte_consensus::{Core, CoreConfig, Destination, Input, Output, Restored, Timer};

/// Blocks' worth of items the saturation workload keeps pending. With two, some blocks came
/// out a quarter or half full; with four, all are full.
const PENDING_BLOCKS: u64 = 4;

/// Size of the items of the one-item workload: a counter, so every item differs.
const SMALL_ITEM_BYTES: usize = 8;

/// Longest wall time without a block becoming final before the run is declared stuck.
const NO_PROGRESS_LIMIT: Duration = Duration::from_secs(120);

/// The cluster's running totals at one moment.
#[derive(Debug)]
pub(super) struct Counters {
    pub(super) blocks: u64,
    pub(super) items: u64,
    pub(super) messages: u64,
    pub(super) message_bytes: u64,
    pub(super) timeouts: u64,
    pub(super) busy: Vec<Duration>,
}

#[derive(Debug)]
struct Envelope {
    from: usize,
    to: usize,
    bytes: Arc<[u8]>,
}

/// A block final at some peers but not yet at all of them.
#[derive(Debug)]
struct BlockTally {
    hash: Hash,
    items_by_author: Vec<u64>,
}

/// n cores with real ed25519 keys and the bus between them.
#[derive(Debug)]
pub(super) struct Cluster {
    workload: Workload,
    cores: Vec<Core>,
    /// Peer ids in peer-set order, so a core's index here is its index in the peer set.
    ids: Vec<PeerId>,
    index: HashMap<PeerId, usize>,
    bus: VecDeque<Envelope>,
    /// Pending timers per peer. The core only acts on the current round's timeout and its
    /// round never goes back, so a new round timer replaces the older one.
    timers: Vec<BTreeMap<Timer, u64>>,
    now: u64,
    busy: Vec<Duration>,
    /// Each peer's finalized height.
    heights: Vec<u64>,
    /// The height final at every peer, and the blocks above it final at some.
    all_final: u64,
    tallies: VecDeque<BlockTally>,
    submitted: Vec<u64>,
    final_by_author: Vec<u64>,
    final_blocks: u64,
    final_items: u64,
    messages: u64,
    message_bytes: u64,
    timeouts: u64,
    next_submitter: usize,
    item_counter: u64,
}

impl Cluster {
    pub(super) fn start(peers: usize, workload: Workload) -> Result<Cluster, CoreBenchError> {
        let mut secrets: Vec<PeerSecret> = (0..peers as u64)
            .map(|i| {
                let seed =
                    blake3::hash(&[b"bfte bench core".as_slice(), &i.to_le_bytes()].concat());
                PeerSecret::from_seed(*seed.as_bytes())
            })
            .collect();
        secrets.sort_by_key(PeerSecret::peer_id);
        let ids: Vec<PeerId> = secrets.iter().map(PeerSecret::peer_id).collect();
        let mut params = ConsensusParams::default();
        if let Workload::Saturate {
            max_block_items, ..
        } = workload
        {
            params.max_block_items = max_block_items;
        }
        let genesis = Genesis {
            name: "bench".to_string(),
            peers: PeerSet::new(ids.clone())?,
            params,
            timestamp_ms: 0,
        };
        let verifier: Arc<dyn Verifier> = Arc::new(Ed25519Verifier);
        let restored = Restored::genesis(&genesis);
        let mut cluster = Cluster {
            workload,
            cores: Vec::with_capacity(peers),
            index: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
            ids,
            bus: VecDeque::new(),
            timers: vec![BTreeMap::new(); peers],
            now: 0,
            busy: vec![Duration::ZERO; peers],
            heights: vec![0; peers],
            all_final: 0,
            tallies: VecDeque::new(),
            submitted: vec![0; peers],
            final_by_author: vec![0; peers],
            final_blocks: 0,
            final_items: 0,
            messages: 0,
            message_bytes: 0,
            timeouts: 0,
            next_submitter: 0,
            item_counter: 0,
        };
        let mut outputs = Vec::with_capacity(peers);
        for secret in secrets {
            let config = CoreConfig::new(&genesis, Arc::new(secret), verifier.clone());
            let (core, output) = Core::start(config, restored.clone(), cluster.now)?;
            cluster.cores.push(core);
            outputs.push(output);
        }
        for (peer, output) in outputs.into_iter().enumerate() {
            cluster.apply(peer, output)?;
        }
        Ok(cluster)
    }

    pub(super) fn counters(&self) -> Counters {
        Counters {
            blocks: self.final_blocks,
            items: self.final_items,
            messages: self.messages,
            message_bytes: self.message_bytes,
            timeouts: self.timeouts,
            busy: self.busy.clone(),
        }
    }

    /// Runs until one more block is final at every peer.
    pub(super) fn step_until_final(&mut self) -> Result<(), CoreBenchError> {
        let before = self.all_final;
        let started = Instant::now();
        while self.all_final == before {
            if started.elapsed() > NO_PROGRESS_LIMIT {
                return Err(CoreBenchError::NoProgress {
                    height: self.all_final,
                    limit: NO_PROGRESS_LIMIT,
                });
            }
            self.step()?;
        }
        Ok(())
    }

    /// Delivers one message, or, with none in flight, moves time to the next timer.
    fn step(&mut self) -> Result<(), CoreBenchError> {
        let before = self.all_final;
        match self.bus.pop_front() {
            Some(envelope) => self.deliver(envelope)?,
            None => self.fire_next_timers()?,
        }
        if self.all_final > before || self.workload == Workload::OneItem {
            self.top_up()?;
        }
        Ok(())
    }

    fn deliver(&mut self, envelope: Envelope) -> Result<(), CoreBenchError> {
        let Envelope { from, to, bytes } = envelope;
        self.messages += 1;
        self.message_bytes += bytes.len() as u64;
        let started = Instant::now();
        let message = Message::decode(&bytes)
            .map_err(|source| CoreBenchError::Decode { peer: to, source })?;
        let input = Input::Message {
            from: self.ids[from],
            message,
        };
        let output = self.cores[to].handle(self.now, input);
        self.apply(to, output)?;
        self.busy[to] += started.elapsed();
        Ok(())
    }

    fn fire_next_timers(&mut self) -> Result<(), CoreBenchError> {
        let next = self.timers.iter().flat_map(BTreeMap::values).min().copied();
        let Some(next) = next else {
            return Err(CoreBenchError::Stalled {
                outstanding: self.submitted.iter().sum::<u64>() - self.final_items,
            });
        };
        self.now = self.now.max(next);
        self.timeouts += 1;
        for peer in 0..self.cores.len() {
            let due: Vec<Timer> = self.timers[peer]
                .iter()
                .filter(|(_, at)| **at <= self.now)
                .map(|(timer, _)| *timer)
                .collect();
            for timer in due {
                self.timers[peer].remove(&timer);
                let started = Instant::now();
                let output = self.cores[peer].handle(self.now, Input::Timer(timer));
                self.apply(peer, output)?;
                self.busy[peer] += started.elapsed();
            }
        }
        Ok(())
    }

    /// Submits what the workload wants pending.
    pub(super) fn top_up(&mut self) -> Result<(), CoreBenchError> {
        match self.workload {
            Workload::OneItem => {
                if self.submitted.iter().sum::<u64>() == self.final_items {
                    let peer = self.next_submitter;
                    self.next_submitter = (peer + 1) % self.cores.len();
                    self.submit(peer, SMALL_ITEM_BYTES)?;
                }
            }
            Workload::Saturate {
                item_bytes,
                max_block_items,
            } => {
                // Several blocks' worth pending across the federation: a leader proposes
                // while up to two earlier blocks are not final yet, and refills for those
                // only arrive once they are final everywhere.
                let per_peer =
                    (PENDING_BLOCKS * max_block_items as u64).div_ceil(self.cores.len() as u64);
                for peer in 0..self.cores.len() {
                    let outstanding = self.submitted[peer] - self.final_by_author[peer];
                    for _ in outstanding..per_peer {
                        self.submit(peer, item_bytes)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn submit(&mut self, peer: usize, bytes: usize) -> Result<(), CoreBenchError> {
        self.item_counter += 1;
        let data = self
            .item_counter
            .to_le_bytes()
            .into_iter()
            .cycle()
            .take(bytes)
            .collect();
        let started = Instant::now();
        let input = Input::Submit {
            module: ModuleId(0),
            data,
        };
        let output = self.cores[peer].handle(self.now, input);
        self.apply(peer, output)?;
        self.busy[peer] += started.elapsed();
        self.submitted[peer] += 1;
        Ok(())
    }

    /// Carries out a core's output. Time spent here counts for `peer`: it includes encoding
    /// what the peer sends.
    fn apply(&mut self, peer: usize, output: Output) -> Result<(), CoreBenchError> {
        // Nothing is written: disk cost belongs to the node, not the core. Pulls go unanswered:
        // on a lossless instant bus nobody falls behind, so only the start-up pulls occur.
        let Output {
            persist: _,
            send,
            timers,
            finalized,
            serve_finalized: _,
            evidence,
        } = output;
        if !evidence.is_empty() {
            return Err(CoreBenchError::Evidence { peer });
        }
        for (timer, at) in timers {
            if matches!(timer, Timer::Round(_)) {
                self.timers[peer].retain(|t, _| !matches!(t, Timer::Round(_)));
            }
            self.timers[peer].insert(timer, at);
        }
        for batch in finalized {
            for block in &batch.blocks {
                self.record_final(peer, block)?;
            }
        }
        for (to, message) in send {
            let bytes: Arc<[u8]> = message.encode().into();
            match to {
                Destination::AllPeers => {
                    for to in (0..self.cores.len()).filter(|&to| to != peer) {
                        self.bus.push_back(Envelope {
                            from: peer,
                            to,
                            bytes: bytes.clone(),
                        });
                    }
                }
                Destination::Peer(id) => {
                    if let Some(&to) = self.index.get(&id) {
                        self.bus.push_back(Envelope {
                            from: peer,
                            to,
                            bytes,
                        });
                    }
                }
            }
        }
        self.advance_all_final();
        Ok(())
    }

    /// Notes that `peer` finalized `block`, checking it is the block every other peer
    /// finalized at that height: a benchmark of a core that disagrees would measure nothing.
    fn record_final(&mut self, peer: usize, block: &Block) -> Result<(), CoreBenchError> {
        let height = block.header.height.0;
        let previous = self.heights[peer];
        if height != previous + 1 {
            return Err(CoreBenchError::Gap {
                peer,
                height,
                previous,
            });
        }
        self.heights[peer] = height;
        let hash = block.hash();
        let offset = (height - self.all_final - 1) as usize;
        match self.tallies.get(offset) {
            Some(tally) if tally.hash != hash => {
                return Err(CoreBenchError::Disagreement { peer, height });
            }
            Some(_) => {}
            None => {
                let mut items_by_author = vec![0; self.cores.len()];
                for item in &block.payload.items {
                    if let Some(&author) = self.index.get(&item.author) {
                        items_by_author[author] += 1;
                    }
                }
                self.tallies.push_back(BlockTally {
                    hash,
                    items_by_author,
                });
            }
        }
        Ok(())
    }

    fn advance_all_final(&mut self) {
        let lowest = self.heights.iter().min().copied().unwrap_or_default();
        while self.all_final < lowest {
            let Some(tally) = self.tallies.pop_front() else {
                break;
            };
            self.all_final += 1;
            self.final_blocks += 1;
            for (total, count) in self.final_by_author.iter_mut().zip(&tally.items_by_author) {
                *total += count;
                self.final_items += count;
            }
        }
    }
}
