//! The node's redb store and ledger behind the driver step's traits. The store is shared: the
//! history server reads it while the step writes (redb serialises the two).

use std::sync::Arc;

use bfte_consensus::{Output, Restored};
use bfte_shared::hash::Hash;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::ports::{BlockLedger, DurableStore};
use crate::ledger::{CatchUp, Ledger, LedgerError};
use crate::store::{Store, StoreError};

impl DurableStore for Arc<Store> {
    type Error = StoreError;

    fn commit<'a>(
        &mut self,
        outputs: impl Iterator<Item = &'a Output>,
        sync: bool,
    ) -> Result<(), StoreError> {
        self.commit_outputs(outputs, sync)
    }

    fn restored(&self) -> Result<Restored, StoreError> {
        Store::restored(self)
    }

    fn finalized_chain(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Option<FinalizedChain>, StoreError> {
        Store::finalized_chain(self, from, limit)
    }

    fn switch_epoch(&mut self, epoch: &EpochConfig, me: &PeerId) -> Result<(), StoreError> {
        Store::switch_epoch(self, epoch, me)
    }
}

impl BlockLedger<Arc<Store>> for Ledger {
    type Error = LedgerError;

    fn epoch(&self, store: &Arc<Store>) -> Result<EpochConfig, LedgerError> {
        Ledger::epoch(self, store.database())
    }

    fn recent_roots(
        &self,
        store: &Arc<Store>,
        limit: u64,
    ) -> Result<Vec<(Height, Hash)>, LedgerError> {
        Ledger::recent_roots(self, store.database(), limit)
    }

    fn catch_up(&mut self, store: &Arc<Store>) -> Result<CatchUp, LedgerError> {
        Ledger::catch_up(self, store)
    }
}
