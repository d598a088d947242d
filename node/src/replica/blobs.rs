//! The blob layer, kept small so it can be swapped: segment bytes in an iroh-blobs store, each
//! epoch's segments listed in a hash sequence under a named tag, fetched from a connection by
//! hash. iroh-blobs checks that bytes match their hash while they stream; whether they are
//! valid history is the replica's to check, never this layer's. What the store serves is
//! counted on the [`Served`] list from iroh-blobs' provider events.

use std::path::Path;

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh_blobs::api::Store as BlobApi;
use iroh_blobs::hashseq::HashSeq;
use iroh_blobs::provider::events::{
    EventMask, EventSender, ProviderMessage, RequestMode, RequestUpdate,
};
use iroh_blobs::store::fs::FsStore;
use iroh_blobs::{BlobFormat, BlobsProtocol, HashAndFormat};
use tokio::sync::mpsc;

use super::served::Served;

/// Provider events waiting for the counting task; when it lags, serving waits for it.
const EVENT_QUEUE: usize = 256;

/// A failure of the blob store or of a transfer, as text: iroh-blobs' error types change
/// between its releases, this layer's callers only report them.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {reason}")]
pub struct BlobError {
    pub action: &'static str,
    pub reason: String,
}

fn failed<E: std::fmt::Display>(action: &'static str) -> impl FnOnce(E) -> BlobError {
    move |error| BlobError {
        action,
        reason: error.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct SegmentBlobs {
    store: FsStore,
}

impl SegmentBlobs {
    /// Opens (or creates) the store in `dir`. Everything in it can be rebuilt from the node's
    /// database, so losing it costs time, never history.
    pub async fn open(dir: &Path) -> Result<SegmentBlobs, BlobError> {
        let store = FsStore::load(dir)
            .await
            .map_err(failed("opening the blob store"))?;
        Ok(SegmentBlobs { store })
    }

    fn api(&self) -> &BlobApi {
        &self.store
    }

    /// The iroh protocol handler that serves the store on `iroh_blobs::ALPN`, counting each
    /// connection and the bytes sent on it in `served`.
    pub fn protocol(&self, served: Served) -> ServedBlobs {
        // Only the end of each request: it carries the bytes it sent. Pushes stay refused.
        let mask = EventMask {
            get: RequestMode::NotifyLog,
            get_many: RequestMode::NotifyLog,
            ..EventMask::DEFAULT
        };
        let (events, messages) = EventSender::channel(EVENT_QUEUE, mask);
        tokio::spawn(count_transfers(messages, served.clone()));
        ServedBlobs {
            blobs: BlobsProtocol::new(&self.store, Some(events)),
            served,
        }
    }

    /// Adds one segment's bytes, kept by a tag of its own; returns their hash.
    pub async fn add_segment(&self, bytes: Vec<u8>) -> Result<Hash, BlobError> {
        let tag = self
            .api()
            .add_bytes(bytes)
            .await
            .map_err(failed("adding a segment to the blob store"))?;
        Ok(Hash(*tag.hash.as_bytes()))
    }

    /// Lists an epoch's segments (hash, last height) in a hash sequence under the epoch's tag
    /// and their last heights beside it (replacing the last list); returns the sequence's hash.
    pub async fn set_epoch(
        &self,
        start: Height,
        segments: &[(Hash, Height)],
    ) -> Result<Hash, BlobError> {
        let sequence: HashSeq = segments
            .iter()
            .map(|(hash, _)| iroh_blobs::Hash::from_bytes(hash.0))
            .collect();
        let lasts: Vec<u64> = segments.iter().map(|(_, last)| last.0).collect();
        self.api()
            .add_bytes_with_opts((codec::encode(&lasts), BlobFormat::Raw))
            .with_named_tag(lasts_tag(start))
            .await
            .map_err(failed("adding an epoch's segment ends"))?;
        let added = self
            .api()
            .add_bytes_with_opts((sequence.into_inner(), BlobFormat::HashSeq))
            .with_named_tag(epoch_tag(start))
            .await
            .map_err(failed("adding an epoch's segment list"))?;
        Ok(Hash(*added.hash.as_bytes()))
    }

    /// The segments (hash, last height) listed under an epoch's tags, if it has both and
    /// they agree; otherwise the segmenter builds the list again.
    pub async fn epoch(&self, start: Height) -> Result<Option<Vec<(Hash, Height)>>, BlobError> {
        let (Some(list), Some(lasts)) = (
            self.tagged(epoch_tag(start)).await?,
            self.tagged(lasts_tag(start)).await?,
        ) else {
            return Ok(None);
        };
        let Ok(lasts) = codec::decode::<Vec<u64>>(&lasts, lasts.len()) else {
            return Ok(None);
        };
        let list = hashes(list)?;
        if list.len() != lasts.len() {
            return Ok(None);
        }
        Ok(Some(
            list.into_iter()
                .zip(lasts.into_iter().map(Height))
                .collect(),
        ))
    }

    /// The bytes of the blob a tag names, if the tag exists.
    async fn tagged(&self, tag: String) -> Result<Option<Vec<u8>>, BlobError> {
        let tag = self
            .api()
            .tags()
            .get(tag)
            .await
            .map_err(failed("reading a tag"))?;
        match tag {
            Some(tag) => Ok(Some(self.get(tag.hash_and_format().hash).await?)),
            None => Ok(None),
        }
    }

    /// Fetches a hash sequence over `connection` and returns its hashes; `None` if the source
    /// lists more than `max` of them.
    pub async fn fetch_list(
        &self,
        connection: &Connection,
        list: Hash,
        max: u64,
    ) -> Result<Vec<Hash>, BlobError> {
        let bytes = self.fetch(connection, list).await?;
        if bytes.len() as u64 > max.saturating_mul(32) {
            return Err(BlobError {
                action: "fetching a segment list",
                reason: format!("{} bytes, more than {max} segments", bytes.len()),
            });
        }
        hashes(bytes)
    }

    /// Fetches one blob over `connection` (what is held already is not fetched again) and
    /// returns its bytes, which match `hash`.
    pub async fn fetch(&self, connection: &Connection, hash: Hash) -> Result<Vec<u8>, BlobError> {
        let hash = iroh_blobs::Hash::from_bytes(hash.0);
        self.api()
            .remote()
            .fetch(connection.clone(), HashAndFormat::raw(hash))
            .await
            .map_err(failed("fetching a blob"))?;
        self.get(hash).await
    }

    async fn get(&self, hash: iroh_blobs::Hash) -> Result<Vec<u8>, BlobError> {
        let bytes = self
            .api()
            .get_bytes(hash)
            .await
            .map_err(failed("reading a blob"))?;
        Ok(bytes.to_vec())
    }

    /// Flushes and stops the store.
    pub async fn shutdown(&self) {
        if let Err(error) = self.api().shutdown().await {
            tracing::warn!(%error, "the blob store shut down uncleanly");
        }
    }
}

/// iroh-blobs' handler, with each connection on the [`Served`] list while it is open.
#[derive(Debug, Clone)]
pub struct ServedBlobs {
    blobs: BlobsProtocol,
    served: Served,
}

impl ProtocolHandler for ServedBlobs {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let _opened = self.served.open(&connection);
        self.blobs.accept(connection).await
    }

    async fn shutdown(&self) {
        self.blobs.shutdown().await;
    }
}

/// Adds what each blob request sent to its connection's count: every request gets a stream of
/// updates that ends with its totals (progress updates in between are skipped).
async fn count_transfers(mut messages: mpsc::Receiver<ProviderMessage>, served: Served) {
    while let Some(message) = messages.recv().await {
        let (connection, mut updates) = match message {
            ProviderMessage::GetRequestReceivedNotify(request) => {
                (request.inner.connection_id, request.rx)
            }
            ProviderMessage::GetManyRequestReceivedNotify(request) => {
                (request.inner.connection_id, request.rx)
            }
            _ => continue,
        };
        let served = served.clone();
        tokio::spawn(async move {
            while let Ok(Some(update)) = updates.recv().await {
                let stats = match update {
                    RequestUpdate::Completed(done) => done.stats,
                    RequestUpdate::Aborted(aborted) => aborted.stats,
                    RequestUpdate::Started(_) | RequestUpdate::Progress(_) => continue,
                };
                let bytes = stats.payload_bytes_sent + stats.other_bytes_sent;
                served.sent(connection, bytes);
            }
        });
    }
}

fn epoch_tag(start: Height) -> String {
    format!("bfte/epoch/{}", start.0)
}

fn lasts_tag(start: Height) -> String {
    format!("bfte/epoch/{}/lasts", start.0)
}

fn hashes(bytes: Vec<u8>) -> Result<Vec<Hash>, BlobError> {
    let sequence = HashSeq::new(bytes.into()).ok_or(BlobError {
        action: "reading a segment list",
        reason: "its length is not a multiple of 32".into(),
    })?;
    Ok(sequence.iter().map(|hash| Hash(*hash.as_bytes())).collect())
}
