//! n cores on an in-memory FIFO bus, driven by a workload: the machinery of the core
//! benchmark, apart from what it reports. Each core runs under the driver step the node and
//! the simulator run (`crate::driver::Step`), with the null store and ledger of `ports.rs`
//! and the bus of `bus.rs` as its host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bfte_consensus::{CoreConfig, Input};
use bfte_shared::crypto::{Ed25519Verifier, Verifier};
use bfte_shared::federation::{ConsensusParams, Genesis, InvalidPeerSet, PeerSet};
use bfte_shared::item::{Entry, ModuleId};
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, PeerSecret};

use super::bus::{Bus, BusHost, Envelope};
use super::core::{CoreBenchError, Workload};
use super::ports::{NullLedger, NullStore};
use crate::driver::{Step, start_core};

/// Blocks' worth of items the saturation workload keeps pending. With two, some blocks came
/// out a quarter or half full; with four, all are full.
const PENDING_BLOCKS: u64 = 4;

/// Size of the items of the one-item workload: a counter, so every item differs.
const SMALL_ITEM_BYTES: usize = 8;

/// Longest wall time without a block becoming final before the run is declared stuck.
const NO_PROGRESS_LIMIT: Duration = Duration::from_secs(120);

/// Most finalized blocks an answer to a pull carries: moot, the null store answers none.
const SERVE_LIMIT: usize = 0;

type BenchStep = Step<NullStore, NullLedger>;

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

/// The peers' keys in peer-set order, derived from their numbers: every run has the same
/// federation.
fn secrets(peers: usize) -> Vec<PeerSecret> {
    let mut secrets: Vec<PeerSecret> = (0..peers as u64)
        .map(|i| {
            let seed = blake3::hash(&[b"bfte bench core".as_slice(), &i.to_le_bytes()].concat());
            PeerSecret::from_seed(*seed.as_bytes())
        })
        .collect();
    secrets.sort_by_key(PeerSecret::peer_id);
    secrets
}

/// The federation of `secrets`, with the block size `workload` asks for.
fn genesis(secrets: &[PeerSecret], workload: Workload) -> Result<Genesis, InvalidPeerSet> {
    let mut params = ConsensusParams::default();
    if let Workload::Saturate {
        max_block_items, ..
    } = workload
    {
        params.max_block_items = max_block_items;
    }
    Ok(Genesis {
        name: "bench".to_string(),
        peers: PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect())?,
        params,
        timestamp_ms: 0,
    })
}

/// n cores with real ed25519 keys, each under its driver step, and the bus between them.
#[derive(Debug)]
pub(super) struct Cluster {
    workload: Workload,
    /// In peer-set order, as the bus indexes peers.
    steps: Vec<BenchStep>,
    bus: Bus,
    busy: Vec<Duration>,
    submitted: Vec<u64>,
    messages: u64,
    message_bytes: u64,
    timeouts: u64,
    next_submitter: usize,
    item_counter: u64,
}

impl Cluster {
    pub(super) fn start(peers: usize, workload: Workload) -> Result<Cluster, CoreBenchError> {
        let secrets = secrets(peers);
        let genesis = genesis(&secrets, workload)?;
        let ids: Vec<PeerId> = secrets.iter().map(PeerSecret::peer_id).collect();
        let verifier: Arc<dyn Verifier> = Arc::new(Ed25519Verifier);
        let mut cluster = Cluster {
            workload,
            steps: Vec::with_capacity(peers),
            bus: Bus::new(ids),
            busy: vec![Duration::ZERO; peers],
            submitted: vec![0; peers],
            messages: 0,
            message_bytes: 0,
            timeouts: 0,
            next_submitter: 0,
            item_counter: 0,
        };
        for (peer, secret) in secrets.into_iter().enumerate() {
            let base = CoreConfig::new(&genesis, Arc::new(secret), verifier.clone());
            let started = Step::start(
                base,
                start_core(),
                NullStore::new(&genesis),
                NullLedger::new(&genesis),
                SERVE_LIMIT,
                &mut cluster.bus.host(peer),
            );
            let (step, _) = cluster.check(peer, started)?;
            cluster.steps.push(step);
        }
        Ok(cluster)
    }

    pub(super) fn counters(&self) -> Counters {
        let tally = self.bus.tally();
        Counters {
            blocks: tally.blocks(),
            items: tally.items(),
            messages: self.messages,
            message_bytes: self.message_bytes,
            timeouts: self.timeouts,
            busy: self.busy.clone(),
        }
    }

    /// Runs until one more block is final at every peer.
    pub(super) fn step_until_final(&mut self) -> Result<(), CoreBenchError> {
        let before = self.bus.tally().all_final();
        let started = Instant::now();
        while self.bus.tally().all_final() == before {
            if started.elapsed() > NO_PROGRESS_LIMIT {
                return Err(CoreBenchError::NoProgress {
                    height: self.bus.tally().all_final(),
                    limit: NO_PROGRESS_LIMIT,
                });
            }
            self.step()?;
        }
        Ok(())
    }

