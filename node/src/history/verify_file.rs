//! `bfte history verify`: an exported history checked alone, by replaying it into a scratch
//! database with the real ledger.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bfte_shared::codec;
use bfte_shared::crypto::Verifier;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::modules::ctrl::{Change, EpochConfig};
use bfte_shared::round::Height;

use super::cbor_seq::SequenceReader;
use super::error::{FormatError, HistoryError};
use super::record::{EpochEnd, FORMAT_VERSION, GENESIS_RECORD_BYTES, Record};
use super::replay::Replay;
use super::segment::{SEGMENT_BLOCKS, SEGMENT_BYTES, Segment, SegmentCut, record_limit};
use crate::store::Store;

/// One epoch as the verified history ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSummary {
    pub number: u64,
    pub start: Height,
    pub peers: usize,
    /// Its last block, if the file ends it.
    pub end: Option<Height>,
    /// What passed at its end, one line each.
    pub changes: Vec<String>,
}

/// What a verified file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub federation: FederationId,
    pub name: String,
    /// The last verified block.
    pub tip: Height,
    pub tip_hash: Hash,
    /// The last applied height and the state root after it.
    pub state_root: (Height, Hash),
    pub epochs: Vec<EpochSummary>,
    pub bytes: u64,
}

/// Verifies the history in `input`, replaying it into a new database at `database` (which must
/// not exist; the caller removes it). Stops at the first record that does not verify.
pub fn verify_file(
    input: impl BufRead,
    database: &Path,
    verifier: Arc<dyn Verifier>,
) -> Result<Verified, HistoryError> {
    let mut verification = Verification::new(database, verifier);
    verification.read(input)?;
    verification.finish()
}

/// History verified from one file or from several read in order, each after the first
/// continuing where the one before ended (`export --from`).
pub struct Verification {
    database: PathBuf,
    verifier: Arc<dyn Verifier>,
    /// Set by the first file's genesis.
    state: Option<Verifying>,
    bytes: u64,
}

struct Verifying {
    replay: Replay,
    federation: FederationId,
    name: String,
    epochs: Vec<EpochSummary>,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("database", &self.database)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// Verification that replays into a new database at `database` (which must not exist;
    /// the caller removes it).
    pub fn new(database: &Path, verifier: Arc<dyn Verifier>) -> Verification {
        Verification {
            database: database.to_path_buf(),
            verifier,
            state: None,
            bytes: 0,
        }
    }

    /// Verifies the next file: the first starts from the genesis, each later one continues
    /// the one before. Stops at the first record that does not verify; a file must end on a
    /// certified block.
    pub fn read(&mut self, input: impl BufRead) -> Result<(), HistoryError> {
        let mut reader = SequenceReader::new(input);
        let height = self
            .state
            .as_ref()
            .map_or(Height(0), |s| s.replay.next_height());
        let Some((offset, first)) = next_record(&mut reader, GENESIS_RECORD_BYTES, height)? else {
            return Err(HistoryError::Format {
                offset: 0,
                height,
                source: FormatError::Truncated,
            });
        };
        let state = self.open(offset, first)?;
        let replay = &mut state.replay;
        // A segment shorter than a full one ends its epoch's segments.
        let mut segments_done = false;
        loop {
            let limit = record_limit(replay.chain().peers().len(), &replay.epoch().params);
            let Some((offset, record)) = next_record(&mut reader, limit, replay.next_height())?
            else {
                break;
            };
            match record {
                Record::Segment(segment) => {
                    segments_done = !check_bounds(replay, &segment, segments_done)?;
                    for entry in segment.entries {
                        if let Some(epoch) = replay.push(entry.block, entry.finalization)? {
                            return Err(HistoryError::UnannouncedEpochEnd {
                                epoch: epoch.number.saturating_sub(1),
                                height: epoch.start_height,
                            });
                        }
                    }
                }
                Record::EpochEnd(end) => {
                    let ending = replay.epoch().number;
                    let epoch = end_epoch(replay, end, ending)?;
                    if let Some(last) = state.epochs.last_mut() {
                        last.end = Some(epoch.start_height);
                        last.changes = replay
                            .passed_at(epoch.start_height)?
                            .iter()
                            .map(Change::describe)
                            .collect();
                    }
                    state.epochs.push(summary(&epoch));
                    segments_done = false;
                }
                Record::Genesis { .. } | Record::Continues { .. } => {
                    return Err(HistoryError::UnexpectedRecord {
                        offset,
                        expected: "segment or epoch end",
                        found: record.kind(),
                    });
                }
            }
        }
        if let Some((from, to)) = replay.uncertified() {
            return Err(HistoryError::Unfinished { from, to });
        }
        self.bytes += reader.offset();
        Ok(())
    }

    /// What the files verified to.
    pub fn finish(self) -> Result<Verified, HistoryError> {
        let Some(state) = self.state else {
            return Err(HistoryError::Format {
                offset: 0,
                height: Height(0),
                source: FormatError::Truncated,
            });
        };
        let tip = state.replay.tip();
        Ok(Verified {
            federation: state.federation,
            name: state.name,
            tip: tip.height,
            tip_hash: tip.hash,
            state_root: state.replay.state_root(),
            epochs: state.epochs,
            bytes: self.bytes,
        })
    }

