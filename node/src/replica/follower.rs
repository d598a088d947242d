//! The replica's loop: catch up from a source's segments, then follow what it pushes; a source
//! that sends anything that does not verify is dropped with a log line naming it and why, and
//! the next one takes over from the verified tip. Verification and writing are the history
//! replay's (`history::Replay`): nothing reaches the database before a certificate valid under
//! the epoch in force covers it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::Member;
use bfte_shared::round::Height;
use iroh::endpoint::Connection;
use tokio::sync::watch;

use super::adopted::{AdoptedSegments, adoptable};
use super::blobs::SegmentBlobs;
use super::protocol::{ChainPart, EpochSegments, Index};
use super::segmenter::HistorySource;
use super::source::{Parts, Source, SourceError};
use crate::history::{HistoryError, Replay, SEGMENT_BLOCKS, Segment};
use crate::net::{Dialer, PathInfo};

/// The wait before trying the sources again once all of them failed.
const RETRY: Duration = Duration::from_secs(1);

/// Why following a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The source's fault, or it is unreachable: drop it, try another.
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("its history does not verify: {0}")]
    Invalid(HistoryError),
    /// This node's own database failed: stop.
    #[error("{0}")]
    Local(HistoryError),
}

impl From<HistoryError> for FollowError {
    fn from(error: HistoryError) -> FollowError {
        match error {
            HistoryError::Store(_)
            | HistoryError::Ledger(_)
            | HistoryError::Io { .. }
            | HistoryError::MissingTip { .. }
            | HistoryError::SwitchPending { .. } => FollowError::Local(error),
            other => FollowError::Invalid(other),
        }
    }
}

/// Where the index says a segment lies.
#[derive(Debug, Clone, Copy)]
struct SegmentBounds {
    index: usize,
    first: Height,
    last: Height,
}

#[derive(Debug)]
pub struct Follower {
    replay: Replay,
    blobs: SegmentBlobs,
    adopted: AdoptedSegments,
    dialer: Dialer,
    sources: Vec<Member>,
    connection: SourceConnection,
    tip: watch::Sender<Height>,
    progress: watch::Sender<Progress>,
    /// Bytes received from the sources dropped so far.
    settled_bytes: u64,
}

/// How far the replica is, and from where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The source in use, if one answered.
    pub source: Option<String>,
    /// The newest finalized height that source holds, as far as the replica knows.
    pub target: Height,
    /// The replica's verified tip.
    pub tip: Height,
    /// Bytes of history received from every source.
    pub bytes_in: u64,
    /// Caught up: taking what the source pushes.
    pub following: bool,
}

/// The connection to the source in use, shared with the status calls that ask how it travels.
#[derive(Debug, Clone, Default)]
pub struct SourceConnection(Arc<Mutex<Option<Connection>>>);

impl SourceConnection {
    /// The path the connection to the source uses now: relayed, or direct once hole punched.
    pub fn path(&self) -> Option<PathInfo> {
        PathInfo::of(
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()?,
        )
    }

    fn set(&self, connection: Option<Connection>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = connection;
    }
}

impl Follower {
    /// A follower that tries `sources` first (an invite's peers), then the members of the
    /// epoch the replay is in, so it finds the federation again after its membership changed.
    /// `tip` is told each new verified tip: the replica's own serving (`history`) follows it,
    /// and lists the segments fetched into its blob store as they are.
    pub fn new(
        replay: Replay,
        history: &HistorySource,
        dialer: Dialer,
        sources: Vec<Member>,
        tip: watch::Sender<Height>,
    ) -> Follower {
        let progress = Progress {
            tip: replay.tip().height,
            target: replay.tip().height,
            ..Progress::default()
        };
        Follower {
            replay,
            blobs: history.blobs.clone(),
            adopted: history.adopted.clone(),
            dialer,
            sources,
            connection: SourceConnection::default(),
            tip,
            progress: watch::channel(progress).0,
            settled_bytes: 0,
        }
    }