    /// Delivers one message, or, with none in flight, moves time to the next timer.
    fn step(&mut self) -> Result<(), CoreBenchError> {
        let before = self.bus.tally().all_final();
        match self.bus.pop() {
            Some(envelope) => self.deliver(envelope)?,
            None => self.fire_next_timers()?,
        }
        if self.bus.tally().all_final() > before || self.workload == Workload::OneItem {
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
            from: self.bus.id(from),
            message,
        };
        self.run_batch(to, |step, host| {
            step.handle(host, input);
        })?;
        self.busy[to] += started.elapsed();
        Ok(())
    }

    /// Moves time to the earliest timer of any peer and fires every timer then due. The
    /// steps keep each round's timer until it fires, so older rounds' come along; the core
    /// ignores those.
    fn fire_next_timers(&mut self) -> Result<(), CoreBenchError> {
        let next = self.steps.iter().filter_map(BenchStep::next_timer).min();
        let Some(next) = next else {
            return Err(CoreBenchError::Stalled {
                outstanding: self.submitted.iter().sum::<u64>() - self.bus.tally().items(),
            });
        };
        self.bus.advance_to(next);
        self.timeouts += 1;
        for peer in 0..self.steps.len() {
            if self.steps[peer].next_timer().is_some_and(|at| at <= next) {
                let started = Instant::now();
                self.run_batch(peer, |step, host| step.fire_due(host))?;
                self.busy[peer] += started.elapsed();
            }
        }
        Ok(())
    }

    /// Submits what the workload wants pending.
    pub(super) fn top_up(&mut self) -> Result<(), CoreBenchError> {
        match self.workload {
            Workload::OneItem => {
                if self.submitted.iter().sum::<u64>() == self.bus.tally().items() {
                    let peer = self.next_submitter;
                    self.next_submitter = (peer + 1) % self.steps.len();
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
                    (PENDING_BLOCKS * max_block_items as u64).div_ceil(self.steps.len() as u64);
                for peer in 0..self.steps.len() {
                    let outstanding = self.submitted[peer] - self.bus.tally().items_by(peer);
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
            entries: vec![Entry {
                module: ModuleId(0),
                data,
            }],
        };
        self.run_batch(peer, |step, host| {
            step.handle(host, input);
        })?;
        self.busy[peer] += started.elapsed();
        self.submitted[peer] += 1;
        Ok(())
    }

    /// One batch through `peer`'s step: `feed` hands the core its inputs, then the step
    /// commits and carries out the outputs, encoding what the peer sends. Callers hand it one
    /// input (or the timers due at once): the null store makes a commit free, so a larger
    /// batch would save nothing and only merge items into fewer messages than the core sends
    /// one at a time, changing what is measured.
    fn run_batch(
        &mut self,
        peer: usize,
        feed: impl FnOnce(&mut BenchStep, &BusHost<'_>),
    ) -> Result<(), CoreBenchError> {
        let mut host = self.bus.host(peer);
        let step = &mut self.steps[peer];
        feed(step, &host);
        let flushed = step.flush(&mut host);
        self.check(peer, flushed)?;
        Ok(())
    }

    /// What a call into `peer`'s step returned, unless it or the host met an error. The host
    /// stops a step (`Flow::Crash`) only after recording the error that ends the run, so the
    /// flow a step returns tells nothing more.
    fn check<T>(&mut self, peer: usize, result: anyhow::Result<T>) -> Result<T, CoreBenchError> {
        let value = result.map_err(|source| CoreBenchError::Step { peer, source })?;
        self.bus.take_error()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::hash::Hash;
    use bfte_shared::round::Round;
    use bfte_shared::vote::{Vote, VoteKind};

    use super::*;
    use crate::driver::Host;

    /// The step turns evidence into a proof it submits; the benchmark must fail instead, since
    /// every peer is correct.
    #[test]
    fn a_double_vote_fails_the_run_with_evidence() {
        let (peers, workload) = (4, Workload::OneItem);
        let secrets = secrets(peers);
        let federation = genesis(&secrets, workload)
            .expect("genesis")
            .federation_id();
        let mut cluster = Cluster::start(peers, workload).expect("start");
        let (liar, witness) = (0, 1);
        let to = [cluster.bus.id(witness)];
        for block in [Hash([1; 32]), Hash([2; 32])] {
            let vote = Vote::new(
                &federation,
                &secrets[liar],
                Round(1),
                VoteKind::Notarize(block),
            );
            cluster.bus.host(liar).send(&to, &Message::Vote(vote));
        }
        let outcome = (0..1_000).try_for_each(|_| cluster.step());
        assert!(
            matches!(outcome, Err(CoreBenchError::Evidence { peer }) if peer == witness),
            "{outcome:?}"
        );
    }
}
