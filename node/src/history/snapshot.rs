//! One consistent view of a node's history: a single read transaction over the finalized chain,
//! the epoch ends and the ledger's epochs and outcomes, so that an export taken while blocks
//! are committed or an epoch switches still describes one moment.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::federation::Genesis;
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::modules::CONSENSUS_CTRL;
use bfte_shared::modules::ctrl::{self, EpochConfig};
use bfte_shared::round::Height;
use redb::{ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::error::HistoryError;
use super::record::EpochEnd;
use super::replay::passed_changes;
use super::segment::{Segment, SegmentCut, SegmentEntry};
use crate::store::tables::{FinalizedEntry, OUTCOMES, module_table};
use crate::store::{MAX_VALUE_BYTES, Store, StoreError};

// The store keeps these tables private to `store/`; they are read here by name and layout
// (`store/tables.rs` FINALIZED, `store/epochs.rs` EPOCH_ENDS and EPOCH_TAILS). The tests
// compare what is read here with the store's own `finalized_chain`, so a change there shows.
const FINALIZED: TableDefinition<u64, &[u8]> = TableDefinition::new("finalized");
const EPOCH_ENDS: TableDefinition<u64, &[u8]> = TableDefinition::new("epoch_ends");
const EPOCH_TAILS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("epoch_tails");

/// One epoch of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSpan {
    pub number: u64,
    /// The block it starts from (height 0 for the genesis epoch).
    pub start: Height,
    /// Its last block, if it ended.
    pub end: Option<Height>,
}