    /// What a progress bar or a status call shows.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// How the connection to the source in use travels, for status calls.
    pub fn source_connection(&self) -> SourceConnection {
        self.connection.clone()
    }

    /// Follows the sources in turn until this node's database fails.
    pub async fn run(mut self) -> Result<(), HistoryError> {
        loop {
            for member in self.candidates() {
                match self.follow(&member).await {
                    Ok(()) => tracing::info!(source = %member.name, "the source ended its stream"),
                    Err(FollowError::Local(error)) => return Err(error),
                    Err(error) => {
                        tracing::warn!(source = %member.name, %error, "dropped the source");
                    }
                }
                self.progress.send_modify(|p| {
                    p.source = None;
                    p.following = false;
                });
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// The given sources, then the current epoch's members that have an address, once each.
    fn candidates(&self) -> Vec<Member> {
        let mut all = self.sources.clone();
        for member in &self.replay.epoch().members {
            if !member.addrs.is_empty() && all.iter().all(|m| m.id != member.id) {
                all.push(member.clone());
            }
        }
        all
    }

    /// Catches up from one source's segments, then takes what it pushes. On an error, the
    /// blocks it sent that no certificate covers yet are forgotten.
    pub async fn follow(&mut self, member: &Member) -> Result<(), FollowError> {
        let source = Source::connect(&self.dialer, member).await?;
        self.connection.set(Some(source.connection().clone()));
        let result = self.follow_source(&source).await;
        self.connection.set(None);
        source.close();
        self.settled_bytes += source.bytes_in();
        if result.is_err() {
            self.replay.discard_uncertified();
        }
        result
    }

    async fn follow_source(&mut self, source: &Source) -> Result<(), FollowError> {
        let index = source.index().await?;
        let ours = self.replay.store().genesis().federation_id();
        if index.genesis.federation_id() != ours {
            return Err(SourceError::Invalid(format!(
                "it serves federation {}, not {}",
                index.genesis.federation_id().0,
                ours.0
            ))
            .into());
        }
        self.progress.send_modify(|p| {
            p.source = Some(source.name.clone());
            p.target = p.target.max(index.tip);
        });
        self.catch_up(source, &index).await?;
        tracing::info!(source = %source.name, height = %self.replay.tip().height, "following");
        let mut pushed = source.follow(self.replay.next_height()).await?;
        self.progress.send_modify(|p| p.following = true);
        while self.take_chain(&mut pushed).await? {
            self.show(source);
        }
        Ok(())
    }

    /// Every complete segment above the tip, each with the proof that finalizes it.
    async fn catch_up(&mut self, source: &Source, index: &Index) -> Result<(), FollowError> {
        for epoch in &index.epochs {
            if epoch.end.is_some_and(|end| end <= self.replay.tip().height) {
                continue;
            }
            if epoch.start != self.replay.epoch().start_height {
                // The replay has not reached this epoch: the segments of the one before did
                // not carry it there.
                return Err(SourceError::Invalid(format!(
                    "its index lists epoch {} from height {}, where this replica is in epoch {} \
                     from height {}",
                    epoch.number,
                    epoch.start,
                    self.replay.epoch().number,
                    self.replay.epoch().start_height
                ))
                .into());
            }
            self.catch_up_epoch(source, epoch).await?;
        }
        Ok(())
    }

    async fn catch_up_epoch(
        &mut self,
        source: &Source,
        epoch: &EpochSegments,
    ) -> Result<(), FollowError> {
        if epoch.lasts.is_empty() {
            return Ok(());
        }
        let list = source.segment_list(&self.blobs, epoch.segments).await?;
        if list.len() != epoch.lasts.len() {
            return Err(SourceError::Invalid(format!(
                "epoch {}'s segment list holds {} segments, its index says {}",
                epoch.number,
                list.len(),
                epoch.lasts.len()
            ))
            .into());
        }
        let mut first = epoch.start.next();
        for (index, (hash, &last)) in list.into_iter().zip(&epoch.lasts).enumerate() {
            if last < first || epoch.end.is_some_and(|end| last > end) {
                return Err(SourceError::Invalid(format!(
                    "its index says segment {index} of epoch {} ends at height {last}, \
                     before its start at {first} or after the epoch's end",
                    epoch.number
                ))
                .into());
            }
            let bounds = SegmentBounds { index, first, last };
            first = last.next();
            if last <= self.replay.tip().height {
                continue;
            }
            let bytes = source.segment(&self.blobs, hash).await?;
            let peers = self.replay.chain().peers().len();
            let segment = Segment::decode(&bytes, peers, &self.replay.epoch().params)
                .map_err(|e| SourceError::Invalid(format!("segment {index}: {e}")))?;
            let adopt = adoptable(&segment, &bytes);
            self.push_segment(bounds, segment)?;
            let mut proof = source.chain(last).await?;
            if !self.take_chain(&mut proof).await? {
                return Err(SourceError::Invalid(format!(
                    "it has no finalization for height {last}"
                ))
                .into());
            }
            let same_epoch = self.replay.epoch().start_height == epoch.start;
            // Final and applied, in the epoch it was listed in: what the segmenter would cut.
            if adopt && same_epoch {
                self.adopted.insert(bounds.first, last, hash);
            }
            self.show(source);
            if !same_epoch {
                break;
            }
        }
        Ok(())
    }

    /// Holds the segment's blocks above the tip, once it holds exactly the heights the index
    /// said, and no more blocks than a segment may.
    fn push_segment(&mut self, bounds: SegmentBounds, segment: Segment) -> Result<(), FollowError> {
        let SegmentBounds { index, first, last } = bounds;
        let count = segment.entries.len() as u64;
        let ends = segment.entries.last().map(|e| e.block.header.height);
        if segment.first_height() != Some(first) || ends != Some(last) || count > SEGMENT_BLOCKS {
            return Err(SourceError::Invalid(format!(
                "segment {index} holds {count} blocks from {:?} to {ends:?}, its index says \
                 from {first} to {last} (at most {SEGMENT_BLOCKS})",
                segment.first_height(),
            ))
            .into());
        }
        for entry in segment.entries {
            if entry.block.header.height > self.replay.tip().height {
                self.replay.push(entry.block, None)?;
            }
        }
        Ok(())
    }

    /// Publishes the tip, to the segmenter and the progress, and the bytes received so far.
    fn show(&self, source: &Source) {
        let tip = self.replay.tip().height;
        self.tip.send_replace(tip);
        let bytes_in = self.settled_bytes + source.bytes_in();
        self.progress.send_modify(|p| {
            p.tip = tip;
            p.target = p.target.max(tip);
            p.bytes_in = bytes_in;
        });
    }

    /// Takes a chain's parts up to its certificate and applies it; false if the stream ended
    /// first. Blocks it repeats of those held are left out; the rest wait in the replay,
    /// which holds a bounded number.
    async fn take_chain(&mut self, parts: &mut Parts) -> Result<bool, FollowError> {
        while let Some(part) = parts.next().await? {
            match part {
                ChainPart::Blocks(blocks) => {
                    for block in blocks {
                        if block.header.height >= self.replay.next_height() {
                            self.replay.push(block, None)?;
                        }
                    }
                }
                ChainPart::Finalized(chain) => {
                    self.accept(chain)?;
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Verifies and applies a chain; what it repeats of the blocks held is left out.
    fn accept(&mut self, mut chain: FinalizedChain) -> Result<(), FollowError> {
        let held = self.replay.next_height();
        chain.blocks.retain(|b| b.header.height >= held);
        let replay = &mut self.replay;
        tokio::task::block_in_place(|| replay.accept(chain))?;
        Ok(())
    }
}
