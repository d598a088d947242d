//! Membership changes in the simulator: a correct founder puts each change of the scenario's
//! schedule into consensus as an item; each peer's model ledger (`ledger.rs`) finds it while
//! applying the finalized chain and ends the epoch at that block, as the real ledger does when
//! a consensus_ctrl change passes; the driver step then moves the disk and the core into the
//! new epoch exactly as it does in the node.

use bfte_consensus::Core;
use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;

use super::events::Event;
use super::runner::Simulation;

/// What an epoch-change item's data starts with; the member indices follow as CBOR.
const CHANGE_TAG: &[u8] = b"bfte/sim/epoch\0";

pub(super) fn change_item(members: &[usize]) -> Vec<u8> {
    let mut data = CHANGE_TAG.to_vec();
    data.extend(codec::encode(
        &members.iter().map(|&m| m as u64).collect::<Vec<_>>(),
    ));
    data
}

/// The member indices a block's first epoch-change item names, if any.
pub(super) fn change_in(block: &Block, peers: usize) -> Option<Vec<usize>> {
    let entries = block.payload.items.iter().flat_map(|item| &item.entries);
    entries.into_iter().find_map(|entry| {
        let body = entry.data.strip_prefix(CHANGE_TAG)?;
        let members: Vec<u64> = codec::decode(body, 1024).ok()?;
        let members: Vec<usize> = members.into_iter().map(|m| m as usize).collect();
        (!members.is_empty() && members.iter().all(|&m| m < peers)).then_some(members)
    })
}

impl Simulation {
    /// A peer's step started a core in `epoch`: the checker learns the boundary, items the
    /// switch dropped are owed to that peer again, new links come up, and the submitter
    /// schedules the next change.
    pub(super) fn on_epoch(
        &mut self,
        peer: usize,
        epoch: &EpochConfig,
        previous: &[PeerId],
        core: &Core,
        dropped: &[Block],
    ) {
        let federation = self.genesis.federation_id();
        for item in dropped.iter().flat_map(|b| &b.payload.items) {
            if let Some(tracked) = self.items.get_mut(&item.id(&federation)) {
                tracked.1 &= !(1 << peer);
            }
        }
        self.checker
            .on_epoch(peer, epoch.number, epoch.start_height.0, epoch.start_block);
        if self.checker.is_correct(peer) {
            self.stats.epoch_switches += 1;
        }
        if let Some(byzantine) = self.peers[peer].byzantine.as_mut() {
            byzantine.set_domain(core.domain());
        }
        // New links come up on both ends, as a node's transport dials a new peer set.
        let joined: Vec<usize> = epoch
            .members
            .iter()
            .filter(|m| !previous.contains(&m.id))
            .filter_map(|m| self.ids.iter().position(|id| *id == m.id))
            .filter(|&other| other != peer)
            .collect();
        for other in joined {
            self.schedule(
                self.now,
                Event::Connected {
                    peer: other,
                    with: peer,
                },
            );
            self.schedule(self.now, Event::Connected { peer, with: other });
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
        let data = change_item(&members);
        if self.durable_changes.contains(&data) {
            return;
        }
        let entries = vec![bfte_shared::item::Entry {
            module: bfte_shared::modules::DATA,
            data,
        }];
        // Until the change is durable: the submitter may be down, or crash before its batch
        // commits.
        let retry = if self.submit_entries(submitter, entries) {
            1_000
        } else {
            100
        };
        self.schedule(self.now + retry, Event::ProposeChange { index });
    }
}
