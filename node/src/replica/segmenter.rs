//! The serving side's blobs: each complete segment of the node's finalized history goes into
//! the blob store once, and the [`Index`] that sources answer with is kept current as the
//! finalized tip moves. A blob segment carries blocks only, no certificates: which certificate
//! a node finalized a block with differs between nodes, the blocks never do, so every node
//! holding the same history serves the same hashes. Proofs travel beside them
//! ([`Request::Chain`](super::protocol::Request::Chain)).

use std::sync::Arc;

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;
use tokio::sync::watch;

use super::blobs::SegmentBlobs;
use super::protocol::{EpochSegments, Index};
use crate::history::{EpochSpan, HistoryError, SEGMENT_BLOCKS, Segment, SegmentId, Snapshot};
use crate::store::Store;

/// Most segments built in one pass: bounds the memory a long history takes at startup.
const SEGMENTS_PER_PASS: usize = 16;

/// What a node serves its history from: its database, its blobs, and the index of both.
#[derive(Debug, Clone)]
pub struct HistorySource {
    pub store: Arc<Store>,
    pub blobs: SegmentBlobs,
    /// The finalized tip: changes each time the node finalizes.
    pub tip: watch::Receiver<Height>,
    pub index: watch::Receiver<Arc<Index>>,
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
/// it current as `tip` moves (the driver sends every new finalized height). The task ends when
/// the tip's sender is dropped.
pub async fn start(
    store: Arc<Store>,
    blobs: SegmentBlobs,
    tip: watch::Receiver<Height>,
) -> Result<HistorySource, SegmentError> {
    let mut segmenter = Segmenter {
        store: store.clone(),
        blobs: blobs.clone(),
        lists: Vec::new(),
    };
    let first = segmenter.refresh().await?;
    let (index_tx, index) = watch::channel(Arc::new(first));
    let mut watched = tip.clone();
    tokio::spawn(async move {
        while watched.changed().await.is_ok() {
            match segmenter.refresh().await {
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
    })
}

struct Segmenter {
    store: Arc<Store>,
    blobs: SegmentBlobs,
    /// Each epoch's segment hashes so far, by epoch number.
    lists: Vec<Vec<Hash>>,
}

impl Segmenter {
    /// Adds every segment completed since the last pass and returns the index.
    async fn refresh(&mut self) -> Result<Index, SegmentError> {
        loop {
            let store = self.store.clone();
            let known: Vec<usize> = self.lists.iter().map(Vec::len).collect();
            let (genesis, tip, spans, built) =
                tokio::task::spawn_blocking(move || build(&store, &known)).await??;
            let new_epochs = spans.len() > self.lists.len();
            for span in spans.iter().skip(self.lists.len()) {
                let listed = self.blobs.epoch(span.start).await?.unwrap_or_default();
                let complete = complete_segments(span, tip) as usize;
                self.lists.push(listed.into_iter().take(complete).collect());
            }
            if built.is_empty() && !new_epochs {
                let mut epochs = Vec::new();
                for (span, list) in spans.iter().zip(&self.lists) {
                    epochs.push(EpochSegments {
                        number: span.number,
                        start: span.start,
                        end: span.end,
                        segments: self.blobs.set_epoch(span.start, list).await?,
                        count: list.len() as u64,
                    });
                }
                return Ok(Index {
                    genesis,
                    tip,
                    epochs,
                });
            }
            for (epoch, bytes) in built {
                let hash = self.blobs.add_segment(bytes).await?;
                if let Some(list) = self.lists.get_mut(epoch as usize) {
                    list.push(hash);
                }
            }
        }
    }
}

type Built = (
    bfte_shared::federation::Genesis,
    Height,
    Vec<EpochSpan>,
    Vec<(u64, Vec<u8>)>,
);

/// Reads the epochs and up to [`SEGMENTS_PER_PASS`] complete segments beyond the `known`
/// counts (an epoch not in `known` builds nothing yet: its list may be in the blob store).
fn build(store: &Store, known: &[usize]) -> Result<Built, HistoryError> {
    let snapshot = Snapshot::of(store)?;
    let tip = snapshot.tip();
    let mut built = Vec::new();
    for (span, &have) in snapshot.epochs().iter().zip(known) {
        let last = span.end.unwrap_or(tip);
        for index in have as u64..complete_segments(span, tip) {
            if built.len() == SEGMENTS_PER_PASS {
                break;
            }
            let id = SegmentId {
                epoch_start: span.start,
                index,
            };
            let mut segment = snapshot.segment(span, id, last)?;
            strip_certificates(&mut segment);
            built.push((span.number, codec::encode(&segment)));
        }
    }
    Ok((
        snapshot.genesis().clone(),
        tip,
        snapshot.epochs().to_vec(),
        built,
    ))
}

/// The segments of an epoch that will not change: all of an ended epoch's, and those of the
/// epoch in force whose last height is final.
pub fn complete_segments(span: &EpochSpan, tip: Height) -> u64 {
    let blocks = span.end.unwrap_or(tip).0.saturating_sub(span.start.0);
    match span.end {
        Some(_) => blocks.div_ceil(SEGMENT_BLOCKS),
        None => blocks / SEGMENT_BLOCKS,
    }
}

/// A blob segment is the same on every node: the blocks, without the certificate this node
/// happened to finalize them with.
pub fn strip_certificates(segment: &mut Segment) {
    for entry in &mut segment.entries {
        entry.finalization = None;
    }
}
