//! The node's one redb database: everything a restarted node needs.
//!
//! # What is stored
//!
//! Every table, with its key, value and meaning, is in `tables.rs`. In short:
//! - `meta`: the schema version (`migrations.rs`) and the federation's genesis;
//! - the consensus state above the finalized tip, exactly what `Core::start` needs in
//!   [`Restored`]: every vote this peer signed, the items it authored that are not final, the
//!   certificates it recorded and the blocks it voted for or a certificate names;
//! - the finalized chain by height, from the genesis block at height 0, each block with the
//!   finalization certificate if it was the last block of a [`Finalized`] batch, and each
//!   author's highest finalized item nonce;
//! - the votes received from other peers, an audit trail (`seen_votes.rs`);
//! - later, module state in per-module tables.
//!
//! # Durability contract
//!
//! [`Store::commit`] takes one core [`Output`](bfte_consensus::Output)'s `persist` and
//! `finalized` and writes them in **one** write transaction: when it returns `Ok`, all of it is
//! on disk, and on a crash before that, none of it is. The driver calls
//! [`Store::commit_outputs`] before sending any message of those outputs, synced when they hold
//! an own vote or item (the core's driver contract 1: a restart can then never sign a vote
//! conflicting with one that left the process) and unsynced otherwise. The finalized blocks are
//! appended, the nonces advanced, and the entries at or below the new tip pruned in that same
//! transaction, so the stored consensus state always matches the stored tip (driver contract
//! 5). A commit that would break the chain (a batch not extending the tip, a certificate not for
//! its last block) or overwrite a signed vote with another is refused as a whole and stores
//! nothing.
//!
//! # The commit journal
//!
//! Redb commits unsynced ([`redb::Durability::None`]); each commit also goes, as one record,
//! into the journal beside the database (`journal.rs`), and a synced commit syncs the journal:
//! one small write where a durable redb commit writes every page touched since the last one. A
//! commit that finalizes nothing reaches redb only with the next one that does, or with the
//! next checkpoint (`unwritten.rs`). Records are appended in commit order, so a sync makes every earlier
//! commit durable too, as redb's ordered commits did. A checkpoint (a durable redb commit: with
//! the received votes every 250 ms, when the journal passes [`journal::CHECKPOINT_BYTES`], at an
//! epoch switch and at a clean stop) empties the journal. [`Store::open`] writes the journal's
//! records of the database's epoch into redb again, durably, then empties it: a crash loses
//! only the unsynced commits after the last synced one, whole. The ledger's own transactions
//! are not journaled: after a crash they are as of the last checkpoint, never past the stored
//! tip, and the ledger applies the rest again.

mod backup;
mod codec;
mod commit;
mod epochs;
mod error;
pub(crate) mod finalized_row;
#[cfg(test)]
pub(crate) mod fixtures;
mod joins;
mod journal;
pub(crate) mod journal_frame;
pub(crate) mod journal_record;
mod journal_tail;
mod migrations;
mod read;
mod round_votes;
mod seen_votes;
pub(crate) mod tables;
mod unwritten;
mod usage;

#[cfg(test)]
mod epoch_tests;
#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod tests;

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bfte_shared::block::Block;
use bfte_shared::federation::Genesis;
use redb::{Database, Durability, ReadableDatabase, TableError, WriteTransaction};

pub use self::backup::BackupReport;
pub(crate) use self::codec::MAX_VALUE_BYTES;
pub use self::error::StoreError;
pub use self::joins::PendingRequest;
use self::journal::Journal;
use self::journal_record::{Record, finalized};
use self::migrations::SCHEMA_VERSION;
pub use self::seen_votes::{SEEN_VOTE_ROUNDS, SeenVoteAudit};
use self::tables::{
    BLOCKS, CERTIFICATES, FINALIZED, FINALIZED_NONCES, FinalizedEntryRef, META, OWN_ITEMS,
    OWN_VOTES, SEEN_VOTES, name,
};
use self::unwritten::Journaled;
pub use self::usage::{DiskUsage, TableUsage};
#[cfg(doc)]
use bfte_consensus::Restored;
use bfte_consensus::{Durable, Finalized};

/// The node's database, open. Cheap to share by reference: reads run in their own snapshot
/// and commits are serialized by redb.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    db: Database,
    genesis: Genesis,
    /// The finalized tip the last commit wrote, so that a commit need not decode the tip's
    /// entry (the whole block: its payload cannot be skipped without being parsed) every time.
    /// Used only while the table's last height still matches it.
    tip: Mutex<Option<commit::Tip>>,
    /// Every commit's entries since the last checkpoint, and those redb does not hold yet;
    /// locked before redb's write transaction, so records follow redb's commit order.
    journal: Mutex<Journaled>,
    /// The epoch whose round state the database holds (`epochs.rs`), as journal records name it.
    epoch: AtomicU64,
}

