//! Module state as a module sees it while one item applies: reads fall through to the write
//! transaction, writes collect in an overlay that is written out only if the item (and every
//! effect it caused) applied. A rejected item therefore changes nothing, whatever a module
//! wrote before it refused.

use std::collections::BTreeMap;

use bfte_shared::codec;
use bfte_shared::item::ModuleId;
use bfte_shared::ledger::StateChange;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::LedgerError;
use super::lthash::LtHash;
use crate::store::MAX_VALUE_BYTES;
use crate::store::tables::module_table;

type Key = (ModuleId, String, Vec<u8>);

/// Pending writes of one item, by module, table and key; `None` deletes.
pub(super) struct Overlay<'t> {
    txn: &'t WriteTransaction,
    writes: BTreeMap<Key, Option<Vec<u8>>>,
}

impl<'t> Overlay<'t> {
    pub(super) fn new(txn: &'t WriteTransaction) -> Self {
        Overlay {
            txn,
            writes: BTreeMap::new(),
        }
    }

    /// The view `module` gets: its own tables only.
    pub(super) fn module(&mut self, module: ModuleId) -> ModuleState<'_, 't> {
        ModuleState {
            overlay: self,
            module,
        }
    }

    fn stored(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let definition = TableDefinition::<&[u8], &[u8]>::new(table);
        let opened = self
            .txn
            .open_table(definition)
            .map_err(LedgerError::failed(format!("opening `{table}`")))?;
        let value = opened
            .get(key)
            .map_err(LedgerError::failed(format!("reading `{table}`")))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Writes the overlay out, keeping `lthash` equal to the hash of all module state, and
    /// returns the changes in key order.
    pub(super) fn flush(self, lthash: &mut LtHash) -> Result<Vec<StateChange>, LedgerError> {
        let mut changes = Vec::with_capacity(self.writes.len());
        for ((module, table, key), value) in self.writes {
            let name = module_table(module, &table);
            let definition = TableDefinition::<&[u8], &[u8]>::new(&name);
            let mut opened = self
                .txn
                .open_table(definition)
                .map_err(LedgerError::failed(format!("opening `{name}`")))?;
            let old = match &value {
                Some(bytes) => opened.insert(key.as_slice(), bytes.as_slice()),
                None => opened.remove(key.as_slice()),
            }
            .map_err(LedgerError::failed(format!("writing `{name}`")))?
            .map(|v| v.value().to_vec());
            if let Some(old) = old {
                lthash.remove(&[name.as_bytes(), &key, &old]);
            }
            if let Some(new) = &value {
                lthash.insert(&[name.as_bytes(), &key, new]);
            }
            changes.push(StateChange {
                module,
                table,
                key,
                value,
            });
        }
        Ok(changes)
    }
}

/// One module's tables during one item: typed CBOR values under byte keys.
pub struct ModuleState<'o, 't> {
    overlay: &'o mut Overlay<'t>,
    module: ModuleId,
}

impl std::fmt::Debug for ModuleState<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleState(module {})", self.module.0)
    }
}

impl ModuleState<'_, '_> {
    pub fn get<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &[u8],
    ) -> Result<Option<T>, LedgerError> {
        self.raw(table, key)?
            .map(|bytes| {
                codec::decode(&bytes, MAX_VALUE_BYTES)
                    .map_err(|e| LedgerError::corrupt(module_table(self.module, table), e))
            })
            .transpose()
    }

    /// Whether `key` holds a value, without decoding it.
    pub fn contains(&self, table: &str, key: &[u8]) -> Result<bool, LedgerError> {
        Ok(self.raw(table, key)?.is_some())
    }

    /// The bytes under `key`: as this item wrote them, else as stored.
    fn raw(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let pending = (self.module, table.to_string(), key.to_vec());
        match self.overlay.writes.get(&pending) {
            Some(value) => Ok(value.clone()),
            None => self.overlay.stored(&module_table(self.module, table), key),
        }
    }

    pub fn put<T: Serialize>(&mut self, table: &str, key: &[u8], value: &T) {
        let key = (self.module, table.to_string(), key.to_vec());
        self.overlay.writes.insert(key, Some(codec::encode(value)));
    }

    pub fn delete(&mut self, table: &str, key: &[u8]) {
        let key = (self.module, table.to_string(), key.to_vec());
        self.overlay.writes.insert(key, None);
    }
}
