//! Carrying out a core's output as a node must: persist first, then finalized blocks,
//! evidence, timers, served history and the messages, through the simulated network.

use std::sync::Arc;

use bfte_consensus::{Destination, Durable, Evidence, Output};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::message::Message;
use rand::RngExt;

use super::events::Event;
use super::runner::{MAX_APPLY_DELAY_MS, Simulation};

impl Simulation {
    /// Carries out one output in the order a real node must: persist, then everything else.
    pub(super) fn apply_output(&mut self, peer: usize, output: Output) {
        let Output {
            persist,
            send,
            timers,
            finalized,
            serve_finalized,
            evidence,
        } = output;
        let crash_now = !persist.is_empty()
            && !self.healed
            && self.checker.is_correct(peer)
            && self.rng.random_bool(self.scenario.crash_after_persist);
        for durable in persist {
            match durable {
                Durable::Vote(vote) => {
                    self.checker.on_signed_vote(peer, &vote);
                    if self
                        .scenario
                        .membership
                        .first()
                        .is_some_and(|founders| !founders.contains(&peer))
                    {
                        self.stats.votes_by_joiners += 1;
                    }
                    self.peers[peer].disk.votes.push(vote);
                }
                Durable::OwnItem(item) => {
                    // Items of a peer that is later removed may never be final: only those of
                    // peers in force throughout are owed.
                    if self.permanent & 1 << peer != 0 {
                        let id = item.id(&self.genesis.federation_id());
                        self.items.entry(id).or_insert((self.now, 0, false));
                    }
                    self.peers[peer].disk.own_items.push(item);
                }
                Durable::Certificate(certificate) => {
                    self.peers[peer].disk.certificates.push(certificate);
                }
                Durable::Block(block) => self.peers[peer].disk.blocks.push(block),
            }
        }
        if crash_now {
            self.crash(peer);
            let restart = self.now + self.rng.random_range(10..1_000);
            self.schedule(restart, Event::Restart { peer });
            return;
        }
        let finalized_any = !finalized.is_empty();
        for batch in finalized {
            self.record_finalized(peer, batch.blocks, batch.certificate);
        }
        if finalized_any {
            let generation = self.peers[peer].generation;
            let at = self.now + self.rng.random_range(0..=MAX_APPLY_DELAY_MS);
            self.schedule(at, Event::Apply { peer, generation });
        }
        for item in evidence {
            let accused = match &item {
                Evidence::ConflictingVotes(pair) => pair.0.signer,
                Evidence::ConflictingProposals(pair) => pair.0.block.header.proposer,
            };
            if let Some(index) = self.ids.iter().position(|id| *id == accused) {
                self.checker.on_evidence_against(index);
            }
        }
        let generation = self.peers[peer].generation;
        for (timer, at) in timers {
            self.peers[peer].timers.insert(timer, at);
            self.schedule(
                at,
                Event::Timer {
                    peer,
                    timer,
                    generation,
                },
            );
        }
        for (to, from_height) in serve_finalized {
            if let Some(chain) = self.serve(peer, from_height) {
                self.send_message(peer, Destination::Peer(to), Message::Finalized(chain));
            }
        }
        for (to, message) in send {
            if let Message::Proposal(proposal) = &message {
                self.checker
                    .on_proposal(peer, proposal.block.header.round, proposal.block.hash());
            }
            self.send_message(peer, to, message);
        }
    }

    fn record_finalized(&mut self, peer: usize, blocks: Vec<Block>, certificate: Certificate) {
        self.checker.on_finalized(peer, &blocks);
        let correct = self.checker.is_correct(peer);
        let permanent = self.permanent;
        let federation = self.genesis.federation_id();
        let last = blocks.len().saturating_sub(1);
        for (i, block) in blocks.into_iter().enumerate() {
            for item in &block.payload.items {
                let nonce = self.peers[peer].disk.nonces.entry(item.author).or_insert(0);
                *nonce = (*nonce).max(item.nonce);
                if !correct {
                    continue;
                }
                if let Some((submitted, done, counted)) = self.items.get_mut(&item.id(&federation))
                {
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
            let certificate = (i == last).then(|| certificate.clone());
            self.peers[peer].disk.chain.push((block, certificate));
        }
        let tip_round = self.peers[peer]
            .disk
            .chain
            .last()
            .map(|(b, _)| b.header.round);
        if let Some(tip_round) = tip_round {
            let disk = &mut self.peers[peer].disk;
            disk.votes.retain(|v| v.round > tip_round);
            disk.certificates.retain(|c| c.round > tip_round);
            disk.blocks.retain(|b| b.header.round > tip_round);
        }
    }

    fn send_message(&mut self, from: usize, to: Destination, message: Message) {
        if self.checker.is_correct(from) {
            self.stats.last_correct_send_ms = self.now;
            if let Message::Certificate(certificate) = &message {
                let bit = match certificate.kind {
                    bfte_shared::vote::VoteKind::Notarize(_) => 1,
                    bfte_shared::vote::VoteKind::Dummy => 2,
                    bfte_shared::vote::VoteKind::Finalize(_) => 0,
                };
                let seen = self.certified.entry(certificate.round.0).or_default();
                if *seen | bit == 3 && *seen != 3 {
                    self.stats.rounds_notarized_and_dummy += 1;
                }
                *seen |= bit;
            }
        }
        let targets: Vec<usize> = match to {
            // As the driver does: to the peers of the sender's epoch.
            Destination::AllPeers => self.peers[from]
                .disk
                .epoch
                .members
                .iter()
                .filter_map(|m| self.ids.iter().position(|id| *id == m.id))
                .filter(|&p| p != from)
                .collect(),
            Destination::Peer(id) => self.ids.iter().position(|p| *p == id).into_iter().collect(),
        };
        let outgoing = match self.peers[from].byzantine.as_mut() {
            Some(byzantine) => byzantine.rewrite(&mut self.rng, targets, message),
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
