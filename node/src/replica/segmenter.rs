//! The serving side's blobs: each complete segment of the node's finalized history goes into
//! the blob store once, and the [`Index`] that sources answer with is kept current as the
//! finalized tip moves. A blob segment carries blocks only, no certificates: which certificate
//! a node finalized a block with differs between nodes, the blocks never do, so every node
//! holding the same history serves the same hashes. Proofs travel beside them
//! ([`Request::Chain`](super::protocol::Request::Chain)).

use std::sync::{Arc, Mutex};

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;
use tokio::sync::watch;
use tokio::time::{Duration, Instant};

use super::adopted::AdoptedSegments;
use super::blobs::SegmentBlobs;
use super::protocol::{EpochSegments, Index};
use crate::history::{EpochSpan, HistoryError, Segment, SegmentCut, Snapshot};
use crate::store::Store;

/// Most segments built in one pass: bounds the memory a long history takes at startup.
const SEGMENTS_PER_PASS: usize = 16;

/// Least time between two passes: blocks finalize hundreds of times a second, and a pass per
/// block (a read transaction and a blocking task) cost 4 % of a node's CPU in `bench net`. A
/// segment completes at most this much later.
const PASS_INTERVAL: Duration = Duration::from_millis(100);

/// What a node serves its history from: its database, its blobs, and the index of both.
#[derive(Debug, Clone)]
pub struct HistorySource {
    pub store: Arc<Store>,
    pub blobs: SegmentBlobs,
    /// The finalized tip: changes each time the node finalizes.
    pub tip: watch::Receiver<Height>,
    pub index: watch::Receiver<Arc<Index>>,
    /// Segments a follower fetched and verified, which the segmenter lists as they are.
    pub adopted: AdoptedSegments,
    /// The segmenter's task, until [`HistorySource::stop`] waits for it.
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("reading history for the blob store: {0}")]
    History(#[from] HistoryError),
    #[error("{0}")]
    Blob(#[from] super::blobs::BlobError),
    #[error("the history reader stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Starts serving `store`'s history from `blobs`: builds what the blob store lacks, then keeps
/// it current as `tip` moves (the driver sends every newly applied height). The task ends when
/// the tip's sender is dropped; [`HistorySource::stop`] waits for it.
pub async fn start(
    store: Arc<Store>,
    blobs: SegmentBlobs,
    tip: watch::Receiver<Height>,
) -> Result<HistorySource, SegmentError> {
    let adopted = AdoptedSegments::default();
    let mut segmenter = Segmenter {
        store: store.clone(),
        blobs: blobs.clone(),
        adopted: adopted.clone(),
        lists: Vec::new(),
    };
    let first = segmenter.refresh(*tip.borrow()).await?;
    let (index_tx, index) = watch::channel(Arc::new(first));
    let mut watched = tip.clone();
    let task = tokio::spawn(async move {
        let mut last_pass = Instant::now();
        while watched.changed().await.is_ok() {
            tokio::time::sleep_until(last_pass + PASS_INTERVAL).await;
            last_pass = Instant::now();
            let applied = *watched.borrow_and_update();
            match segmenter.refresh(applied).await {
                Ok(index) => {
                    index_tx.send_replace(Arc::new(index));
                }
                Err(error) => tracing::error!(%error, "the history index is not current"),
            }
        }
    });
    Ok(HistorySource {
        store,
        blobs,
        tip,
        index,
        adopted,
        task: Arc::new(Mutex::new(Some(task))),
    })
}

impl HistorySource {
    /// Waits for the segmenter to end (once the tip's sender is dropped), so that the blob
    /// store can shut down with nothing half added.
    pub async fn stop(&self) {
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// One epoch's segments so far, and the hash of their list once it is in the blob store.
#[derive(Default)]
struct EpochList {
    segments: Vec<(Hash, Height)>,
    listed: Option<Hash>,
    /// How far the segment after the last one is counted.
    open: Option<OpenSegment>,
}

/// The blocks of an epoch's open segment counted so far, so that each new height decodes one
/// block rather than the whole open segment again.
#[derive(Debug, Clone, Copy)]
struct OpenSegment {
    through: Height,
    cut: SegmentCut,
    /// The epoch's end when counted: an epoch that ended since is counted again.
    epoch_end: Option<Height>,
}

/// Where an epoch's listed segments end, and how far the next one is counted.
#[derive(Debug, Clone, Copy)]
struct Known {
    last: Height,
    open: Option<OpenSegment>,
}

struct Segmenter {
    store: Arc<Store>,
    blobs: SegmentBlobs,
    adopted: AdoptedSegments,
    lists: Vec<EpochList>,
}

impl Segmenter {
    /// Adds every segment completed since the last pass, up to the `applied` height (a block
    /// finalized but not applied may yet be cut off by an epoch switch), and returns the index.
    async fn refresh(&mut self, applied: Height) -> Result<Index, SegmentError> {
        loop {
            let (store, adopted) = (self.store.clone(), self.adopted.clone());
            let known: Vec<Known> = (self.lists.iter())
                .map(|list| Known {
                    last: list.segments.last().map_or(Height(0), |(_, last)| *last),
                    open: list.open,
                })
                .collect();
            let (genesis, tip, spans, built, opens) =
                tokio::task::spawn_blocking(move || build(&store, &adopted, &known, applied))
                    .await??;
            for (list, open) in self.lists.iter_mut().zip(opens) {
                list.open = open;
            }
            let new_epochs = spans.len() > self.lists.len();
            for span in spans.iter().skip(self.lists.len()) {
                let listed = self.blobs.epoch(span.start).await?.unwrap_or_default();
                let last = span.end.unwrap_or(tip.min(applied));
                let segments = listed.into_iter().take_while(|(_, l)| *l <= last).collect();
                self.lists.push(EpochList {
                    segments,
                    ..EpochList::default()
                });
            }
            if built.is_empty() && !new_epochs {
                let mut epochs = Vec::new();
                for (span, list) in spans.iter().zip(&mut self.lists) {
                    let segments = match list.listed {
                        Some(hash) => hash,
                        None => {
                            let hash = self.blobs.set_epoch(span.start, &list.segments).await?;
                            *list.listed.insert(hash)
                        }
                    };
                    epochs.push(EpochSegments {
                        number: span.number,
                        start: span.start,
                        end: span.end,
                        segments,
                        lasts: list.segments.iter().map(|(_, last)| *last).collect(),
                    });
                }
                return Ok(Index {
                    genesis,
                    tip,
                    epochs,
                });
            }
            for (epoch, last, segment) in built {
                let hash = match segment {
                    Built::Bytes(bytes) => self.blobs.add_segment(bytes).await?,
                    Built::Adopted(hash) => hash,
                };
                if let Some(list) = self.lists.get_mut(epoch as usize) {
                    list.segments.push((hash, last));
                    list.listed = None;
                }
            }
        }
    }
}

/// A segment made for the blob store, or one already there.
enum Built {
    Bytes(Vec<u8>),
    Adopted(Hash),
}

type Pass = (
    bfte_shared::federation::Genesis,
    Height,
    Vec<EpochSpan>,
    Vec<(u64, Height, Built)>,
    Vec<Option<OpenSegment>>,
);

/// Reads the epochs and up to [`SEGMENTS_PER_PASS`] complete segments after the `known` last
/// heights (an epoch not in `known` builds nothing yet: its list may be in the blob store),
/// taking adopted segments as they are; and how far each known epoch's open segment is
/// counted now.
fn build(
    store: &Store,
    adopted: &AdoptedSegments,
    known: &[Known],
    applied: Height,
) -> Result<Pass, HistoryError> {
    let snapshot = Snapshot::of(store)?;
    let tip = snapshot.tip();
    let mut built = Vec::new();
    let mut opens = Vec::new();
    for (span, known) in snapshot.epochs().iter().zip(known) {
        let last = span.end.unwrap_or(tip.min(applied));
        let mut first = known.last.max(span.start).next();
        let mut open = known.open.filter(|open| open.epoch_end == span.end);
        while first <= last && built.len() < SEGMENTS_PER_PASS {
            if let Some((end, hash)) = adopted.take(first, last) {
                built.push((span.number, end, Built::Adopted(hash)));
                first = end.next();
                open = None;
                continue;
            }
            let (from, cut) = open.map_or((first, SegmentCut::default()), |open| {
                (open.through.next(), open.cut)
            });
            let end = match snapshot.segment_end(span, from, last, cut)? {
                Ok(end) => end,
                Err(cut) => {
                    open = Some(OpenSegment {
                        through: last,
                        cut,
                        epoch_end: span.end,
                    });
                    break;
                }
            };
            let (mut segment, complete) = snapshot.segment_from(span, first, end)?;
            if !complete {
                return Err(HistoryError::SegmentMoved { first, end });
            }
            strip_certificates(&mut segment);
            built.push((span.number, end, Built::Bytes(codec::encode(&segment))));
            first = end.next();
            open = None;
        }
        opens.push(open);
    }
    Ok((
        snapshot.genesis().clone(),
        tip,
        snapshot.epochs().to_vec(),
        built,
        opens,
    ))
}

/// A blob segment is the same on every node: the blocks, without the certificate this node
/// happened to finalize them with.
pub fn strip_certificates(segment: &mut Segment) {
    for entry in &mut segment.entries {
        entry.finalization = None;
    }
}