pub struct Snapshot {
    path: PathBuf,
    txn: ReadTransaction,
    genesis: Genesis,
    tip: Height,
    epochs: Vec<EpochSpan>,
    /// The configuration each epoch after the genesis one started with.
    configs: Vec<EpochConfig>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("path", &self.path)
            .field("tip", &self.tip)
            .field("epochs", &self.epochs)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Opens one read transaction on `store` and finds where its epochs start and end.
    pub fn of(store: &Store) -> Result<Snapshot, HistoryError> {
        let path = store.path().to_path_buf();
        let txn = store
            .database()
            .begin_read()
            .map_err(failed(&path, "starting a read transaction"))?;
        let mut snapshot = Snapshot {
            path,
            txn,
            genesis: store.genesis().clone(),
            tip: Height(0),
            epochs: Vec::new(),
            configs: Vec::new(),
        };
        if let Some(finalized) = snapshot.table(FINALIZED, "finalized")? {
            let last = finalized
                .last()
                .map_err(failed(&snapshot.path, "reading table `finalized`"))?;
            snapshot.tip = Height(last.map_or(0, |(height, _)| height.value()));
        }
        let ends = snapshot.epoch_end_heights()?;
        snapshot.configs = snapshot.started_epochs()?;
        let mut start = Height(0);
        for (number, end) in (0u64..).zip(ends.iter().map(Some).chain([None])) {
            snapshot.epochs.push(EpochSpan {
                number,
                start,
                end: end.copied(),
            });
            if let Some(end) = end {
                start = *end;
            }
        }
        if let Some(unswitched) = snapshot.configs.get(ends.len()) {
            return Err(HistoryError::SwitchPending {
                epoch: unswitched.number,
                height: unswitched.start_height,
            });
        }
        for (config, span) in snapshot.configs.iter().zip(&snapshot.epochs[1..]) {
            if (config.number, config.start_height) != (span.number, span.start) {
                return Err(snapshot.corrupt(
                    "epoch_ends",
                    format!(
                        "epoch {} starts at height {} in the chain, but the ledger started \
                         epoch {} at height {}",
                        span.number, span.start, config.number, config.start_height
                    ),
                ));
            }
        }
        Ok(snapshot)
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The finalized tip's height.
    pub fn tip(&self) -> Height {
        self.tip
    }

    /// Every epoch, oldest first; the last is the one in force.
    pub fn epochs(&self) -> &[EpochSpan] {
        &self.epochs
    }

    /// The finalized blocks at `heights` with their certificates, in height order.
    pub fn entries(&self, heights: RangeInclusive<u64>) -> Result<Vec<SegmentEntry>, HistoryError> {
        let Some(table) = self.table(FINALIZED, "finalized")? else {
            return Ok(Vec::new());
        };
        let read = failed(&self.path, "reading table `finalized`");
        let mut entries = Vec::new();
        for entry in table.range(heights).map_err(read)? {
            let (_, value) = entry.map_err(failed(&self.path, "reading table `finalized`"))?;
            let stored = self.finalized_row(value.value())?;
            entries.push(SegmentEntry {
                block: stored.block,
                finalization: stored.certificate,
            });
        }
        Ok(entries)
    }

    /// The first height in `heights` whose block carries its own certificate.
    pub fn first_certified(
        &self,
        heights: RangeInclusive<u64>,
    ) -> Result<Option<Height>, HistoryError> {
        self.find_certified(heights, false)
    }

    /// The last height in `heights` whose block carries its own certificate.
    pub fn last_certified(
        &self,
        heights: RangeInclusive<u64>,
    ) -> Result<Option<Height>, HistoryError> {
        self.find_certified(heights, true)
    }

    fn find_certified(
        &self,
        heights: RangeInclusive<u64>,
        from_top: bool,
    ) -> Result<Option<Height>, HistoryError> {
        let Some(table) = self.table(FINALIZED, "finalized")? else {
            return Ok(None);
        };
        let read = failed(&self.path, "reading table `finalized`");
        let range = table.range(heights).map_err(read)?;
        let entries: Box<dyn Iterator<Item = _>> = match from_top {
            true => Box::new(range.rev()),
            false => Box::new(range),
        };
        for entry in entries {
            let (height, value) = entry.map_err(failed(&self.path, "reading table `finalized`"))?;
            let stored = self.finalized_row(value.value())?;
            if stored.certificate.is_some() {
                return Ok(Some(Height(height.value())));
            }
        }
        Ok(None)
    }

    /// The segment of `epoch` that starts at `first`, read no further than `last`, and
    /// whether it ended there by [`SegmentCut`]'s rule or at the epoch's end (a segment that
    /// did neither may still grow). The last block of an ended epoch goes without its own
    /// certificate: that is its end proof's, in the epoch's `EpochEnd`.
    pub fn segment_from(
        &self,
        epoch: &EpochSpan,
        first: Height,
        last: Height,
    ) -> Result<(Segment, bool), HistoryError> {
        let mut entries = Vec::new();
        let Some(table) = self.table(FINALIZED, "finalized")? else {
            return Ok((Segment { entries }, false));
        };
        let read = failed(&self.path, "reading table `finalized`");
        let mut cut = SegmentCut::default();
        let mut complete = false;
        for entry in table.range(first.0..=last.0).map_err(read)? {
            let (_, value) = entry.map_err(failed(&self.path, "reading table `finalized`"))?;
            let stored = self.finalized_row(value.value())?;
            complete =
                cut.ends_with(&stored.block) || Some(stored.block.header.height) == epoch.end;
            entries.push(SegmentEntry {
                block: stored.block,
                finalization: stored.certificate,
            });
            if complete {
                break;
            }
        }
        if let (Some(end), Some(entry)) = (epoch.end, entries.last_mut())
            && entry.block.header.height == end
        {
            entry.finalization = None;
        }
        Ok((Segment { entries }, complete))
    }

    /// Counts the blocks of `epoch` from `from` to `last` into `cut`, the open segment's count
    /// so far: the height its segment ends at, by [`SegmentCut`]'s rule or at the epoch's end,
    /// or the count through `last`. Lets a caller that follows a growing tip decode each block
    /// once, instead of the open segment again at every new height.
    pub fn segment_end(
        &self,
        epoch: &EpochSpan,
        from: Height,
        last: Height,
        mut cut: SegmentCut,
    ) -> Result<Result<Height, SegmentCut>, HistoryError> {
        let Some(table) = self.table(FINALIZED, "finalized")?.filter(|_| from <= last) else {
            return Ok(Err(cut));
        };
        let read = failed(&self.path, "reading table `finalized`");
        for entry in table.range(from.0..=last.0).map_err(read)? {
            let (_, value) = entry.map_err(failed(&self.path, "reading table `finalized`"))?;
            let stored = self.finalized_row(value.value())?;
            let height = stored.block.header.height;
            if cut.ends_with(&stored.block) || Some(height) == epoch.end {
                return Ok(Ok(height));
            }
        }
        Ok(Err(cut))
    }

    /// The end proof of `epoch` and what followed it; `None` for the epoch in force.
    pub fn epoch_end(&self, epoch: &EpochSpan) -> Result<Option<EpochEnd>, HistoryError> {
        let Some(end) = epoch.end else {
            return Ok(None);
        };
        let finalization: Certificate = {
            let missing = || self.corrupt("epoch_ends", format!("no end proof at {end}"));
            let table = self.table(EPOCH_ENDS, "epoch_ends")?.ok_or_else(missing)?;
            let value = table
                .get(end.0)
                .map_err(failed(&self.path, "reading table `epoch_ends`"))?
                .ok_or_else(missing)?;
            self.decode("epoch_ends", value.value())?
        };
        let mut tail = Vec::new();
        if let Some(table) = self.table(EPOCH_TAILS, "epoch_tails")? {
            let read = failed(&self.path, "reading table `epoch_tails`");
            for entry in table.range((end.0, 0)..=(end.0, u64::MAX)).map_err(read)? {
                let (_, value) =
                    entry.map_err(failed(&self.path, "reading table `epoch_tails`"))?;
                tail.push(self.decode("epoch_tails", value.value())?);
            }
        }
        let next = self
            .configs
            .iter()
            .find(|c| c.number == epoch.number + 1)
            .cloned()
            .ok_or_else(|| self.corrupt("module/1/epochs", "an ended epoch has no successor"))?;
        let changes = match self.outcome(end)? {
            Some(outcome) => {
                passed_changes(&outcome).map_err(|e| self.corrupt("ledger/outcomes", e))?
            }
            None => Vec::new(),
        };
        Ok(Some(EpochEnd {
            tail,
            finalization,
            changes,
            next,
        }))
    }

    /// The heights where epochs ended, in order.
    fn epoch_end_heights(&self) -> Result<Vec<Height>, HistoryError> {
        let Some(table) = self.table(EPOCH_ENDS, "epoch_ends")? else {
            return Ok(Vec::new());
        };
        let read = failed(&self.path, "reading table `epoch_ends`");
        let mut heights = Vec::new();
        for entry in table.iter().map_err(read)? {
            let (height, _) = entry.map_err(failed(&self.path, "reading table `epoch_ends`"))?;
            heights.push(Height(height.value()));
        }
        Ok(heights)
    }

    /// The ledger's record of every epoch after the genesis one, in order.
    fn started_epochs(&self) -> Result<Vec<EpochConfig>, HistoryError> {
        let name = module_table(CONSENSUS_CTRL, ctrl::EPOCHS);
        let definition = TableDefinition::<&[u8], &[u8]>::new(&name);
        let table = match self.txn.open_table(definition) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(failed(&self.path, "opening the ledger's epochs")(e)),
        };
        let read = failed(&self.path, "reading the ledger's epochs");
        let mut configs = Vec::new();
        for entry in table.iter().map_err(read)? {
            let (_, value) = entry.map_err(failed(&self.path, "reading the ledger's epochs"))?;
            let config: EpochConfig = self.decode("module/1/epochs", value.value())?;
            if config.number > 0 {
                configs.push(config);
            }
        }
        Ok(configs)
    }

