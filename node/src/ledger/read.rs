//! Reading the ledger: where it stands, recent state roots, per-block outcomes, and the
//! federation's configuration and proposals.

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::modules::CONSENSUS_CTRL;
use bfte_shared::modules::ctrl::{EpochConfig, Proposal};
use bfte_shared::round::Height;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError,
};
use serde::de::DeserializeOwned;

use super::Ledger;
use super::apply::state_root;
use super::error::LedgerError;
use super::lthash::LtHash;
use crate::modules::ctrl;
use crate::store::MAX_VALUE_BYTES;
use crate::store::tables::{APPLIED_HEIGHT_KEY, LEDGER_META, OUTCOMES, STATE_ROOTS, module_table};

/// One entry of a module table: its raw key and its CBOR value.
pub type Entry = (Vec<u8>, Vec<u8>);

fn begin(db: &Database) -> Result<ReadTransaction, LedgerError> {
    db.begin_read()
        .map_err(LedgerError::failed("starting a ledger read"))
}

/// A table the ledger has not written yet reads as empty.
fn missing<T>(result: Result<T, TableError>, table: &str) -> Result<Option<T>, LedgerError> {
    match result {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(LedgerError::failed(format!("opening `{table}`"))(error)),
    }
}

pub(super) fn applied_height(db: &Database) -> Result<Height, LedgerError> {
    let txn = begin(db)?;
    let Some(meta) = missing(txn.open_table(LEDGER_META), "ledger/meta")? else {
        return Ok(Height(0));
    };
    let stored = meta
        .get(APPLIED_HEIGHT_KEY)
        .map_err(LedgerError::failed("reading `ledger/meta`"))?;
    match stored {
        None => Ok(Height(0)),
        Some(bytes) => codec::decode::<u64>(bytes.value(), 16)
            .map(Height)
            .map_err(|e| LedgerError::corrupt("ledger/meta", e)),
    }
}

/// Up to `limit` entries of one module table, in key order or, if `newest_first`, reversed.
fn raw_entries(
    db: &Database,
    module: ModuleId,
    table: &str,
    newest_first: bool,
    limit: usize,
) -> Result<Vec<Entry>, LedgerError> {
    let name = module_table(module, table);
    let txn = begin(db)?;
    let definition = TableDefinition::<&[u8], &[u8]>::new(&name);
    let Some(opened) = missing(txn.open_table(definition), &name)? else {
        return Ok(Vec::new());
    };
    let range = opened
        .iter()
        .map_err(LedgerError::failed(format!("reading `{name}`")))?;
    let ordered: Box<dyn Iterator<Item = _>> = if newest_first {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let mut entries = Vec::new();
    for entry in ordered.take(limit) {
        let (key, value) = entry.map_err(LedgerError::failed(format!("reading `{name}`")))?;
        entries.push((key.value().to_vec(), value.value().to_vec()));
    }
    Ok(entries)
}

/// Up to `limit` values of one module table, decoded, ordered as [`raw_entries`] orders them.
fn module_values<T: DeserializeOwned>(
    db: &Database,
    module: ModuleId,
    table: &str,
    newest_first: bool,
    limit: usize,
) -> Result<Vec<T>, LedgerError> {
    raw_entries(db, module, table, newest_first, limit)?
        .into_iter()
        .map(|(_, value)| {
            codec::decode(&value, MAX_VALUE_BYTES)
                .map_err(|e| LedgerError::corrupt(module_table(module, table), e))
        })
        .collect()
}

/// The configuration the ledger put in force; none before the first block was applied.
pub(super) fn current_config(db: &Database) -> Result<Option<EpochConfig>, LedgerError> {
    let name = module_table(CONSENSUS_CTRL, ctrl::CONFIG);
    let txn = begin(db)?;
    let definition = TableDefinition::<&[u8], &[u8]>::new(&name);
    let Some(table) = missing(txn.open_table(definition), &name)? else {
        return Ok(None);
    };
    let stored = table
        .get(ctrl::CURRENT)
        .map_err(LedgerError::failed(format!("reading `{name}`")))?;
    stored
        .map(|bytes| {
            codec::decode(bytes.value(), MAX_VALUE_BYTES)
                .map_err(|e| LedgerError::corrupt(&name, e))
        })
        .transpose()
}

impl Ledger {
    /// The configuration in force: the genesis one until the first block is applied.
    pub fn epoch(&self, db: &Database) -> Result<EpochConfig, LedgerError> {
        Ok(current_config(db)?.unwrap_or_else(|| self.genesis.clone()))
    }

    /// Every epoch's configuration as it started, oldest first.
    pub fn epochs(&self, db: &Database) -> Result<Vec<EpochConfig>, LedgerError> {
        let epochs = module_values(db, CONSENSUS_CTRL, ctrl::EPOCHS, false, usize::MAX)?;
        if epochs.is_empty() {
            return Ok(vec![self.genesis.clone()]);
        }
        Ok(epochs)
    }

    /// The last `limit` proposals, newest first.
    pub fn proposals(&self, db: &Database, limit: usize) -> Result<Vec<Proposal>, LedgerError> {
        module_values(db, CONSENSUS_CTRL, ctrl::PROPOSALS, true, limit)
    }

    /// The state roots of the last `limit` applied heights, oldest first; height 0's is the
    /// root of the empty state every federation starts from. What a restarted core needs.
    pub fn recent_roots(
        &self,
        db: &Database,
        limit: u64,
    ) -> Result<Vec<(Height, Hash)>, LedgerError> {
        let applied = applied_height(db)?;
        let from = applied.0.saturating_sub(limit.saturating_sub(1));
        let mut roots = Vec::new();
        if from == 0 {
            roots.push((Height(0), state_root(&LtHash::default())));
        }
        let txn = begin(db)?;
        if let Some(table) = missing(txn.open_table(STATE_ROOTS), "ledger/state_roots")? {
            for entry in table
                .range(from.max(1)..=applied.0)
                .map_err(LedgerError::failed("reading `ledger/state_roots`"))?
            {
                let (height, root) =
                    entry.map_err(LedgerError::failed("reading `ledger/state_roots`"))?;
                roots.push((Height(height.value()), Hash(*root.value())));
            }
        }
        Ok(roots)
    }

    /// Up to `limit` entries of one module table, in key order: raw keys and CBOR values.
    pub fn entries(
        &self,
        db: &Database,
        module: ModuleId,
        table: &str,
        limit: usize,
    ) -> Result<Vec<Entry>, LedgerError> {
        raw_entries(db, module, table, false, limit)
    }

    /// What applying the block at `height` did, if it was applied.
    pub fn outcome(
        &self,
        db: &Database,
        height: Height,
    ) -> Result<Option<BlockOutcome>, LedgerError> {
        let txn = begin(db)?;
        let Some(table) = missing(txn.open_table(OUTCOMES), "ledger/outcomes")? else {
            return Ok(None);
        };
        let stored = table
            .get(height.0)
            .map_err(LedgerError::failed("reading `ledger/outcomes`"))?;
        stored
            .map(|bytes| {
                codec::decode(bytes.value(), MAX_VALUE_BYTES)
                    .map_err(|e| LedgerError::corrupt("ledger/outcomes", e))
            })
            .transpose()
    }
}
