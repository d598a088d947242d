//! The ledger's state roots as the core knows them: the driver reports each finalized height
//! it applied (`Input::Applied`), a proposal commits to the newest one its leader had, and a
//! voter checks that commitment against its own root before voting. A block's commitment is
//! therefore checked by at least one correct voter before it can be notarized, and a peer
//! whose module state diverges refuses the first block that commits to a state it computed
//! differently, loudly.

use std::collections::BTreeMap;

use bfte_shared::block::BlockHeader;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;

use super::core::Core;
use super::proposal::Verdict;

/// Roots kept behind the newest applied height: commitments are to recent states, since a
/// leader commits to the newest state it has and never to one below its parent's.
const ROOT_WINDOW: u64 = 1_024;

/// Roots of applied heights, newest last, at most [`ROOT_WINDOW`] of them.
#[derive(Debug, Default, Clone)]
pub(super) struct AppliedRoots {
    roots: BTreeMap<Height, Hash>,
}

impl AppliedRoots {
    pub(super) fn newest(&self) -> Option<(Height, Hash)> {
        self.roots.last_key_value().map(|(h, r)| (*h, *r))
    }

    fn insert(&mut self, height: Height, root: Hash) {
        self.roots.insert(height, root);
        if let Some(oldest_kept) = height.0.checked_sub(ROOT_WINDOW) {
            self.roots = self.roots.split_off(&Height(oldest_kept));
        }
    }
}

impl Core {
    /// The driver applied the finalized block at `height`; `root` is the state after it.
    pub(super) fn on_applied(&mut self, height: Height, root: Hash) {
        if height > self.tip.height {
            tracing::warn!(%height, tip = %self.tip.height, "ignored a state root above the finalized tip");
            return;
        }
        self.applied.insert(height, root);
        self.try_vote();
    }

    /// The state a child of `parent` commits to: the newest this peer applied, unless the
    /// parent already commits to a newer one (then the parent's, carried forward).
    pub(super) fn commitment_for(&self, parent: &BlockHeader) -> (Height, Hash) {
        match self.applied.newest() {
            Some((height, root)) if height >= parent.state_height => (height, root),
            _ => (parent.state_height, parent.state_root),
        }
    }

    /// Checks a proposed block's state commitment against this peer's own roots.
    pub(super) fn check_commitment(
        &self,
        header: &BlockHeader,
        parent: &BlockHeader,
    ) -> Result<(), Verdict> {
        #[cfg(feature = "mutants")]
        if self.mutated(super::mutants::Mutation::SkipStateCheck) {
            return Ok(());
        }
        let height = header.state_height;
        if height > parent.height || height < parent.state_height {
            return Err(Verdict::Invalid("state commitment outside parent's range"));
        }
        if (height, header.state_root) == (parent.state_height, parent.state_root) {
            return Ok(());
        }
        match self.applied.roots.get(&height) {
            Some(root) if *root == header.state_root => Ok(()),
            Some(root) => {
                tracing::warn!(
                    peer = %self.me.short(), %height, ours = %root, theirs = %header.state_root,
                    proposer = %header.proposer.short(),
                    "refused a proposal committing to another state root than ours: the proposer lies or this node's state diverged (if the federation goes on finalizing without this node, it is this node)"
                );
                Err(Verdict::Invalid("state root differs from ours"))
            }
            None if self
                .applied
                .newest()
                .is_some_and(|(newest, _)| newest > height) =>
            {
                Err(Verdict::Invalid("state commitment too old to check"))
            }
            None if height > self.tip.height => Err(Verdict::Missing(
                "the finalized block the state commitment is for",
            )),
            None => Err(Verdict::Waiting("the ledger applying the committed height")),
        }
    }
}
