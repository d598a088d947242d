//! The ledger's own tables while a batch of blocks is applied in one write transaction: opened
//! and read once at its start, the lattice hash and the applied height written once at its end
//! (nothing outside the transaction sees the values in between), and the state root hashed
//! again only after a block that changed the state.

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::round::Height;
use redb::{ReadableTable, Table, WriteTransaction};

use super::apply::state_root;
use super::error::LedgerError;
use super::lthash::LtHash;
use crate::store::tables::{APPLIED_HEIGHT_KEY, LEDGER_META, LTHASH_KEY, OUTCOMES, STATE_ROOTS};

pub(super) struct Batch<'txn> {
    roots: Table<'txn, u64, &'static [u8; 32]>,
    outcomes: Table<'txn, u64, &'static [u8]>,
    /// The lattice hash of all module state after the last block applied.
    pub(super) lthash: LtHash,
    /// The state root of `lthash`, once hashed.
    root: Option<Hash>,
    /// The last height applied in this batch.
    applied: Option<Height>,
}

impl<'txn> Batch<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Batch<'txn>, LedgerError> {
        Ok(Batch {
            lthash: read_lthash(txn)?,
            roots: txn
                .open_table(STATE_ROOTS)
                .map_err(LedgerError::failed("opening `ledger/state_roots`"))?,
            outcomes: txn
                .open_table(OUTCOMES)
                .map_err(LedgerError::failed("opening `ledger/outcomes`"))?,
            root: None,
            applied: None,
        })
    }

    /// Our state root after `height`, if it is applied.
    pub(super) fn root_at(&self, height: Height) -> Result<Option<Hash>, LedgerError> {
        let root = self
            .roots
            .get(height.0)
            .map_err(LedgerError::failed("reading `ledger/state_roots`"))?;
        Ok(root.map(|root| Hash(*root.value())))
    }

    /// The state root after the block just applied: `changed` says whether it wrote any state
    /// (then the lattice hash moved), else the last root holds.
    pub(super) fn state_root(&mut self, changed: bool) -> Hash {
        match self.root {
            Some(root) if !changed => root,
            _ => *self.root.insert(state_root(&self.lthash)),
        }
    }

    /// Records the block at `height` as applied, with its root and what applying it did.
    pub(super) fn record(
        &mut self,
        height: Height,
        root: Hash,
        outcome: &BlockOutcome,
    ) -> Result<(), LedgerError> {
        self.roots
            .insert(height.0, &root.0)
            .map_err(LedgerError::failed("writing `ledger/state_roots`"))?;
        self.outcomes
            .insert(height.0, codec::encode(outcome).as_slice())
            .map_err(LedgerError::failed("writing `ledger/outcomes`"))?;
        self.applied = Some(height);
        Ok(())
    }

    /// Writes the lattice hash and the applied height the batch ended with; the transaction
    /// can commit then.
    pub(super) fn finish(self, txn: &WriteTransaction) -> Result<(), LedgerError> {
        let Batch {
            roots,
            outcomes,
            lthash,
            applied,
            ..
        } = self;
        drop((roots, outcomes));
        let Some(applied) = applied else {
            return Ok(());
        };
        let mut meta = txn
            .open_table(LEDGER_META)
            .map_err(LedgerError::failed("opening `ledger/meta`"))?;
        meta.insert(LTHASH_KEY, lthash.to_bytes().as_slice())
            .map_err(LedgerError::failed("writing `ledger/meta`"))?;
        meta.insert(APPLIED_HEIGHT_KEY, codec::encode(&applied.0).as_slice())
            .map_err(LedgerError::failed("writing `ledger/meta`"))?;
        Ok(())
    }
}

fn read_lthash(txn: &WriteTransaction) -> Result<LtHash, LedgerError> {
    let meta = txn
        .open_table(LEDGER_META)
        .map_err(LedgerError::failed("opening `ledger/meta`"))?;
    let stored = meta
        .get(LTHASH_KEY)
        .map_err(LedgerError::failed("reading `ledger/meta`"))?;
    match stored {
        None => Ok(LtHash::default()),
        Some(bytes) => LtHash::from_bytes(bytes.value()).ok_or_else(|| {
            LedgerError::corrupt("ledger/meta", "a lattice hash of the wrong length")
        }),
    }
}
