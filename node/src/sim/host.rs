//! The world around one simulated peer's driver step: its clock, the simulated network (with
//! a Byzantine peer's rewrites), the invariant checker fed from every durable output, and the
//! crash right after a commit, or after proposals left before it.

use std::sync::Arc;

use bfte_consensus::{Core, Durable, Evidence, Now, Output};
use bfte_shared::block::Block;
use bfte_shared::message::Message;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::VoteKind;
use rand::RngExt;

use super::disk::Disk;
use super::events::Event;
use super::runner::Simulation;
use crate::driver::{Flow, Host};

/// One peer's view of the simulation while its step runs.
pub(super) struct SimHost<'a> {
    pub(super) sim: &'a mut Simulation,
    pub(super) peer: usize,
}

impl Host<Disk> for SimHost<'_> {
    fn now(&self) -> Now {
        self.sim.clock(self.peer)
    }

    fn committed(&mut self, outputs: &[(Output, Round)], _core: &Core) -> Flow {
        let (sim, peer) = (&mut *self.sim, self.peer);
        let mut persisted = false;
        let mut finalized_to = None;
        for (output, _) in outputs {
            persisted |= !output.persist.is_empty();
            for durable in &output.persist {
                sim.on_persisted(peer, durable);
            }
            for batch in &output.finalized {
                sim.on_finalized(peer, &batch.blocks);
                finalized_to = batch.blocks.last().map(|b| b.header.height.0);
            }
            for evidence in &output.evidence {
                let accused = match evidence {
                    Evidence::ConflictingVotes(pair) => pair.0.signer,
                    Evidence::ConflictingProposals(pair) => pair.0.block.header.proposer,
                };
                if let Some(index) = sim.ids.iter().position(|id| *id == accused) {
                    sim.checker.on_evidence_against(index);
                }
            }
        }
        // After an unsynced commit too: it is lost, and the peer must come back from the
        // last sync.
        if (persisted || finalized_to.is_some())
            && !sim.healed
            && sim.checker.is_correct(peer)
            && sim.rng.random_bool(sim.scenario.crash_after_persist)
        {
            return Flow::Crash;
        }
        if let Some(height) = finalized_to {
            let at = sim.now + sim.rng.random_range(0..=sim.scenario.apply_delay_ms);
            sim.schedule(at, Event::Apply { peer, height });
        }
        Flow::Go
    }

    fn sent_early(&mut self) -> Flow {
        // Before the batch is durable: the crash loses it, proposals included.
        let sim = &mut *self.sim;
        if !sim.healed
            && sim.checker.is_correct(self.peer)
            && sim.rng.random_bool(sim.scenario.crash_after_persist)
        {
            return Flow::Crash;
        }
        Flow::Go
    }

    fn send(&mut self, to: &[PeerId], message: &Message) {
        self.sim.send_message(self.peer, to, message);
    }

    fn timer_set(&mut self, at: u64) {
        let peer = self.peer;
        self.sim.schedule(at, Event::Timer { peer });
    }

    fn epoch_started(
        &mut self,
        epoch: &EpochConfig,
        previous: &[PeerId],
        core: &Core,
        disk: &Disk,
    ) {
        self.sim
            .on_epoch(self.peer, epoch, previous, core, &disk.dropped);
    }
}

impl Simulation {
    fn on_persisted(&mut self, peer: usize, durable: &Durable) {
        match durable {
            Durable::Vote(vote) => {
                self.checker.on_signed_vote(peer, vote);
                if self
                    .scenario
                    .membership
                    .first()
                    .is_some_and(|founders| !founders.contains(&peer))
                {
                    self.stats.votes_by_joiners += 1;
                }
            }
            Durable::Certificate(certificate) if self.checker.is_correct(peer) => {
                let bit = match certificate.kind {
                    VoteKind::Notarize(_) => 1,
                    VoteKind::Dummy => 2,
                    VoteKind::Finalize(_) => 0,
                };
                let seen = self.certified.entry(certificate.round.0).or_default();
                if *seen | bit == 3 && *seen != 3 {
                    self.stats.rounds_notarized_and_dummy += 1;
                }
                *seen |= bit;
            }
            // Items of a peer that is later removed may never be final: only those of peers
            // in force throughout are owed.
            Durable::OwnItem(item) if (self.permanent & !self.restored) & 1 << peer != 0 => {
                if Some(peer) == self.change_submitter {
                    for entry in &item.entries {
                        self.durable_changes.insert(entry.data.clone());
                    }
                }
                let id = item.id(&self.genesis.federation_id());
                self.items.entry(id).or_insert((self.now, 0, false, peer));
            }
            _ => {}
        }
    }

    fn on_finalized(&mut self, peer: usize, blocks: &[Block]) {
        let again = self.checker.on_finalized(peer, blocks);
        if !self.checker.is_correct(peer) {
            return;
        }
        self.stats.refinalized += again as u64;
        let blocks = &blocks[again..];
        for block in blocks {
            self.probe.finalized(peer, block.hash(), self.now);
        }
        let permanent = self.permanent;
        let federation = self.genesis.federation_id();
        for item in blocks.iter().flat_map(|b| &b.payload.items) {
            let Some((submitted, done, counted, _)) = self.items.get_mut(&item.id(&federation))
            else {
                continue;
            };
            *done |= 1 << peer;
            if *done & permanent == permanent && !*counted {
                *counted = true;
                self.stats.items_finalized += 1;
                self.stats.last_item_final_ms = self.now;
                let since = (*submitted).max(self.scenario.heal_ms);
                let latency = self.now.saturating_sub(since);
                if self.now >= self.scenario.heal_ms {
                    self.stats.worst_item_latency_ms =
                        self.stats.worst_item_latency_ms.max(latency);
                }
            }
        }
    }

    /// Sends through the network, as a Byzantine peer rewrites it if this is one.
    pub(super) fn send_message(&mut self, from: usize, to: &[PeerId], message: &Message) {
        if self.checker.is_correct(from) {
            self.stats.last_correct_send_ms = self.now;
        }
        if let Message::Proposal(proposal) = message {
            let hash = proposal.block.hash();
            self.checker
                .on_proposal(from, proposal.block.header.round, hash);
            if self.checker.is_correct(from) {
                self.probe.proposed(from, hash, self.now);
            }
        }
        let targets: Vec<usize> = to
            .iter()
            .filter_map(|id| self.ids.iter().position(|p| p == id))
            .collect();
        let outgoing = match self.peers[from].byzantine.as_mut() {
            Some(byzantine) => byzantine.rewrite(&mut self.rng, targets, message.clone()),
            None => vec![(targets, message.encode())],
        };
        for (targets, bytes) in outgoing {
            let bytes = Arc::new(bytes);
            for to in targets {
                for at in self.network.transmit(&mut self.rng, self.now, from, to) {
                    self.schedule(
                        at,
                        Event::Deliver {
                            to,
                            from,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
        }
    }
}
