//! The core benchmark's store and ledger behind the driver step's traits: both do nothing, so
//! the benchmark measures the core and the step, not a disk or module state.

use std::convert::Infallible;

use bfte_consensus::{Output, Restored};
use bfte_shared::federation::Genesis;
use bfte_shared::hash::Hash;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use crate::driver::{BlockLedger, DurableStore};
use crate::ledger::CatchUp;

/// A store that keeps nothing: disk cost belongs to the node, not the core.
#[derive(Debug)]
pub(super) struct NullStore {
    genesis: Genesis,
}

impl NullStore {
    pub(super) fn new(genesis: &Genesis) -> Self {
        NullStore {
            genesis: genesis.clone(),
        }
    }
}

impl DurableStore for NullStore {
    type Error = Infallible;

    fn commit<'a>(
        &mut self,
        _outputs: impl Iterator<Item = &'a Output>,
        _sync: bool,
    ) -> Result<(), Infallible> {
        Ok(())
    }

    /// Only ever asked at the start: the null ledger starts no epoch.
    fn restored(&self) -> Result<Restored, Infallible> {
        Ok(Restored::genesis(&self.genesis))
    }

    /// Pulls go unanswered: on a lossless instant bus nobody falls behind, so only the
    /// start-up pulls occur.
    fn finalized_chain(
        &self,
        _from: Height,
        _limit: usize,
    ) -> Result<Option<FinalizedChain>, Infallible> {
        Ok(None)
    }

    fn switch_epoch(&mut self, _epoch: &EpochConfig, _me: &PeerId) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A ledger that applies nothing: the core runs with no state roots to commit to or check,
/// in the genesis epoch for good.
#[derive(Debug)]
pub(super) struct NullLedger {
    epoch: EpochConfig,
}

impl NullLedger {
    pub(super) fn new(genesis: &Genesis) -> Self {
        NullLedger {
            epoch: bfte_consensus::genesis_epoch(genesis),
        }
    }
}

impl BlockLedger<NullStore> for NullLedger {
    type Error = Infallible;

    fn epoch(&self, _store: &NullStore) -> Result<EpochConfig, Infallible> {
        Ok(self.epoch.clone())
    }

    fn recent_roots(
        &self,
        _store: &NullStore,
        _limit: u64,
    ) -> Result<Vec<(Height, Hash)>, Infallible> {
        Ok(Vec::new())
    }

    fn catch_up(&mut self, _store: &NullStore) -> Result<CatchUp, Infallible> {
        Ok(CatchUp::default())
    }
}
