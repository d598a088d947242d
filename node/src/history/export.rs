//! `bfte history export`: a node's history as a CBOR sequence of records, read in one
//! transaction.

use std::io::Write;

use bfte_shared::codec;
use bfte_shared::round::Height;

use super::error::HistoryError;
use super::record::{FORMAT_VERSION, Record};
use super::snapshot::{EpochSpan, Snapshot};
use crate::store::Store;

/// Which part of the history an export writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportRange {
    /// The first height. Above 1 the file continues one that ended at `from - 1`, which must
    /// be a certified block or an epoch's last: a file always ends on one.
    pub from: Option<Height>,
    /// Stop at the first certified block at or above this height (default: the tip).
    pub to: Option<Height>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The first height written (after the genesis, 1; 0 for a file of the genesis alone).
    pub first: Height,
    /// The last height written.
    pub last: Height,
    pub epochs: usize,
    pub segments: usize,
    pub bytes: u64,
}

/// Writes the genesis (or, from a later height, the block the file continues), then every
/// epoch's segments and end proof, up to the first block at or above `to` (or the tip) that a
/// certificate finalizes: a file always ends on a certified block. An epoch that `to` falls in
/// with no certified block before its end goes out whole, with its end proof.
pub fn export(
    store: &Store,
    range: ExportRange,
    out: &mut impl Write,
) -> Result<ExportSummary, HistoryError> {
    let snapshot = Snapshot::of(store)?;
    let to = range.to.map_or(snapshot.tip(), |to| to.min(snapshot.tip()));
    let mut written = ExportSummary {
        first: Height(1).min(snapshot.tip()),
        last: Height(0),
        epochs: 0,
        segments: 0,
        bytes: 0,
    };
    let start = match range.from {
        Some(from) if from.0 > 1 => {
            write(out, &continuation(&snapshot, from, to)?, &mut written)?;
            written.first = from;
            from
        }
        _ => {
            let genesis = Record::Genesis {
                format: FORMAT_VERSION,
                genesis: snapshot.genesis().clone(),
            };
            write(out, &genesis, &mut written)?;
            Height(1)
        }
    };
    // The first and last epoch numbers the file holds blocks or an end proof of.
    let mut epochs: Option<(u64, u64)> = None;
    for epoch in snapshot.epochs() {
        if to <= epoch.start {
            break;
        }
        if epoch.end.is_some_and(|end| end < start) {
            continue;
        }
        let first_epoch = epochs.map_or(epoch.number, |(first, _)| first);
        epochs = Some((first_epoch, epoch.number));
        let (last, cut) = last_of(&snapshot, epoch, to)?;
        let mut height = start.max(epoch.start.next());
        while height <= last {
            let (segment, _) = snapshot.segment_from(epoch, height, last)?;
            let Some(end) = segment.entries.last().map(|e| e.block.header.height) else {
                return Err(HistoryError::MissingTip { height });
            };
            write(out, &Record::Segment(segment), &mut written)?;
            written.segments += 1;
            height = end.next();
        }
        written.last = last;
        if cut {
            break;
        }
        if let Some(end) = snapshot.epoch_end(epoch)? {
            write(out, &Record::EpochEnd(end), &mut written)?;
            // The next epoch is in the file from its start, even with no blocks yet.
            epochs = Some((first_epoch, epoch.number + 1));
        }
    }
    written.epochs = epochs.map_or(1, |(first, last)| (last - first + 1) as usize);
    out.flush().map_err(|source| HistoryError::Io {
        action: "writing the export",
        source,
    })?;
    Ok(written)
}

/// The record a file that starts at `from` opens with, once `from - 1` is known to be where
/// another file can end.
fn continuation(snapshot: &Snapshot, from: Height, to: Height) -> Result<Record, HistoryError> {
    let after = Height(from.0 - 1);
    if after >= to {
        return Err(HistoryError::EmptyRange { from, to });
    }
    let epoch_end = snapshot.epochs().iter().any(|e| e.end == Some(after));
    let certified = snapshot.first_certified(after.0..=after.0)? == Some(after);
    if !epoch_end && !certified {
        return Err(HistoryError::NoFileBoundary {
            from,
            before: snapshot.last_certified(1..=after.0)?,
            after: snapshot.first_certified(from.0..=to.0)?,
        });
    }
    let Some(block) = snapshot.entries(after.0..=after.0)?.pop().map(|e| e.block) else {
        return Err(HistoryError::MissingTip { height: after });
    };
    let Some(epoch) = snapshot
        .epochs()
        .iter()
        .find(|e| e.start < from && e.end.is_none_or(|end| from <= end))
    else {
        return Err(HistoryError::MissingTip { height: from });
    };
    Ok(Record::Continues {
        format: FORMAT_VERSION,
        federation: snapshot.genesis().federation_id(),
        epoch: epoch.number,
        after,
        after_block: block.hash(),
    })
}

/// Where the export of `epoch` ends, and whether that is `to`'s cut rather than the epoch's
/// last block. An ended epoch's last block is final through its end proof, not a certificate
/// of its own in the segment.
fn last_of(
    snapshot: &Snapshot,
    epoch: &EpochSpan,
    to: Height,
) -> Result<(Height, bool), HistoryError> {
    let epoch_last = epoch.end.unwrap_or(snapshot.tip());
    let cut = match epoch.end {
        _ if to >= epoch_last => None,
        Some(end) => snapshot.first_certified(to.0..=end.0.saturating_sub(1))?,
        None => snapshot.first_certified(to.0..=epoch_last.0)?,
    };
    Ok((cut.unwrap_or(epoch_last), cut.is_some()))
}

fn write(
    out: &mut impl Write,
    record: &Record,
    written: &mut ExportSummary,
) -> Result<(), HistoryError> {
    let bytes = codec::encode(record);
    out.write_all(&bytes).map_err(|source| HistoryError::Io {
        action: "writing the export",
        source,
    })?;
    written.bytes += bytes.len() as u64;
    Ok(())
}