    fn outcome(&self, height: Height) -> Result<Option<BlockOutcome>, HistoryError> {
        let Some(table) = self.table(OUTCOMES, "ledger/outcomes")? else {
            return Ok(None);
        };
        let value = table
            .get(height.0)
            .map_err(failed(&self.path, "reading `ledger/outcomes`"))?;
        value
            .map(|v| self.decode("ledger/outcomes", v.value()))
            .transpose()
    }

    /// A table of this snapshot; `None` if nothing ever wrote it.
    fn table<K: redb::Key + 'static>(
        &self,
        definition: TableDefinition<K, &'static [u8]>,
        name: &'static str,
    ) -> Result<Option<redb::ReadOnlyTable<K, &'static [u8]>>, HistoryError> {
        match self.txn.open_table(definition) {
            Ok(table) => Ok(Some(table)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(failed(&self.path, format!("opening table `{name}`"))(e)),
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        bytes: &[u8],
    ) -> Result<T, HistoryError> {
        codec::decode(bytes, MAX_VALUE_BYTES).map_err(|e| self.corrupt(table, e))
    }

    /// A row of the store's `finalized` table, refused if damaged (`FinalizedEntry::from_row`).
    fn finalized_row(&self, bytes: &[u8]) -> Result<FinalizedEntry, HistoryError> {
        FinalizedEntry::from_row(bytes, MAX_VALUE_BYTES).map_err(|e| self.corrupt("finalized", e))
    }

    fn corrupt(&self, table: &'static str, detail: impl ToString) -> HistoryError {
        HistoryError::Store(StoreError::Corrupt {
            path: self.path.clone(),
            table,
            detail: detail.to_string(),
        })
    }
}

/// For `map_err`: a redb failure while reading the snapshot.
fn failed<E: Into<redb::Error>>(
    path: &std::path::Path,
    action: impl Into<String>,
) -> impl FnOnce(E) -> HistoryError {
    let path = path.to_path_buf();
    move |e| {
        HistoryError::Store(StoreError::Database {
            path,
            action: action.into(),
            source: Box::new(e.into()),
        })
    }
}
