//! Backups: a consistent copy of the database, taken in one read transaction while the node
//! runs (redb lets only one process open the file, so only the node can copy it), and the mark
//! that tells a node started from such a copy to sit out (SPEC rule 15).
//!
//! The copy holds every table, raw bytes, and [`RESTORED_KEY`] in its `meta`: a node that
//! starts from it signs nothing until it has learnt a round above every round it may have
//! signed in since the backup, because those votes are not in the copy.

use std::fs;
use std::path::{Path, PathBuf};

use redb::{
    Database, Durability, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    TableHandle, Value, WriteTransaction,
};

use super::codec;
use super::epochs::{EPOCH_ENDS, EPOCH_TAILS};
use super::error::StoreError;
use super::tables::{
    BLOCKS, CERTIFICATES, FINALIZED, FINALIZED_NONCES, LEDGER_META, META, OUTCOMES, OWN_ITEMS,
    OWN_VOTES, PENDING_JOINS, SEEN_VOTES, STATE_ROOTS, name,
};
use super::{Store, sync_parent_dir};

/// Key in `meta`: present (CBOR `true`) in a database restored from a backup until the node
/// has passed its floor (SPEC rule 15).
pub(super) const RESTORED_KEY: &str = "restored_from_backup";

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    pub tables: usize,
    pub entries: u64,
    pub bytes: u64,
}

impl Store {
    /// Copies the whole database, as of one moment, into a new database at `out`: written to
    /// a temporary file beside it, synced, then renamed into place, so `out` is whole or absent.
    /// The copy is marked as restored-from-backup. Refuses an existing `out` unless `replace`.
    pub fn backup_to(&self, out: &Path, replace: bool) -> Result<BackupReport, StoreError> {
        if out.exists() && !replace {
            return Err(StoreError::AlreadyExists {
                path: out.to_path_buf(),
            });
        }
        let partial = partial_path(out);
        let _ = fs::remove_file(&partial);
        let copied = self.copy_into(&partial);
        let report = match copied {
            Ok(report) => report,
            Err(error) => {
                let _ = fs::remove_file(&partial);
                return Err(error);
            }
        };
        let io = |action: &'static str| {
            move |source| StoreError::Io {
                path: out.to_path_buf(),
                action,
                source,
            }
        };
        fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(io("syncing the backup"))?;
        fs::rename(&partial, out).map_err(io("renaming the backup into place"))?;
        sync_parent_dir(out)?;
        let bytes = fs::metadata(out)
            .map_err(io("reading the backup's size"))?
            .len();
        Ok(BackupReport { bytes, ..report })
    }

    fn copy_into(&self, partial: &Path) -> Result<BackupReport, StoreError> {
        // The commits held back from redb are in the copy too.
        self.checkpoint()?;
        let source = self
            .database()
            .begin_read()
            .map_err(self.failed("starting the backup's read transaction"))?;
        let target = Database::create(partial).map_err(|e| StoreError::opening(partial, e))?;
        let mut txn = target
            .begin_write()
            .map_err(StoreError::failed(partial, "starting the backup's write"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(StoreError::failed(
                partial,
                "requesting immediate durability",
            ))?;
        let names: Vec<String> = source
            .list_tables()
            .map_err(self.failed("listing the tables"))?
            .map(|table| table.name().to_string())
            .collect();
        let mut report = BackupReport {
            tables: names.len(),
            entries: 0,
            bytes: 0,
        };
        for table in &names {
            report.entries += self.copy_table(&source, &txn, table).map_err(|e| {
                StoreError::database(&self.path, format!("copying table `{table}`"), e)
            })?;
        }
        mark_restored(&txn, partial)?;
        txn.commit()
            .map_err(StoreError::failed(partial, "committing the backup"))?;
        Ok(report)
    }

    /// Copies one table by its name, with the key and value types `tables.rs` gives it.
    fn copy_table(
        &self,
        source: &ReadTransaction,
        target: &WriteTransaction,
        table: &str,
    ) -> Result<u64, redb::Error> {
        match table {
            name::META => copy(source, target, META),
            "ledger/meta" => copy(source, target, LEDGER_META),
            name::OWN_VOTES => copy(source, target, OWN_VOTES),
            name::CERTIFICATES => copy(source, target, CERTIFICATES),
            name::OWN_ITEMS => copy(source, target, OWN_ITEMS),
            name::FINALIZED => copy(source, target, FINALIZED),
            name::SEEN_VOTES => copy(source, target, SEEN_VOTES),
            "ledger/outcomes" => copy(source, target, OUTCOMES),
            "epoch_ends" => copy(source, target, EPOCH_ENDS),
            "epoch_tails" => copy(source, target, EPOCH_TAILS),
            name::BLOCKS => copy(source, target, BLOCKS),
            name::FINALIZED_NONCES => copy(source, target, FINALIZED_NONCES),
            name::PENDING_JOINS => copy(source, target, PENDING_JOINS),
            "ledger/state_roots" => copy(source, target, STATE_ROOTS),
            module if module.starts_with("module/") => {
                copy(source, target, TableDefinition::<&[u8], &[u8]>::new(module))
            }
            // A table this build does not know would be copied wrong or lost: refuse.
            other => Err(redb::Error::Corrupted(format!(
                "table `{other}` is not one this bfte knows; back up with the bfte that wrote it"
            ))),
        }
    }

    /// Whether this database was restored from a backup and the node has not passed its floor.
    pub fn restored_from_backup(&self) -> Result<bool, StoreError> {
        let txn = self
            .database()
            .begin_read()
            .map_err(self.failed("starting a read transaction"))?;
        let meta = txn
            .open_table(META)
            .map_err(self.failed("opening table `meta`"))?;
        let found = meta
            .get(RESTORED_KEY)
            .map_err(self.failed("reading the restored-from-backup mark"))?;
        match found {
            None => Ok(false),
            Some(bytes) => codec::decode(&self.path, name::META, bytes.value()),
        }
    }

    /// Drops the restored-from-backup mark, durably: the node signs normally from now on, also
    /// after a restart.
    pub fn clear_restored_from_backup(&self) -> Result<(), StoreError> {
        let mut txn = self
            .database()
            .begin_write()
            .map_err(self.failed("starting a write transaction"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(self.failed("requesting immediate durability"))?;
        {
            let mut meta = txn
                .open_table(META)
                .map_err(self.failed("opening table `meta`"))?;
            meta.remove(RESTORED_KEY)
                .map_err(self.failed("removing the restored-from-backup mark"))?;
        }
        txn.commit()
            .map_err(self.failed("committing the removed restored-from-backup mark"))
    }
}

fn mark_restored(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut meta = txn
        .open_table(META)
        .map_err(StoreError::failed(path, "opening the backup's `meta`"))?;
    let yes = codec::encode(path, name::META, &true)?;
    meta.insert(RESTORED_KEY, yes.as_slice())
        .map_err(StoreError::failed(path, "marking the backup as restored"))?;
    Ok(())
}

/// Copies every entry of one table, bytes as they are; returns how many.
fn copy<K: Key + 'static, V: Value + 'static>(
    source: &ReadTransaction,
    target: &WriteTransaction,
    definition: TableDefinition<K, V>,
) -> Result<u64, redb::Error> {
    let from = source.open_table(definition)?;
    let mut to = target.open_table(definition)?;
    let mut entries = 0;
    for entry in from.iter()? {
        let (key, value) = entry?;
        to.insert(key.value(), value.value())?;
        entries += 1;
    }
    Ok(entries)
}

/// Where a backup is written before it is renamed to `out`.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}
