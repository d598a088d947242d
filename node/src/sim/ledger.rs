//! The simulator's stand-in for the ledger: a state root that is a deterministic function of
//! the finalized chain, as the real ledger's root over module state is. Peers apply finalized
//! blocks only once the simulation releases them, after a random delay, so voters meet
//! commitments to states they have not reached. An epoch-change item of the membership
//! schedule ends the epoch at its block, as a passed consensus_ctrl change does.

use std::sync::Arc;

use bfte_shared::block::Block;
use bfte_shared::hash::Hash;
use bfte_shared::modules::ctrl::{EpochConfig, Member};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::disk::{Disk, Refused};
use super::membership::change_in;
use crate::driver::BlockLedger;
use crate::ledger::CatchUp;

/// The state root after applying `block` to the state whose root is `previous`.
pub fn model_root(previous: &Hash, block: &Block) -> Hash {
    let mut bytes = previous.0.to_vec();
    bytes.extend_from_slice(&block.hash().0);
    Hash::tagged(b"bfte/sim/state-root\0", &bytes)
}

/// The root after the genesis block: the state every peer starts from.
pub fn genesis_root(genesis: &Block) -> Hash {
    model_root(&Hash::ZERO, genesis)
}

/// A peer's model ledger; it survives crashes with the disk, as the real one lives in redb,
/// where its writes are never synced on their own: a crash keeps what the disk's last
/// checkpoint covered.
#[derive(Debug)]
pub(super) struct ModelLedger {
    /// The state root after each applied height, from the genesis block's.
    roots: Vec<Hash>,
    epoch: EpochConfig,
    /// The applied heights and epoch as of the last disk checkpoint this ledger saw, and that
    /// checkpoint's count: what a crash comes back to unless the disk checkpointed again since.
    durable: (usize, EpochConfig, u64),
    /// Highest height the simulation lets it apply yet.
    released: u64,
    /// Every simulated peer's id, by index: what epoch-change items name.
    ids: Arc<[PeerId]>,
    /// Whether the scenario has a membership schedule (only then do change items count).
    membership: bool,
}

impl ModelLedger {
    pub(super) fn new(
        genesis: &Block,
        epoch: EpochConfig,
        ids: Arc<[PeerId]>,
        membership: bool,
    ) -> Self {
        ModelLedger {
            roots: vec![genesis_root(genesis)],
            durable: (1, epoch.clone(), 0),
            epoch,
            released: 0,
            ids,
            membership,
        }
    }

    /// The process died: what was applied before the disk's last checkpoint stays.
    pub(super) fn crash(&mut self, disk: &Disk) {
        self.note_checkpoints(disk);
        let (applied, epoch, _) = &self.durable;
        self.roots.truncate(*applied);
        self.epoch = epoch.clone();
    }

    /// A disk checkpoint since the last look made everything applied so far durable.
    fn note_checkpoints(&mut self, disk: &Disk) {
        if disk.checkpoints != self.durable.2 {
            self.durable = (self.roots.len(), self.epoch.clone(), disk.checkpoints);
        }
    }

    /// Lets the ledger apply up to `height`.
    pub(super) fn release(&mut self, height: u64) {
        self.released = self.released.max(height);
    }

    /// The epoch a change item in `block` starts, if it holds one.
    fn change(&self, block: &Block) -> Option<EpochConfig> {
        if !self.membership {
            return None;
        }
        let members = change_in(block, self.ids.len())?;
        let mut members: Vec<Member> = members
            .iter()
            .map(|&m| Member {
                id: self.ids[m],
                name: String::new(),
                addrs: Vec::new(),
            })
            .collect();
        members.sort_by_key(|m| m.id);
        Some(EpochConfig {
            number: self.epoch.number + 1,
            start_height: block.header.height,
            start_block: block.hash(),
            members,
            params: self.epoch.params.clone(),
            modules: Vec::new(),
        })
    }
}

impl BlockLedger<Disk> for ModelLedger {
    type Error = Refused;

    fn epoch(&self, _: &Disk) -> Result<EpochConfig, Refused> {
        Ok(self.epoch.clone())
    }

    fn recent_roots(&self, _: &Disk, limit: u64) -> Result<Vec<(Height, Hash)>, Refused> {
        let skip = self.roots.len().saturating_sub(limit as usize);
        Ok(self
            .roots
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(height, root)| (Height(height as u64), *root))
            .collect())
    }

    fn catch_up(&mut self, disk: &Disk) -> Result<CatchUp, Refused> {
        self.note_checkpoints(disk);
        let mut done = CatchUp {
            applied: Vec::new(),
            epoch: None,
            proposals_changed: Vec::new(),
        };
        while (self.roots.len() as u64) <= self.released {
            let height = self.roots.len();
            let Some((block, _)) = disk.chain.get(height) else {
                break;
            };
            let root = model_root(&self.roots[height - 1], block);
            self.roots.push(root);
            done.applied.push((Height(height as u64), root));
            if let Some(epoch) = self.change(block) {
                self.epoch = epoch.clone();
                done.epoch = Some(epoch);
                break;
            }
        }
        Ok(done)
    }
}
