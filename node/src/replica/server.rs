//! Serving [`HISTORY_ALPN`] to anyone: history is public to whoever holds the federation's
//! invite, and nothing served can make a replica accept what it did not verify. Every
//! connection is on the [`Served`] list while it is open, with what it asked and was sent.

use std::sync::Arc;
use std::time::Duration;

use bfte_shared::codec;
use bfte_shared::message::{FinalizedChain, MAX_MESSAGE_BYTES};
use bfte_shared::round::Height;
use iroh::endpoint::{Connection, RecvStream, SendStream, VarInt};
use iroh::protocol::{AcceptError, ProtocolHandler};

use super::protocol::{MAX_REQUEST_BYTES, Request, chain_parts};
use super::segmenter::HistorySource;
use super::served::Served;
use crate::history::Snapshot;
use crate::net::frame::{read_frame_within, write_frame};
use crate::net::peer_id;
use crate::store::Store;

/// How long an asker may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most streams one connection may have open at once.
const MAX_STREAMS: usize = 32;
const CLOSE_BAD_REQUEST: VarInt = VarInt::from_u32(1);

#[derive(Debug, Clone)]
pub struct HistoryServer {
    source: HistorySource,
    served: Served,
}

impl HistoryServer {
    pub fn new(source: HistorySource, served: Served) -> HistoryServer {
        HistoryServer { source, served }
    }
}

impl ProtocolHandler for HistoryServer {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let from = peer_id(&connection.remote_id());
        let opened = self.served.open(&connection);
        let streams = Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS));
        while let Ok((send, recv)) = connection.accept_bi().await {
            let Ok(permit) = streams.clone().try_acquire_owned() else {
                tracing::warn!(asker = %from.short(), "closing a history connection: too many streams");
                connection.close(CLOSE_BAD_REQUEST, b"too many streams");
                break;
            };
            let source = self.source.clone();
            let asker = Asker {
                served: self.served.clone(),
                connection: opened.id(),
            };
            let connection = connection.clone();
            tokio::spawn(async move {
                if let Err(error) = serve(&source, &asker, send, recv).await {
                    tracing::debug!(asker = %from.short(), %error, "history request ended");
                    if error.is_violation() {
                        connection.close(CLOSE_BAD_REQUEST, b"bad history request");
                    }
                }
                drop(permit);
            });
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ServeError {
    #[error("no request within {REQUEST_TIMEOUT:?}")]
    Timeout,
    #[error("the stream ended before a request")]
    NoRequest,
    #[error("bad request frame: {0}")]
    Frame(#[from] crate::net::frame::FrameError),
    #[error("undecodable request: {0}")]
    Decode(#[from] bfte_shared::codec::DecodeError),
    #[error("cannot answer: {0}")]
    Write(#[from] iroh::endpoint::WriteError),
    #[error("reading the store: {0}")]
    Read(String),
}

/// Whom a stream answers, for the [`Served`] list.
struct Asker {
    served: Served,
    connection: u64,
}

impl Asker {
    /// Writes one answer frame and counts it, its length prefix included.
    async fn answer(&self, send: &mut SendStream, bytes: &[u8]) -> Result<(), ServeError> {
        write_frame(send, bytes).await?;
        self.served.sent(self.connection, bytes.len() as u64 + 4);
        Ok(())
    }

    /// Writes `chain` as its parts, a frame each.
    async fn answer_chain(
        &self,
        send: &mut SendStream,
        chain: FinalizedChain,
    ) -> Result<(), ServeError> {
        for part in chain_parts(chain) {
            self.answer(send, &codec::encode(&part)).await?;
        }
        Ok(())
    }
}

impl ServeError {
    fn is_violation(&self) -> bool {
        matches!(
            self,
            ServeError::Timeout | ServeError::Frame(_) | ServeError::Decode(_)
        )
    }
}

async fn serve(
    source: &HistorySource,
    asker: &Asker,
    mut send: SendStream,
    mut recv: RecvStream,
) -> Result<(), ServeError> {
    let frame = tokio::time::timeout(
        REQUEST_TIMEOUT,
        read_frame_within(&mut recv, MAX_REQUEST_BYTES),
    )
    .await
    .map_err(|_| ServeError::Timeout)??
    .ok_or(ServeError::NoRequest)?;
    let request: Request = codec::decode(&frame, MAX_REQUEST_BYTES)?;
    match request {
        Request::Index => {
            let index = source.index.borrow().clone();
            asker
                .answer(&mut send, &codec::encode(index.as_ref()))
                .await?;
        }
        Request::Chain { from } => {
            asker.served.reached(asker.connection, from);
            let chain = read(source, move |store| next_chain(store, from, 0)).await?;
            if let Some((chain, _)) = chain {
                asker.answer_chain(&mut send, chain).await?;
            }
        }
        Request::Follow { from } => {
            let _following = asker.served.following(asker.connection);
            asker.served.reached(asker.connection, from);
            follow(source, asker, &mut send, from).await?;
        }
    }
    // Finishing fails only if the asker already went: nothing left to tell it.
    let _ = send.finish();
    Ok(())
}

/// Pushes every finalized chain from `from` on as the node finalizes it, until the asker
/// stops reading.
async fn follow(
    source: &HistorySource,
    asker: &Asker,
    send: &mut SendStream,
    mut from: Height,
) -> Result<(), ServeError> {
    let mut tip = source.tip.clone();
    loop {
        // Marks the tip seen before reading, so a block finalized meanwhile wakes us again.
        tip.borrow_and_update();
        let limit = chain_limit(source);
        match read(source, move |store| next_chain(store, from, limit)).await? {
            Some((chain, next)) => {
                let last = chain.blocks.last().map_or(from, |b| b.header.height);
                asker.answer_chain(send, chain).await?;
                asker.served.reached(asker.connection, last);
                from = next;
            }
            None => {
                tokio::select! {
                    changed = tip.changed() => if changed.is_err() { return Ok(()) },
                    _ = send.stopped() => return Ok(()),
                }
            }
        }
    }
}

/// Blocks per pushed chain, so that a chain of full blocks stays well under a frame.
fn chain_limit(source: &HistorySource) -> usize {
    let max_block = source.store.genesis().params.max_block_bytes as usize;
    ((MAX_MESSAGE_BYTES / 4) / max_block.saturating_add(1024)).clamp(1, 256)
}

/// The chain that answers `from` and the height the next one starts at: past an epoch's end,
/// the next epoch's first block (the chain's own blocks above that end are the ended epoch's
/// proof, not part of the chain).
pub(super) fn next_chain(
    store: &Store,
    from: Height,
    limit: usize,
) -> Result<Option<(FinalizedChain, Height)>, ServeError> {
    let failed = |error: &dyn std::fmt::Display| ServeError::Read(error.to_string());
    let Some(chain) = store.finalized_chain(from, limit).map_err(|e| failed(&e))? else {
        return Ok(None);
    };
    // Read after the chain, so this sees every epoch end the chain saw.
    let snapshot = Snapshot::of(store).map_err(|e| failed(&e))?;
    let last = chain.blocks.last().map_or(from, |b| b.header.height);
    let ended = snapshot
        .epochs()
        .iter()
        .filter_map(|span| span.end)
        .find(|end| (from..=last).contains(end));
    let next = ended.unwrap_or(last).next();
    Ok(Some((chain, next)))
}

async fn read<T: Send + 'static>(
    source: &HistorySource,
    job: impl FnOnce(&Store) -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ServeError> {
    let store = source.store.clone();
    tokio::task::spawn_blocking(move || job(&store))
        .await
        .map_err(|e| ServeError::Read(e.to_string()))?
}
