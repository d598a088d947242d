//! `bfte history export`: a node's history as a CBOR sequence of records, read in one
//! transaction.

use std::io::Write;

use bfte_shared::codec;
use bfte_shared::round::Height;

use super::error::HistoryError;
use super::record::{FORMAT_VERSION, Record};
use super::snapshot::Snapshot;
use crate::store::Store;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The last height written.
    pub last: Height,
    pub epochs: usize,
    pub segments: usize,
    pub bytes: u64,
}

/// Writes the genesis, then every epoch's segments and end proof, up to the first block at or
/// above `to` (or the tip) that a certificate finalizes: a file always ends on a certified
/// block. An epoch that `to` falls in with no certified block before its end goes out whole,
/// with its end proof.
pub fn export(
    store: &Store,
    to: Option<Height>,
    out: &mut impl Write,
) -> Result<ExportSummary, HistoryError> {
    let snapshot = Snapshot::of(store)?;
    let to = to.map_or(snapshot.tip(), |to| to.min(snapshot.tip()));
    let mut written = ExportSummary {
        last: Height(0),
        epochs: 1,
        segments: 0,
        bytes: 0,
    };
    let genesis = Record::Genesis {
        format: FORMAT_VERSION,
        genesis: snapshot.genesis().clone(),
    };
    write(out, &genesis, &mut written)?;
    for epoch in snapshot.epochs() {
        if to <= epoch.start {
            break;
        }
        written.epochs = epoch.number as usize + 1;
        let epoch_last = epoch.end.unwrap_or(snapshot.tip());
        // An ended epoch's last block is final through its end proof, not a certificate of
        // its own in the segment.
        let cut = match epoch.end {
            _ if to >= epoch_last => None,
            Some(end) => snapshot.first_certified(to.0..=end.0.saturating_sub(1))?,
            None => snapshot.first_certified(to.0..=epoch_last.0)?,
        };
        let last = cut.unwrap_or(epoch_last);
        let mut height = epoch.start.next();
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
        if cut.is_some() {
            break;
        }
        if let Some(end) = snapshot.epoch_end(epoch)? {
            write(out, &Record::EpochEnd(end), &mut written)?;
            // The next epoch is in the file from its start, even with no blocks yet.
            written.epochs += 1;
        }
    }
    out.flush().map_err(|source| HistoryError::Io {
        action: "writing the export",
        source,
    })?;
    Ok(written)
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
