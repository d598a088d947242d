//! What the database file holds, table by table: the figures behind "bytes on disk per block".

use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};
use serde::Serialize;

use super::Store;
use super::error::StoreError;
use super::tables::{OUTCOMES, STATE_ROOTS, name};

/// One table's share of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableUsage {
    pub name: String,
    pub entries: u64,
    /// Keys and values as inserted.
    pub stored_bytes: u64,
    /// The B-tree's branch pages and other metadata.
    pub metadata_bytes: u64,
    /// Unused space inside the table's pages.
    pub fragmented_bytes: u64,
}

impl TableUsage {
    /// Everything the table occupies.
    pub fn total_bytes(&self) -> u64 {
        self.stored_bytes + self.metadata_bytes + self.fragmented_bytes
    }

    /// Whether the table grows with the chain for good: the finalized chain, each block's
    /// outcome and state root, and module state. The others are pruned as rounds finalize, or
    /// bounded (the audit trail keeps `SEEN_VOTE_ROUNDS` rounds), so in a long chain they do
    /// not count per block.
    pub fn kept_for_good(&self) -> bool {
        self.name == name::FINALIZED
            || self.name == OUTCOMES.name()
            || self.name == STATE_ROOTS.name()
            || self.name.starts_with("module/")
    }
}

/// Every table, largest first, and the file around them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    pub tables: Vec<TableUsage>,
    /// redb's own bookkeeping (its allocator and table directory), and free pages.
    pub file_bytes: u64,
}

impl Store {
    /// Reads every table's size in one snapshot.
    pub fn disk_usage(&self) -> Result<DiskUsage, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(self.failed("starting a read transaction"))?;
        let handles = txn
            .list_tables()
            .map_err(self.failed("listing the tables"))?;
        let mut tables = Vec::new();
        for handle in handles {
            let name = handle.name().to_string();
            let table = txn
                .open_untyped_table(handle)
                .map_err(self.failed("opening a table to measure it"))?;
            let stats = table
                .stats()
                .map_err(self.failed("reading a table's size"))?;
            let entries = table.len().map_err(self.failed("counting a table"))?;
            tables.push(TableUsage {
                name,
                entries,
                stored_bytes: stats.stored_bytes(),
                metadata_bytes: stats.metadata_bytes(),
                fragmented_bytes: stats.fragmented_bytes(),
            });
        }
        tables.sort_by_key(|t| std::cmp::Reverse(t.total_bytes()));
        let file_bytes = std::fs::metadata(&self.path)
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "reading the database file's size",
                source,
            })?
            .len();
        Ok(DiskUsage { tables, file_bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{child, federation, finalized, new_store};
    use super::super::tables::name;
    use bfte_shared::block::Block;

    #[test]
    fn usage_counts_every_table_and_grows_with_the_chain() {
        let fed = federation(4);
        let (_dir, store) = new_store(&fed);
        let before = store.disk_usage().expect("usage");
        let finalized_before = before
            .tables
            .iter()
            .find(|t| t.name == name::FINALIZED)
            .expect("the finalized table is listed")
            .clone();
        assert_eq!(finalized_before.entries, 1, "the genesis block");
        let genesis = Block::genesis(&store.genesis);
        let block = child(&genesis, 1, vec![fed.item(0, 1)]);
        store.commit(&[], &[finalized(&[block])]).expect("commit");
        let after = store.disk_usage().expect("usage");
        let finalized_after = after
            .tables
            .iter()
            .find(|t| t.name == name::FINALIZED)
            .expect("the finalized table is listed");
        assert_eq!(finalized_after.entries, 2);
        assert!(finalized_after.kept_for_good());
        let bounded = |table: &str| {
            after
                .tables
                .iter()
                .any(|t| t.name == table && !t.kept_for_good())
        };
        assert!(bounded(name::SEEN_VOTES) && bounded(name::BLOCKS) && bounded(name::OWN_VOTES));
        assert!(finalized_after.stored_bytes > finalized_before.stored_bytes);
        assert!(after.file_bytes >= after.tables.iter().map(|t| t.total_bytes()).sum());
    }
}
