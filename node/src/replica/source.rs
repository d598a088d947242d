//! One source a replica fetches from: a voter or another replica, reached by its key and
//! addresses. Every answer is bounded in size and time; none is trusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bfte_shared::codec::{self, DecodeError};
use bfte_shared::message::MAX_MESSAGE_BYTES;
use bfte_shared::modules::ctrl::Member;
use bfte_shared::round::Height;
use iroh::endpoint::{Connection, RecvStream, VarInt};
use serde::de::DeserializeOwned;

use super::blobs::{BlobError, SegmentBlobs};
use super::protocol::{ChainPart, HISTORY_ALPN, Index, MAX_EPOCH_SEGMENTS, Request};
use crate::net::Dialer;
use crate::net::frame::{FrameError, read_frame_within, write_frame};

/// How long connecting, or one answer, may take.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a followed source may stay silent; it sends nothing while nothing is finalized,
/// so this only ends a stream that is gone without closing.
const FOLLOW_SILENCE: Duration = Duration::from_secs(120);

/// Why a source was dropped: what it sent, or that it could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("peer id is not an ed25519 key")]
    BadPeerId,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the stream failed: {0}")]
    Stream(String),
    #[error("a bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("an undecodable answer: {0}")]
    Decode(#[from] DecodeError),
    #[error("{0}")]
    Blob(#[from] BlobError),
    #[error("{0}")]
    Invalid(String),
}

/// The open connections to one source: its history protocol, and its blob store (iroh-blobs
/// speaks its own ALPN).
#[derive(Debug)]
pub struct Source {
    pub name: String,
    connection: Connection,
    blobs: Connection,
    /// Bytes of answers, segments and pushed chains received.
    received: Arc<AtomicU64>,
}

impl Source {
    /// Connects to `member` at its addresses that parse as `ip:port` (and through relays and
    /// address lookup when the endpoint has them).
    pub async fn connect(dialer: &Dialer, member: &Member) -> Result<Source, SourceError> {
        let name = if member.name.is_empty() {
            member.id.short()
        } else {
            member.name.clone()
        };
        let target = dialer
            .member_target(member)
            .map_err(|_| SourceError::BadPeerId)?;
        let endpoint = dialer.endpoint();
        let connect = |alpn: &'static [u8]| {
            let target = target.clone();
            async move {
                tokio::time::timeout(ANSWER_TIMEOUT, endpoint.connect(target, alpn))
                    .await
                    .map_err(|_| SourceError::Timeout(ANSWER_TIMEOUT))?
                    .map_err(|e| SourceError::Connect(e.to_string()))
            }
        };
        let connection = connect(HISTORY_ALPN).await?;
        let blobs = connect(iroh_blobs::ALPN).await?;
        Ok(Source {
            name,
            connection,
            blobs,
            received: Arc::default(),
        })
    }

    /// The connection of the history protocol, which carries what the source pushes.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Bytes of history received from this source.
    pub fn bytes_in(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub async fn index(&self) -> Result<Index, SourceError> {
        self.ask(&Request::Index).await
    }

    /// The blocks from `from` up to the first one at or after it that a certificate
    /// finalizes, or its epoch's end proof, as parts; none if the source has no such chain.
    pub async fn chain(&self, from: Height) -> Result<Parts, SourceError> {
        let (_send, recv) = self.timed(self.open(&Request::Chain { from })).await??;
        Ok(Parts {
            recv,
            received: self.received.clone(),
            silence: ANSWER_TIMEOUT,
        })
    }

    /// The hashes of an epoch's segment list.
    pub async fn segment_list(
        &self,
        blobs: &SegmentBlobs,
        list: bfte_shared::hash::Hash,
    ) -> Result<Vec<bfte_shared::hash::Hash>, SourceError> {
        let list = self
            .timed(blobs.fetch_list(&self.blobs, list, MAX_EPOCH_SEGMENTS))
            .await??;
        self.count(list.len() * 32);
        Ok(list)
    }

    /// One segment's bytes, which match `hash`.
    pub async fn segment(
        &self,
        blobs: &SegmentBlobs,
        hash: bfte_shared::hash::Hash,
    ) -> Result<Vec<u8>, SourceError> {
        let bytes = self.timed(blobs.fetch(&self.blobs, hash)).await??;
        self.count(bytes.len());
        Ok(bytes)
    }

    /// Asks to be sent every finalized chain from `from` on, as parts.
    pub async fn follow(&self, from: Height) -> Result<Parts, SourceError> {
        let (_send, recv) = self.timed(self.open(&Request::Follow { from })).await??;
        Ok(Parts {
            recv,
            received: self.received.clone(),
            silence: FOLLOW_SILENCE,
        })
    }

    pub fn close(&self) {
        self.connection.close(VarInt::from_u32(0), b"done");
        self.blobs.close(VarInt::from_u32(0), b"done");
    }

    async fn ask<T: DeserializeOwned>(&self, request: &Request) -> Result<T, SourceError> {
        self.timed(async {
            let (_send, mut recv) = self.open(request).await?;
            let frame = read_frame_within(&mut recv, MAX_MESSAGE_BYTES)
                .await?
                .ok_or_else(|| SourceError::Stream("the answer stream ended empty".into()))?;
            self.count(frame.len());
            Ok(codec::decode(&frame, MAX_MESSAGE_BYTES)?)
        })
        .await?
    }

    async fn open(
        &self,
        request: &Request,
    ) -> Result<(iroh::endpoint::SendStream, RecvStream), SourceError> {
        let stream = |e: &dyn std::fmt::Display| SourceError::Stream(e.to_string());
        let (mut send, recv) = self.connection.open_bi().await.map_err(|e| stream(&e))?;
        write_frame(&mut send, &codec::encode(request))
            .await
            .map_err(|e| stream(&e))?;
        send.finish().map_err(|e| stream(&e))?;
        Ok((send, recv))
    }

    fn count(&self, bytes: usize) {
        self.received.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    async fn timed<T>(&self, work: impl Future<Output = T>) -> Result<T, SourceError> {
        tokio::time::timeout(ANSWER_TIMEOUT, work)
            .await
            .map_err(|_| SourceError::Timeout(ANSWER_TIMEOUT))
    }
}

/// The parts of the chains a source answers with or pushes.
#[derive(Debug)]
pub struct Parts {
    recv: RecvStream,
    received: Arc<AtomicU64>,
    /// How long the source may stay silent before the next part.
    silence: Duration,
}

impl Parts {
    /// The next part; `None` when the source ended the stream.
    pub async fn next(&mut self) -> Result<Option<ChainPart>, SourceError> {
        let frame = tokio::time::timeout(
            self.silence,
            read_frame_within(&mut self.recv, MAX_MESSAGE_BYTES),
        )
        .await
        .map_err(|_| SourceError::Timeout(self.silence))??;
        match frame {
            Some(frame) => {
                self.received
                    .fetch_add(frame.len() as u64, Ordering::Relaxed);
                Ok(Some(codec::decode(&frame, MAX_MESSAGE_BYTES)?))
            }
            None => Ok(None),
        }
    }
}
