//! Membership changes in the simulator: a correct founder puts each change of the scenario's
//! schedule into consensus as an item; each peer's model ledger finds it while applying the
//! finalized chain and ends the epoch at that block, as the real ledger does when a
//! consensus_ctrl change passes. The peer then moves its disk and core into the new epoch
//! exactly as the node's driver and store do.

use std::collections::BTreeMap;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::{EpochConfig, Member};
use bfte_shared::round::Height;

use super::events::Event;
use super::runner::{SERVE_LIMIT, Simulation};
use bfte_consensus::Input;

/// What an epoch-change item's data starts with; the member indices follow as CBOR.
const CHANGE_TAG: &[u8] = b"bfte/sim/epoch\0";

/// Blocks an ended epoch finalized above its last block, and the certificate of the last one
/// (or of that block itself).
pub(super) type EpochEnds = BTreeMap<u64, (Vec<Block>, Certificate)>;

pub(super) fn change_item(members: &[usize]) -> Vec<u8> {
    let mut data = CHANGE_TAG.to_vec();
    data.extend(codec::encode(
        &members.iter().map(|&m| m as u64).collect::<Vec<_>>(),
    ));
    data
}

/// The member indices a block's first epoch-change item names, if any.
fn change_in(block: &Block, peers: usize) -> Option<Vec<usize>> {
    block.payload.items.iter().find_map(|item| {
        let body = item.data.strip_prefix(CHANGE_TAG)?;
        let members: Vec<u64> = codec::decode(body, 1024).ok()?;
        let members: Vec<usize> = members.into_iter().map(|m| m as usize).collect();
        (!members.is_empty() && members.iter().all(|&m| m < peers)).then_some(members)
    })
}

impl Simulation {
    /// Called by the model ledger after applying `block`: a change item ends the epoch there.
    /// Returns whether it did.
    pub(super) fn check_epoch_change(&mut self, peer: usize, block: &Block) -> bool {
        if self.scenario.membership.is_empty() {
            return false;
        }
        let Some(members) = change_in(block, self.ids.len()) else {
            return false;
        };
        let current = &self.peers[peer].disk.epoch;
        let epoch = EpochConfig {
            number: current.number + 1,
            start_height: block.header.height,
            start_block: block.hash(),
            members: members
                .iter()
                .map(|&m| Member {
                    id: self.ids[m],
                    name: String::new(),
                    addrs: Vec::new(),
                })
                .collect::<Vec<_>>(),
            params: current.params.clone(),
            modules: Vec::new(),
        };
        let mut epoch = epoch;
        epoch.members.sort_by_key(|m| m.id);
        self.switch_epoch(peer, epoch);
        true
    }