    /// Takes a file's first record: the genesis for the first file, a continuation of what
    /// was verified so far for every later one.
    fn open(&mut self, offset: u64, first: Record) -> Result<&mut Verifying, HistoryError> {
        let format = match &first {
            Record::Genesis { format, .. } | Record::Continues { format, .. } => *format,
            _ => FORMAT_VERSION,
        };
        if format != FORMAT_VERSION {
            return Err(HistoryError::UnknownFormat {
                found: format,
                supported: FORMAT_VERSION,
            });
        }
        match (first, self.state.take()) {
            (Record::Genesis { genesis, .. }, None) => {
                let store = Store::create(&self.database, &genesis)?;
                let replay = Replay::new(Arc::new(store), self.verifier.clone())?;
                let epochs = vec![summary(replay.epoch())];
                Ok(self.state.insert(Verifying {
                    replay,
                    federation: genesis.federation_id(),
                    name: genesis.name,
                    epochs,
                }))
            }
            (
                Record::Continues {
                    after, after_block, ..
                },
                None,
            ) => Err(HistoryError::ContinuesUnknown { after, after_block }),
            (
                Record::Continues {
                    federation,
                    epoch,
                    after,
                    after_block,
                    ..
                },
                Some(state),
            ) => {
                let tip = state.replay.tip();
                let found = (
                    state.federation,
                    state.replay.epoch().number,
                    tip.height,
                    tip.hash,
                );
                if (federation, epoch, after, after_block) != found {
                    return Err(HistoryError::ContinuesElsewhere {
                        claimed: describe_tip(federation, epoch, after, after_block),
                        found: describe_tip(found.0, found.1, found.2, found.3),
                    });
                }
                Ok(self.state.insert(state))
            }
            (record, state) => {
                let expected = match state {
                    None => "genesis record",
                    Some(_) => "continuation record",
                };
                Err(HistoryError::UnexpectedRecord {
                    offset,
                    expected,
                    found: record.kind(),
                })
            }
        }
    }
}

fn describe_tip(federation: FederationId, epoch: u64, height: Height, block: Hash) -> String {
    format!(
        "height {height} (block {}) in epoch {epoch} of federation {}",
        block.short(),
        federation.0.short()
    )
}

/// The next record and the byte it starts at; `None` at the end of the input. `height` is the
/// one that would come next, for errors.
fn next_record<R: BufRead>(
    reader: &mut SequenceReader<R>,
    limit: usize,
    height: Height,
) -> Result<Option<(u64, Record)>, HistoryError> {
    let offset = reader.offset();
    let format = |source| HistoryError::Format {
        offset,
        height,
        source,
    };
    let Some(bytes) = reader.next_item(limit).map_err(format)? else {
        return Ok(None);
    };
    let record = codec::decode(&bytes, limit).map_err(|e| format(FormatError::Decode(e)))?;
    Ok(Some((offset, record)))
}

/// A segment must start where the last one left off and end where [`SegmentCut`] ends it;
/// only an epoch's last segment may end earlier. Returns whether the segment ended by the rule
/// (if not, it must be the epoch's last).
fn check_bounds(replay: &Replay, segment: &Segment, done: bool) -> Result<bool, HistoryError> {
    let epoch = replay.epoch();
    let expected = replay.next_height();
    let first = segment.first_height().unwrap_or(expected);
    let len = segment.entries.len();
    let refuse = |cut: String| HistoryError::SegmentBounds {
        epoch: epoch.number,
        first,
        len,
        expected,
        cut,
    };
    if done {
        return Err(refuse(
            "the segment before ended early, which only the epoch's last may".into(),
        ));
    }
    if len == 0 {
        return Err(refuse("a segment holds at least one block".into()));
    }
    if first != expected {
        return Err(refuse("a segment starts where the last one ended".into()));
    }
    let mut cut = SegmentCut::default();
    for (index, entry) in segment.entries.iter().enumerate() {
        if cut.ends_with(&entry.block) {
            if index + 1 == len {
                return Ok(true);
            }
            return Err(refuse(format!(
                "ends with its block {} ({SEGMENT_BLOCKS} blocks or {SEGMENT_BYTES} bytes of \
                 blocks, whichever comes first)",
                index + 1
            )));
        }
    }
    Ok(false)
}

/// Ends the epoch in force with `end`'s proof, then holds what the file claims came next
/// against what applying the history gave.
fn end_epoch(replay: &mut Replay, end: EpochEnd, ending: u64) -> Result<EpochConfig, HistoryError> {
    let EpochEnd {
        tail,
        finalization,
        changes,
        next,
    } = end;
    let epoch = replay.end_epoch(tail, finalization)?;
    let passed = replay.passed_at(epoch.start_height)?;
    if passed != changes {
        return Err(HistoryError::ClaimedEpochDiffers {
            epoch: ending,
            field: "what passed at its end",
            claimed: describe_changes(&changes),
            derived: describe_changes(&passed),
        });
    }
    if next != epoch {
        return Err(HistoryError::ClaimedEpochDiffers {
            epoch: ending,
            field: "the next epoch",
            claimed: describe_epoch(&next),
            derived: describe_epoch(&epoch),
        });
    }
    Ok(epoch)
}

fn summary(epoch: &EpochConfig) -> EpochSummary {
    EpochSummary {
        number: epoch.number,
        start: epoch.start_height,
        peers: epoch.members.len(),
        end: None,
        changes: Vec::new(),
    }
}

fn describe_changes(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "nothing".into();
    }
    let lines: Vec<String> = changes.iter().map(Change::describe).collect();
    lines.join("; ")
}

fn describe_epoch(epoch: &EpochConfig) -> String {
    let peers: Vec<String> = epoch.members.iter().map(|m| m.id.short()).collect();
    format!(
        "epoch {} from height {} (block {}) with peers [{}]",
        epoch.number,
        epoch.start_height,
        epoch.start_block.short(),
        peers.join(", ")
    )
}