impl Store {
    /// Creates a new database at `path` for the federation of `genesis`: schema version, genesis,
    /// and the genesis block as finalized height 0. Refuses a path where any file exists.
    pub fn create(path: impl AsRef<Path>, genesis: &Genesis) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        // Claim the path first: redb's own create would happily open an existing database.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists { path });
            }
            Err(source) => {
                return Err(StoreError::Io {
                    path,
                    action: "creating the database file",
                    source,
                });
            }
        }
        let created = Store::initialize(&path, genesis);
        if created.is_err() {
            // The file is ours and holds no complete database; leave the path free for a retry.
            let _ = std::fs::remove_file(&path);
        }
        created
    }

    fn initialize(path: &Path, genesis: &Genesis) -> Result<Store, StoreError> {
        let db = redb_builder()
            .create(path)
            .map_err(|e| StoreError::opening(path, e))?;
        let mut txn = db
            .begin_write()
            .map_err(StoreError::failed(path, "starting the first transaction"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(StoreError::failed(path, "requesting immediate durability"))?;
        migrations::write_meta(&txn, path, genesis)?;
        {
            // Every table exists from the start, so readers never meet a missing one.
            let create = |table: &str| format!("creating table `{table}`");
            txn.open_table(OWN_VOTES)
                .map_err(StoreError::failed(path, create(name::OWN_VOTES)))?;
            txn.open_table(OWN_ITEMS)
                .map_err(StoreError::failed(path, create(name::OWN_ITEMS)))?;
            txn.open_table(CERTIFICATES)
                .map_err(StoreError::failed(path, create(name::CERTIFICATES)))?;
            txn.open_table(BLOCKS)
                .map_err(StoreError::failed(path, create(name::BLOCKS)))?;
            txn.open_table(FINALIZED_NONCES)
                .map_err(StoreError::failed(path, create(name::FINALIZED_NONCES)))?;
            txn.open_table(SEEN_VOTES)
                .map_err(StoreError::failed(path, create(name::SEEN_VOTES)))?;
            let mut finalized = txn
                .open_table(FINALIZED)
                .map_err(StoreError::failed(path, create(name::FINALIZED)))?;
            let block = Block::genesis(genesis);
            let entry = FinalizedEntryRef {
                block: &block,
                certificate: None,
            };
            let entry = codec::encode(path, name::FINALIZED, &entry)?;
            finalized
                .insert(0, entry.as_slice())
                .map_err(StoreError::failed(path, "writing the genesis block"))?;
        }
        txn.commit()
            .map_err(StoreError::failed(path, "committing the new database"))?;
        sync_parent_dir(path)?;
        // A journal left by a database that was at this path before holds nothing of this one.
        let (mut journal, _) = Journal::open(path, genesis.federation_id().0)?;
        journal.clear()?;
        Ok(Store {
            path: path.to_path_buf(),
            db,
            genesis: genesis.clone(),
            tip: Mutex::new(None),
            journal: Mutex::new(Journaled::new(journal)),
            epoch: AtomicU64::new(0),
        })
    }

    /// Opens an existing database, migrating it if an older bfte created it.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        // redb would report a missing file as an I/O error; say what it means.
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        let db = open_guarded(&path)?;
        let found = {
            let txn = db
                .begin_read()
                .map_err(StoreError::failed(&path, "starting a read transaction"))?;
            let meta = match txn.open_table(META) {
                Ok(meta) => meta,
                Err(TableError::TableDoesNotExist(_)) => return Err(StoreError::NotBfte { path }),
                // A `meta` table of other types: someone else's database.
                Err(TableError::TableTypeMismatch { .. }) => {
                    return Err(StoreError::NotBfte { path });
                }
                Err(e) => return Err(StoreError::database(&path, "opening table `meta`", e)),
            };
            migrations::schema_version(&path, &meta)?
        };
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < migrations::OLDEST_READABLE {
            return Err(StoreError::OlderSchema {
                path,
                found,
                oldest: migrations::OLDEST_READABLE,
            });
        }
        if found < SCHEMA_VERSION {
            migrations::migrate(&db, &path, found)?;
        }
        let genesis = read::genesis(&db, &path)?;
        let (journal, records) = Journal::open(&path, genesis.federation_id().0)?;
        let store = Store {
            path,
            db,
            genesis,
            tip: Mutex::new(None),
            journal: Mutex::new(Journaled::new(journal)),
            epoch: AtomicU64::new(0),
        };
        store.epoch.store(store.epoch_number()?, Ordering::Relaxed);
        store.replay(records)?;
        Ok(store)
    }

    /// Writes the journal's records of the database's epoch into redb again, in order and
    /// durably, and empties the journal: the database is then as of the journal's last sync.
    /// Finalized batches that do not extend the tip are skipped; every other write of a commit
    /// is idempotent. Records of another epoch are skipped: they can only be of a database this
    /// one replaced (a backup restored beside a newer journal), or of the epoch a switch left
    /// (a crash between the switch and the journal's emptying).
    fn replay(&self, records: Vec<Vec<u8>>) -> Result<(), StoreError> {
        let mut journal = self.journal();
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut replayed = Vec::new();
        for payload in records {
            let (record_epoch, entries, batches): Record =
                codec::decode(&self.path, journal::TABLE, &payload)?;
            if record_epoch == epoch {
                let entries: Vec<Durable> = entries.into_iter().map(Into::into).collect();
                let batches: Vec<Finalized> = batches.into_iter().map(finalized).collect();
                replayed.push((entries, batches));
            }
        }
        let txn = self.begin_durable_write("starting the journal's replay")?;
        let written = self.write_unwritten(&txn, &mut journal)?;
        if !replayed.is_empty() {
            let mut tip = self.write(&txn, &[])?;
            for (entries, batches) in &replayed {
                // Only batches that extend the tip: the ones redb holds already are skipped, and
                // so are all of them when the database is a restored backup, older than the
                // journal (its blocks are fetched again).
                let above: Vec<Finalized> = batches
                    .iter()
                    .filter(|batch| {
                        batch
                            .blocks
                            .first()
                            .is_some_and(|b| b.header.height == tip.height().next())
                    })
                    .cloned()
                    .collect();
                tip = self.write(&txn, &[(entries.as_slice(), above.as_slice())])?;
            }
            *self.cached_tip() = Some(tip);
        }
        txn.commit()
            .map_err(self.failed("committing the journal's replay"))?;
        journal.clear(written)
    }

    /// Makes everything committed so far durable in redb and empties the journal.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let mut journal = self.journal();
        self.checkpoint_locked(&mut journal)
    }

    /// Always a durable commit, even with the journal empty: a commit too large for one record
    /// relies on it.
    fn checkpoint_locked(&self, journal: &mut Journaled) -> Result<(), StoreError> {
        let txn = self.begin_durable_write("starting a checkpoint")?;
        let written = self.write_unwritten(&txn, journal)?;
        txn.commit()
            .map_err(self.failed("committing a checkpoint"))?;
        journal.clear(written)
    }

    /// A write transaction whose commit is not synced: the journal makes it durable.
    fn begin_unsynced_write(&self) -> Result<WriteTransaction, StoreError> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(self.failed("starting a write transaction"))?;
        txn.set_durability(Durability::None)
            .map_err(self.failed("setting the commit's durability"))?;
        Ok(txn)
    }

    fn begin_durable_write(&self, action: &'static str) -> Result<WriteTransaction, StoreError> {
        let mut txn = self.db.begin_write().map_err(self.failed(action))?;
        txn.set_durability(Durability::Immediate)
            .map_err(self.failed("requesting immediate durability"))?;
        Ok(txn)
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journaled> {
        // A panic while appending leaves at worst a torn record, which reading stops at.
        self.journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The federation this database belongs to.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For `map_err`: a redb failure while doing `action` on this database.
    /// The database itself, for the ledger's tables (`crate::ledger`), which it writes in
    /// transactions of its own.
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    fn failed<E: Into<redb::Error>>(&self, action: &'static str) -> impl FnOnce(E) -> StoreError {
        StoreError::failed(&self.path, action)
    }
}

/// Opens the file with redb, which panics on some damaged pages instead of returning an error
/// (an `unreachable!` in its b-tree code, reached from `Database::open`): that panic is caught
/// and reported as damage, its message kept off stderr (the hook is silenced only meanwhile).
fn open_guarded(path: &Path) -> Result<Database, StoreError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(|| redb_builder().open(path));
    std::panic::set_hook(hook);
    match opened {
        Ok(result) => result.map_err(|e| StoreError::opening(path, e)),
        Err(_) => Err(StoreError::Damaged {
            path: path.to_path_buf(),
            detail: "redb cannot read its own page structure".into(),
        }),
    }
}

/// Makes the new file's directory entry durable too: a crash right after `create` must not lose
/// the whole database.
fn sync_parent_dir(path: &Path) -> Result<(), StoreError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            action: "syncing the directory of the new database",
            source,
        })
}

/// redb's page cache. Its default (1 GiB) grows with every page read and written: a node under
/// saturation held 170 MiB, against 112 MiB with a 4 MiB cache at the same throughput. The cache
/// fills even when idle (redb holds the pages of unsynced commits until a checkpoint), so its
/// size is most of a near-empty node's heap: 1 MiB instead of 4 took 2.5 MiB off each node's
/// Pss, with no change beyond noise in any `bench net` phase (session 25). The kernel's page
/// cache still holds the file.
const CACHE_BYTES: usize = 1024 * 1024;

fn redb_builder() -> redb::Builder {
    let mut builder = redb::Builder::new();
    builder.set_cache_size(CACHE_BYTES);
    builder
}