    /// What the store's `switch_epoch` and the driver do: the chain ends at the start block,
    /// the rest is kept as the old epoch's end proof, nonces roll back, round state goes, and
    /// a fresh core starts in the new epoch; the network connects the new peer set.
    fn switch_epoch(&mut self, peer: usize, epoch: EpochConfig) {
        let start = epoch.start_height.0 as usize;
        let federation = self.genesis.federation_id();
        let disk = &mut self.peers[peer].disk;
        let tail: Vec<_> = disk.chain.split_off(start + 1);
        let end = match (&disk.chain[start].1, tail.last()) {
            (Some(own), _) => Some((Vec::new(), own.clone())),
            (None, Some((_, Some(last)))) => {
                Some((tail.iter().map(|(b, _)| b.clone()).collect(), last.clone()))
            }
            _ => None,
        };
        if let Some(end) = end {
            disk.ends.insert(start as u64, end);
        }
        disk.roots.truncate(start + 1);
        let mut first = BTreeMap::new();
        for (block, _) in &tail {
            for item in &block.payload.items {
                first.entry(item.author).or_insert(item.nonce);
            }
        }
        for (author, nonce) in first {
            disk.nonces.insert(author, nonce.saturating_sub(1));
        }
        disk.votes.clear();
        disk.certificates.clear();
        disk.blocks.clear();
        let previous = std::mem::replace(&mut disk.epoch, epoch.clone());
        for (block, _) in &tail {
            for item in &block.payload.items {
                if let Some(tracked) = self.items.get_mut(&item.id(&federation)) {
                    tracked.1 &= !(1 << peer);
                }
            }
        }
        self.checker
            .on_epoch(peer, epoch.number, start as u64, epoch.start_block);
        if self.checker.is_correct(peer) {
            self.stats.epoch_switches += 1;
        }
        // The old core goes with its timers and pending ledger work; the new one starts from
        // the disk.
        let state = &mut self.peers[peer];
        state.core = None;
        state.timers.clear();
        state.generation += 1;
        self.start_peer(peer);
        let state = &mut self.peers[peer];
        if let (Some(core), Some(byzantine)) = (state.core.as_ref(), state.byzantine.as_mut()) {
            byzantine.set_domain(core.domain());
        }
        // New links come up on both ends, as a node's transport dials a new peer set.
        let joined: Vec<usize> = epoch
            .members
            .iter()
            .filter(|m| previous.member(&m.id).is_none())
            .filter_map(|m| self.ids.iter().position(|id| *id == m.id))
            .collect();
        for other in joined {
            if other == peer {
                continue;
            }
            let now = self.clock(other);
            if let Some(core) = self.peers[other].core.as_mut() {
                let output = core.handle(now, Input::PeerConnected(self.ids[peer]));
                self.apply_output(other, output);
            }
            let now = self.clock(peer);
            if let Some(core) = self.peers[peer].core.as_mut() {
                let output = core.handle(now, Input::PeerConnected(self.ids[other]));
                self.apply_output(peer, output);
            }
        }
        if Some(peer) == self.change_submitter {
            let gap = self.rng_range(500, 2_000);
            self.schedule(
                self.now + gap,
                Event::ProposeChange {
                    index: epoch.number as usize + 1,
                },
            );
        }
    }

    /// The submitter puts change `index` of the schedule into consensus (again later if it is
    /// down).
    pub(super) fn propose_change(&mut self, index: usize) {
        let Some(members) = self.scenario.membership.get(index).cloned() else {
            return;
        };
        let Some(submitter) = self.change_submitter else {
            return;
        };
        let now = self.clock(submitter);
        let Some(core) = self.peers[submitter].core.as_mut() else {
            self.schedule(self.now + 100, Event::ProposeChange { index });
            return;
        };
        let output = core.handle(
            now,
            Input::Submit {
                module: bfte_shared::modules::DATA,
                data: change_item(&members),
            },
        );
        self.apply_output(submitter, output);
    }

    /// Finalized blocks from `from` on, as the store serves them: up to the first block with
    /// its own finalization at or after the serve limit, never across an epoch's end (an answer
    /// that reaches one carries that epoch's end proof).
    pub(super) fn serve(&self, peer: usize, from: Height) -> Option<FinalizedChain> {
        let disk = &self.peers[peer].disk;
        let chain = &disk.chain;
        let start = from.0 as usize;
        if start == 0 || start >= chain.len() {
            return None;
        }
        let end_proof = disk.ends.range(from.0..).next();
        let last = end_proof.map_or(chain.len() - 1, |(at, _)| *at as usize);
        let want_end = (start + SERVE_LIMIT).min(last);
        if let Some(end) = (want_end..=last).find(|&i| chain[i].1.is_some()) {
            return Some(FinalizedChain {
                blocks: chain[start..=end].iter().map(|(b, _)| b.clone()).collect(),
                finalization: chain[end].1.clone()?,
            });
        }
        let (_, (tail, finalization)) = end_proof?;
        let mut blocks: Vec<Block> = chain[start..=last].iter().map(|(b, _)| b.clone()).collect();
        blocks.extend(tail.iter().cloned());
        Some(FinalizedChain {
            blocks,
            finalization: finalization.clone(),
        })
    }
}
