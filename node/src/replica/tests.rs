use std::sync::Arc;
use std::time::Duration;

use bfte_shared::admin::{PeerPath, ServedReplica};
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::modules::ctrl::Member;
use bfte_shared::peer::PeerSecret;
use bfte_shared::round::Height;
use tokio::sync::watch;

use super::*;
use crate::history::Replay;
use crate::history::fixture::membership_change;
use crate::ledger::Ledger;
use crate::net::{Net, NetConfig};
use crate::store::Store;

/// A node serving `store`'s history on loopback, and the member a replica dials it as.
async fn serve(
    store: Arc<Store>,
    tip: watch::Receiver<Height>,
    dir: &std::path::Path,
    seed: u8,
) -> (Net, HistorySource, Member) {
    let blobs = SegmentBlobs::open(&dir.join(format!("blobs-{seed}")))
        .await
        .expect("a blob store");
    let source = start(store, blobs, tip).await.expect("the history index");
    let secret = PeerSecret::from_seed([seed; 32]);
    let (net, _inbound, _joins) = Net::bind_serving(&secret, NetConfig::loopback(0), Some(&source))
        .await
        .expect("bind");
    let member = Member {
        id: net.peer_id(),
        name: format!("source-{seed}"),
        addrs: net.local_addrs().iter().map(ToString::to_string).collect(),
    };
    (net, source, member)
}

fn roots(store: &Store) -> Vec<(Height, bfte_shared::hash::Hash)> {
    let ledger = Ledger::new(store.genesis());
    ledger
        .recent_roots(store.database(), u64::MAX)
        .expect("roots")
}

async fn until(tip: &mut watch::Receiver<Height>, height: Height) {
    tokio::time::timeout(Duration::from_secs(60), tip.wait_for(|t| *t >= height))
        .await
        .expect("the replica reached the height in time")
        .expect("the replica runs");
}

/// Polls `check` until it finds something, for at most 10 s.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn listed(net: &Net, peer: bfte_shared::peer::PeerId) -> Option<ServedReplica> {
    net.served()
        .replicas()
        .into_iter()
        .find(|r| r.peer_id == peer)
}

/// A replica catches up across a membership change from segment blobs and their proofs,
/// follows blocks finalized after it started, and then serves a second replica; state roots
/// equal the source's at every height. Each source lists whom it serves, and what it sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_catches_up_across_an_epoch_follows_live_and_serves_another() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut history = membership_change(10_000, 7);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tip_tx, tip_rx) = watch::channel(history.store.finalized_height().expect("tip"));
    let (voter, served, member) = serve(history.store.clone(), tip_rx, dir.path(), 1).await;
    let index = served.index.borrow().clone();
    assert_eq!(index.epochs.len(), 2, "{index:?}");
    let ends: Vec<u64> = index.epochs[1].lasts.iter().map(|h| h.0).collect();
    assert_eq!(
        ends,
        (1..=10).map(|k| 3 + 1_000 * k).collect::<Vec<_>>(),
        "ten complete segments of 1,000 small blocks in epoch 1, from its start at height 3"
    );

    let replica_store = Arc::new(
        Store::create(dir.path().join("replica.redb"), history.store.genesis())
            .expect("a replica store"),
    );
    let (replica_tip, mut watched) = watch::channel(Height(0));
    let (replica_net, replica_source, replica_member) =
        serve(replica_store.clone(), watched.clone(), dir.path(), 2).await;
    let follower = Follower::new(
        Replay::new(replica_store.clone(), Arc::new(Ed25519Verifier)).expect("replay"),
        &replica_source,
        replica_net.dialer(),
        vec![member],
        replica_tip,
    );
    let mut progress = follower.progress();
    let running = tokio::spawn(follower.run());
    let tip = history.store.finalized_height().expect("tip");
    until(&mut watched, tip).await;
    assert_eq!(roots(&replica_store), roots(&history.store));
    let shown = tokio::time::timeout(Duration::from_secs(10), progress.wait_for(|p| p.tip >= tip))
        .await
        .expect("the progress shows the tip")
        .expect("the follower runs")
        .clone();
    assert_eq!((shown.tip, shown.target), (tip, tip), "{shown:?}");
    // It serves the source's segments, byte for byte: the lists hash the same.
    let lists = |index: &Index| -> Vec<_> {
        (index.epochs.iter())
            .map(|e| (e.segments, e.lasts.clone()))
            .collect()
    };
    eventually("the replica lists the source's segments", || {
        (lists(&replica_source.index.borrow()) == lists(&index)).then_some(())
    })
    .await;
    assert_eq!(shown.source.as_deref(), Some("source-1"));
    assert!(shown.bytes_in > 10_000 * 100, "{shown:?}");

    // Live: what the source finalizes now is pushed to the replica.
    history.finalize(vec![Vec::new(); 5]);
    let tip = history.store.finalized_height().expect("tip");
    tip_tx.send_replace(tip);
    until(&mut watched, tip).await;
    assert_eq!(roots(&replica_store), roots(&history.store));

    // The voter lists the replica: following, on a direct path, sent at least what it received
    // (framing and blob encoding come on top).
    let served = eventually("the voter lists the replica, following", || {
        listed(&voter, replica_net.peer_id())
            .filter(|r| r.following && r.height >= tip && r.bytes_out >= shown.bytes_in)
    })
    .await;
    assert_eq!(served.path, Some(PeerPath::Direct), "{served:?}");
    assert!(
        served
            .remote
            .as_deref()
            .is_some_and(|r| r.starts_with("ip:127.0.0.1:")),
        "{served:?}"
    );
    assert!(voter.served().bytes_out() >= served.bytes_out);

    // A replica of the replica, which the voter does not serve.
    let second_store = Arc::new(
        Store::create(dir.path().join("second.redb"), history.store.genesis())
            .expect("a second store"),
    );
    let (second_tip, mut second_watched) = watch::channel(Height(0));
    let (second_net, second_source, _) =
        serve(second_store.clone(), second_watched.clone(), dir.path(), 3).await;
    let second = Follower::new(
        Replay::new(second_store.clone(), Arc::new(Ed25519Verifier)).expect("replay"),
        &second_source,
        second_net.dialer(),
        vec![replica_member],
        second_tip,
    );
    let second_running = tokio::spawn(second.run());
    until(&mut second_watched, tip).await;
    assert_eq!(roots(&second_store), roots(&history.store));
    let second_id = second_net.peer_id();
    eventually("the replica lists the replica it serves", || {
        listed(&replica_net, second_id).filter(|r| r.following)
    })
    .await;
    assert!(
        listed(&voter, second_id).is_none(),
        "the voter does not serve it"
    );

    // Gone: its connections closed, so it leaves the list; the total stays.
    second_running.abort();
    second_net.shutdown().await;
    let total = replica_net.served().bytes_out();
    eventually("the closed replica leaves the list", || {
        listed(&replica_net, second_id).is_none().then_some(())
    })
    .await;
    assert!(replica_net.served().bytes_out() >= total && total > 0);

    running.abort();
    replica_net.shutdown().await;
    voter.shutdown().await;
}
