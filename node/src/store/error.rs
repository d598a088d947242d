//! What can go wrong with the node's database, each case with the file and a next step.

use std::path::{Path, PathBuf};

/// An error of the node's database. Every variant names the file; those about stored data name
/// the table.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{}: a file already exists there; a new node database is only created at a free path \
         (open the existing one instead, or choose another path)",
        path.display()
    )]
    AlreadyExists { path: PathBuf },

    #[error(
        "{}: no such file; check the path, or create a new node database there",
        path.display()
    )]
    Missing { path: PathBuf },

    #[error(
        "{}: not a BFTE database, not even a redb file ({detail}); check the path",
        path.display()
    )]
    NotADatabase { path: PathBuf, detail: String },

    #[error(
        "{}: the database file is damaged ({detail}); restore it from a backup (`bfte backup`, \
         see the README), or start over with a new node if this one has no backup",
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },

    #[error(
        "{}: a redb database but not a BFTE database (it has no `meta` table); check the path",
        path.display()
    )]
    NotBfte { path: PathBuf },

    #[error(
        "{}: created by a newer bfte (schema version {found}, this bfte reads versions up to \
         {supported}); upgrade bfte to open it",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    #[error(
        "{}: created by an older bfte (schema version {found}; this bfte opens versions from \
         {oldest}, since items are now signed in batches): export its history with the bfte that \
         wrote it if you need it, then start this node from a new data directory",
        path.display()
    )]
    OlderSchema {
        path: PathBuf,
        found: u64,
        oldest: u64,
    },

    #[error(
        "{}: in use by another process or another handle in this one; is a node already \
         running on this database?",
        path.display()
    )]
    InUse { path: PathBuf },

    #[error(
        "{}: table `{table}` holds something that cannot be read ({detail}); the database is \
         damaged: restore it from a backup",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        table: &'static str,
        detail: String,
    },

    #[error(
        "{}: a value for table `{table}` is {len} bytes, more than the {limit} bytes the store \
         reads back; refusing to store it",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        table: &'static str,
        len: usize,
        limit: usize,
    },

    /// Two different values for one key: a bug in the caller, or more than f Byzantine peers.
    #[error(
        "{}: refusing to overwrite in table `{table}`: {detail}; this is a bug in the node or a \
         sign of more than f faulty peers, nothing of this commit was stored",
        path.display()
    )]
    Conflict {
        path: PathBuf,
        table: &'static str,
        detail: String,
    },

    #[error(
        "{}: refusing finalized blocks that do not extend the stored chain: {detail}; nothing of \
         this commit was stored",
        path.display()
    )]
    NotExtending { path: PathBuf, detail: String },

    #[error(
        "{}: refusing a finalized batch: {detail}; nothing of this commit was stored",
        path.display()
    )]
    BadFinalization { path: PathBuf, detail: String },

    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: {action}: {source}", path.display())]
    Database {
        path: PathBuf,
        action: String,
        #[source]
        source: Box<redb::Error>,
    },
}

impl StoreError {
    pub(super) fn database(
        path: &Path,
        action: impl Into<String>,
        source: impl Into<redb::Error>,
    ) -> StoreError {
        StoreError::Database {
            path: path.to_path_buf(),
            action: action.into(),
            source: Box::new(source.into()),
        }
    }

    /// For `map_err`: a redb failure while doing `action` on the database at `path`.
    pub(super) fn failed<E: Into<redb::Error>>(
        path: &Path,
        action: impl Into<String>,
    ) -> impl FnOnce(E) -> StoreError {
        move |e| StoreError::database(path, action, e)
    }

    pub(super) fn corrupt(path: &Path, table: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            table,
            detail: detail.into(),
        }
    }

    /// Sorts out why redb could not open or create `path`.
    pub(super) fn opening(path: &Path, error: redb::DatabaseError) -> StoreError {
        use std::io::ErrorKind;

        use redb::{DatabaseError, StorageError};

        let path_buf = path.to_path_buf();
        match error {
            DatabaseError::DatabaseAlreadyOpen => StoreError::InUse { path: path_buf },
            DatabaseError::Storage(StorageError::Io(e)) if e.kind() == ErrorKind::NotFound => {
                StoreError::Missing { path: path_buf }
            }
            DatabaseError::Storage(StorageError::Io(e)) if e.kind() == ErrorKind::InvalidData => {
                StoreError::NotADatabase {
                    path: path_buf,
                    detail: e.to_string(),
                }
            }
            DatabaseError::Storage(StorageError::Corrupted(detail)) => StoreError::Damaged {
                path: path_buf,
                detail,
            },
            other => StoreError::database(path, "opening the database", other),
        }
    }
}
