//! `bfte bench replicate`: how fast a replica catches up from one source on loopback, every
//! block verified and applied, beside a plain copy of the source's database file (the limit:
//! a copy checks nothing).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::modules::ctrl::Member;
use bfte_shared::peer::PeerSecret;
use bfte_shared::round::Height;
use tokio::sync::watch;

use super::synthetic::{Shape, write_history};
use crate::history::Replay;
use crate::net::{Net, NetConfig};
use crate::replica::{Follower, HistorySource, SegmentBlobs, start};
use crate::store::Store;

/// The longest a catch-up may take before the bench gives up.
const LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct ReplicateReport {
    pub shape: Shape,
    /// Writing the source's history (not measured against anything).
    pub generate: Duration,
    /// From the replica's start to its tip at the source's.
    pub catch_up: Duration,
    /// History bytes the replica received.
    pub bytes_in: u64,
    /// The source's database file, and the time a copy of it took.
    pub database_bytes: u64,
    pub copy: Duration,
}

impl ReplicateReport {
    pub fn blocks_per_second(&self) -> f64 {
        self.shape.blocks as f64 / self.catch_up.as_secs_f64()
    }

    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes_in as f64 / 1e6 / self.catch_up.as_secs_f64()
    }

    pub fn copy_megabytes_per_second(&self) -> f64 {
        self.database_bytes as f64 / 1e6 / self.copy.as_secs_f64()
    }
}

/// Writes `shape`'s history in `dir`, serves it, and times one replica catching up.
pub async fn run_replicate_bench(dir: &Path, shape: Shape) -> anyhow::Result<ReplicateReport> {
    let started = Instant::now();
    let source_path = dir.join("source.redb");
    let store = {
        let path = source_path.clone();
        tokio::task::spawn_blocking(move || write_history(&path, shape)).await??
    };
    let store = Arc::new(store);
    let generate = started.elapsed();
    let tip = store.finalized_height()?;

    let copied = Instant::now();
    let database_bytes = std::fs::copy(&source_path, dir.join("copy.redb"))
        .context("copying the source's database")?;
    let copy = copied.elapsed();

    let (source_tip, source_watched) = watch::channel(tip);
    let (source_net, source_blobs, source_history) =
        serve(store.clone(), dir, "source-blobs", 1, source_watched).await?;
    let member = Member {
        id: source_net.peer_id(),
        name: "source".into(),
        addrs: source_net
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let replica_store = Arc::new(Store::create(dir.join("replica.redb"), store.genesis())?);
    // As `bfte replicate` runs: the replica serves what it verified from the blob store it
    // fetches into, its segmenter following its tip.
    let (replica_tip, watched) = watch::channel(Height(0));
    let (replica_net, blobs, replica_history) =
        serve(replica_store.clone(), dir, "replica-blobs", 2, watched).await?;
    let replay = Replay::new(replica_store, Arc::new(Ed25519Verifier))?;
    let follower = Follower::new(
        replay,
        &replica_history,
        replica_net.dialer(),
        vec![member],
        replica_tip,
    );
    let mut progress = follower.progress();
    let caught = Instant::now();
    let mut running = tokio::spawn(follower.run());
    // The progress, not the tip: it carries the bytes of the chain that reached the tip.
    let caught_up = tokio::time::timeout(LIMIT, progress.wait_for(|p| p.tip >= tip))
        .await
        .context("the replica did not catch up in time")?
        .map(|p| p.bytes_in);
    let Ok(bytes_in) = caught_up else {
        // The follower ended early, which it does only when its own database fails (a full
        // disk, say): say why.
        return Err(match (&mut running).await {
            Ok(Err(error)) => anyhow::Error::new(error).context("the replica stopped"),
            Ok(Ok(())) => anyhow::anyhow!("the replica stopped without an error"),
            Err(error) => anyhow::Error::new(error).context("the replica's task failed"),
        });
    };
    let catch_up = caught.elapsed();
    running.abort();
    let _ = running.await;
    drop(source_tip);
    // Each segmenter ends with its tip's sender, before the routers, whose blob protocol
    // stops the blob stores.
    replica_history.stop().await;
    source_history.stop().await;
    replica_net.shutdown().await;
    source_net.shutdown().await;
    blobs.shutdown().await;
    source_blobs.shutdown().await;
    Ok(ReplicateReport {
        shape,
        generate,
        catch_up,
        bytes_in,
        database_bytes,
        copy,
    })
}

/// A node on loopback serving `store`'s history as `tip` moves.
async fn serve(
    store: Arc<Store>,
    dir: &Path,
    blobs_dir: &str,
    seed: u8,
    tip: watch::Receiver<Height>,
) -> anyhow::Result<(Net, SegmentBlobs, HistorySource)> {
    let blobs = SegmentBlobs::open(&dir.join(blobs_dir)).await?;
    let history = start(store, blobs.clone(), tip).await?;
    let secret = PeerSecret::from_seed([seed; 32]);
    let (net, _inbound, _joins) =
        Net::bind_serving(&secret, NetConfig::loopback(0), Some(&history)).await?;
    Ok((net, blobs, history))
}
