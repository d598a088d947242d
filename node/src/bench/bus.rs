//! The world the benchmark's driver steps run in: an in-memory FIFO bus that delivers every
//! message at once, the cluster's simulated clock, and the tally of what the cores finalized.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bfte_consensus::{Core, Now, Output};
use bfte_shared::message::Message;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

use super::core::CoreBenchError;
use super::ports::NullStore;
use super::tally::FinalTally;
use crate::driver::{Flow, Host};

/// An encoded message on its way from one peer to another.
#[derive(Debug)]
pub(super) struct Envelope {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) bytes: Arc<[u8]>,
}

/// The messages in flight between the cores, their shared clock, and what they finalized.
#[derive(Debug)]
pub(super) struct Bus {
    /// Simulated milliseconds, both monotonic and wall: time stands still while messages are
    /// in flight.
    now: u64,
    envelopes: VecDeque<Envelope>,
    /// Peer ids in peer-set order, so a peer's index here is its index in the peer set.
    ids: Vec<PeerId>,
    index: HashMap<PeerId, usize>,
    tally: FinalTally,
    /// The first error a host met: host methods cannot return one.
    error: Option<CoreBenchError>,
}

impl Bus {
    pub(super) fn new(ids: Vec<PeerId>) -> Self {
        let index: HashMap<PeerId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        Bus {
            now: 0,
            envelopes: VecDeque::new(),
            ids,
            tally: FinalTally::new(index.clone()),
            index,
            error: None,
        }
    }

    pub(super) fn id(&self, peer: usize) -> PeerId {
        self.ids[peer]
    }

    pub(super) fn tally(&self) -> &FinalTally {
        &self.tally
    }

    /// The oldest message in flight.
    pub(super) fn pop(&mut self) -> Option<Envelope> {
        self.envelopes.pop_front()
    }

    /// Moves time on to `at`, if that is later.
    pub(super) fn advance_to(&mut self, at: u64) {
        self.now = self.now.max(at);
    }

    /// The world as `peer`'s step sees it.
    pub(super) fn host(&mut self, peer: usize) -> BusHost<'_> {
        BusHost { bus: self, peer }
    }

    /// Fails with the error a host met in the last call into a step, if it met one.
    pub(super) fn take_error(&mut self) -> Result<(), CoreBenchError> {
        self.error.take().map_or(Ok(()), Err)
    }
}

/// One peer's view of the bus while its step runs.
pub(super) struct BusHost<'a> {
    bus: &'a mut Bus,
    peer: usize,
}

impl BusHost<'_> {
    /// Tallies what the peer finalized; evidence fails the run, since every peer is correct.
    fn record(&mut self, outputs: &[(Output, Round)]) -> Result<(), CoreBenchError> {
        for (output, _) in outputs {
            if !output.evidence.is_empty() {
                return Err(CoreBenchError::Evidence { peer: self.peer });
            }
            for batch in &output.finalized {
                for block in &batch.blocks {
                    self.bus.tally.record(self.peer, block)?;
                }
            }
        }
        self.bus.tally.advance();
        Ok(())
    }
}

impl Host<NullStore> for BusHost<'_> {
    fn now(&self) -> Now {
        Now::from(self.bus.now)
    }

    /// After an error the run ends: the step stops as if the peer crashed, sending nothing
    /// more (in particular not the evidence it would submit), and the cluster reports it.
    fn committed(&mut self, outputs: &[(Output, Round)], _core: &Core) -> Flow {
        match self.record(outputs) {
            Ok(()) => Flow::Go,
            Err(error) => {
                self.bus.error.get_or_insert(error);
                Flow::Crash
            }
        }
    }

    /// Encoded once for all receivers, in the sender's busy time.
    fn send(&mut self, to: &[PeerId], message: &Message) {
        let bytes: Arc<[u8]> = message.encode().into();
        for id in to {
            if let Some(&to) = self.bus.index.get(id) {
                self.bus.envelopes.push_back(Envelope {
                    from: self.peer,
                    to,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    /// Never called: the null ledger starts no epoch.
    fn epoch_started(&mut self, _: &EpochConfig, _: &[PeerId], _: &Core, _: &NullStore) {}
}
