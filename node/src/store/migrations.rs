//! Schema versions and the migrations between them.
//!
//! `meta.schema_version` says which layout of `tables.rs` a database has. `Store::open` brings an
//! older database up to [`SCHEMA_VERSION`] by running every migration from its version on, all
//! in one write transaction that also records the new version, so a crash leaves either the old
//! database or the fully migrated one. A database with a newer version is refused: this build
//! cannot know what the newer layout means.

use std::path::Path;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use redb::{Database, Durability, ReadableTable, WriteTransaction};
use serde::Deserialize;

use super::codec;
use super::error::StoreError;
use super::tables::{FINALIZED, FinalizedEntry, GENESIS_KEY, META, SCHEMA_VERSION_KEY, name};

/// The layout `tables.rs` describes. Raise it, and add a migration, with every change to a
/// table's key, value or meaning. 3: finalized blocks stored as rows (`finalized_row.rs`).
pub(super) const SCHEMA_VERSION: u64 = 3;

/// The oldest version this build opens. Version 1 stored items of one module and data each,
/// signed over that encoding (and outcomes one per item): no migration can re-sign others'
/// items as batches, so such a database is refused with what to do rather than misread.
pub(super) const OLDEST_READABLE: u64 = 2;

/// One step of the schema, from version `from` to `from + 1`.
#[derive(Debug)]
pub(super) struct Migration {
    pub(super) from: u64,
    /// What changes, for the log.
    pub(super) what: &'static str,
    pub(super) run: fn(&WriteTransaction, &Path) -> Result<(), StoreError>,
}

/// Every migration in order: `MIGRATIONS[i]` takes version `OLDEST_READABLE + i` one further.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    from: 2,
    what: "finalized blocks stored as rows without field names",
    run: finalized_as_rows,
}];

/// A `finalized` entry of schema 2: the block and its certificate in their wire encoding.
#[derive(Deserialize)]
struct FinalizedEntryV2 {
    block: Block,
    certificate: Option<Certificate>,
}

/// Entries rewritten per pass: the migration holds this many in memory, not the whole chain.
const MIGRATION_CHUNK: usize = 1024;

/// Schema 2 -> 3: every finalized entry rewritten as a row.
fn finalized_as_rows(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut table = txn
        .open_table(FINALIZED)
        .map_err(StoreError::failed(path, "opening table `finalized`"))?;
    let mut next = 0u64;
    loop {
        let mut chunk = Vec::new();
        for entry in table
            .range(next..)
            .map_err(StoreError::failed(path, "reading table `finalized`"))?
            .take(MIGRATION_CHUNK)
        {
            let (height, value) =
                entry.map_err(StoreError::failed(path, "reading table `finalized`"))?;
            let old: FinalizedEntryV2 = codec::decode(path, name::FINALIZED, value.value())?;
            let row = FinalizedEntry {
                block: old.block,
                certificate: old.certificate,
            };
            chunk.push((height.value(), codec::encode(path, name::FINALIZED, &row)?));
        }
        let Some(&(last, _)) = chunk.last() else {
            return Ok(());
        };
        for (height, row) in &chunk {
            table
                .insert(*height, row.as_slice())
                .map_err(StoreError::failed(path, "writing table `finalized`"))?;
        }
        next = last.saturating_add(1);
    }
}

/// Reads the schema version of a database that has a `meta` table.
pub(super) fn schema_version(
    path: &Path,
    meta: &impl redb::ReadableTable<&'static str, &'static [u8]>,
) -> Result<u64, StoreError> {
    let read = meta
        .get(SCHEMA_VERSION_KEY)
        .map_err(StoreError::failed(path, "reading the schema version"))?;
    let Some(bytes) = read else {
        return Err(StoreError::corrupt(path, name::META, "no schema version"));
    };
    let version: u64 = codec::decode(path, name::META, bytes.value())?;
    if version == 0 {
        return Err(StoreError::corrupt(path, name::META, "schema version 0"));
    }
    Ok(version)
}

/// Writes the schema version and the genesis of a new database.
pub(super) fn write_meta(
    txn: &WriteTransaction,
    path: &Path,
    genesis: &bfte_shared::federation::Genesis,
) -> Result<(), StoreError> {
    let mut meta = txn
        .open_table(META)
        .map_err(StoreError::failed(path, "creating table `meta`"))?;
    let version = codec::encode(path, name::META, &SCHEMA_VERSION)?;
    let genesis = codec::encode(path, name::META, genesis)?;
    meta.insert(SCHEMA_VERSION_KEY, version.as_slice())
        .map_err(StoreError::failed(path, "writing the schema version"))?;
    meta.insert(GENESIS_KEY, genesis.as_slice())
        .map_err(StoreError::failed(path, "writing the genesis"))?;
    Ok(())
}

/// Brings a database at version `found` (at least 1, below [`SCHEMA_VERSION`]) up to date.
pub(super) fn migrate(db: &Database, path: &Path, found: u64) -> Result<(), StoreError> {
    let mut txn = db.begin_write().map_err(StoreError::failed(
        path,
        "starting the migration transaction",
    ))?;
    txn.set_durability(Durability::Immediate)
        .map_err(StoreError::failed(path, "requesting immediate durability"))?;
    for migration in MIGRATIONS.iter().filter(|m| m.from >= found) {
        (migration.run)(&txn, path)?;
        tracing::info!(
            path = %path.display(),
            from = migration.from,
            "migrated the database: {}",
            migration.what
        );
    }
    {
        let mut meta = txn
            .open_table(META)
            .map_err(StoreError::failed(path, "opening table `meta`"))?;
        let version = codec::encode(path, name::META, &SCHEMA_VERSION)?;
        meta.insert(SCHEMA_VERSION_KEY, version.as_slice())
            .map_err(StoreError::failed(path, "writing the schema version"))?;
    }
    txn.commit()
        .map_err(StoreError::failed(path, "committing the migration"))
}
