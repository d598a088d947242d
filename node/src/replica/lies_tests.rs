//! Sources that lie, each in one way: the follower drops the source saying why, writes nothing
//! it did not verify, and finishes from an honest source.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::{EpochConfig, Member};
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::Height;
use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use tokio::sync::watch;

use super::protocol::{HISTORY_ALPN, Index, MAX_REQUEST_BYTES, Request, chain_parts};
use super::segmenter::strip_certificates;
use super::server::next_chain;
use super::*;
use crate::history::fixture::{History, membership_change};
use crate::history::{Replay, Snapshot};
use crate::net::frame::{read_frame_within, write_frame};
use crate::net::{Net, NetConfig, bind_endpoint};
use crate::store::Store;

/// One way a source lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lie {
    /// A block in a segment carries another payload than its header commits to.
    TamperedBlock,
    /// A block in a segment names another parent.
    BrokenHashLink,
    /// A certificate with one signature's bytes changed.
    ForgedCertificate,
    /// A certificate with fewer signatures than a quorum.
    ShortCertificate,
    /// A certificate of the second epoch signed by a quorum of the first, with the peer that
    /// the finalized change removed.
    RemovedPeerSigns,
    /// A segment list that names the first segment twice: the second is not where it claims.
    WrongSegment,
    /// An answer longer than any answer may be, sent for as long as the asker reads.
    EndlessAnswer,
}

/// A history source that answers like an honest one except for its lie.
#[derive(Debug, Clone)]
struct Liar {
    store: Arc<Store>,
    index: Arc<Index>,
    lie: Lie,
    /// Chain answers replaced outright, by the height asked for.
    forged: Arc<HashMap<Height, FinalizedChain>>,
}

impl ProtocolHandler for Liar {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        while let Ok((send, recv)) = connection.accept_bi().await {
            let liar = self.clone();
            tokio::spawn(async move { liar.answer(send, recv).await });
        }
        Ok(())
    }
}

impl Liar {
    async fn answer(&self, mut send: SendStream, mut recv: RecvStream) -> Option<()> {
        let frame = read_frame_within(&mut recv, MAX_REQUEST_BYTES)
            .await
            .ok()??;
        match codec::decode::<Request>(&frame, MAX_REQUEST_BYTES).ok()? {
            Request::Index => write_frame(&mut send, &codec::encode(self.index.as_ref()))
                .await
                .ok()?,
            Request::Chain { from } => {
                if self.lie == Lie::EndlessAnswer {
                    send.write_all(&u32::MAX.to_be_bytes()).await.ok()?;
                    loop {
                        send.write_all(&[0; 4096]).await.ok()?;
                    }
                }
                let chain = match self.forged.get(&from) {
                    Some(chain) => Some(chain.clone()),
                    None => next_chain(&self.store, from, 0)
                        .ok()?
                        .map(|(chain, _)| chain),
                };
                for part in chain
                    .map(|c| chain_parts(self.lie_about(c)))
                    .unwrap_or_default()
                {
                    write_frame(&mut send, &codec::encode(&part)).await.ok()?;
                }
            }
            // Pushes nothing: every lie is told while the replica catches up.
            Request::Follow { .. } => {
                let _ = send.stopped().await;
            }
        }
        send.finish().ok()
    }

    fn lie_about(&self, mut chain: FinalizedChain) -> FinalizedChain {
        let certificate = &mut chain.finalization;
        match self.lie {
            Lie::ForgedCertificate => certificate.signatures[0].0[0] ^= 1,
            Lie::ShortCertificate => {
                let peers = self.store.genesis().peers.len();
                let first = certificate.signer_indices(peers).expect("signers")[0];
                let kept = (first, certificate.signatures[0]);
                *certificate = Certificate::from_signatures(
                    certificate.round,
                    certificate.kind,
                    peers,
                    [kept],
                );
            }
            _ => {}
        }
        chain
    }
}

/// The honest segment `index` of `span`'s epoch, as every source cuts it.
fn honest_segment(store: &Store, epoch: usize, index: usize) -> crate::history::Segment {
    let snapshot = Snapshot::of(store).expect("snapshot");
    let span = snapshot.epochs()[epoch].clone();
    let last = span.end.unwrap_or(snapshot.tip());
    let mut first = span.start.next();
    for _ in 0..index {
        let (segment, _) = snapshot.segment_from(&span, first, last).expect("segment");
        first = segment
            .entries
            .last()
            .expect("a block")
            .block
            .header
            .height
            .next();
    }
    let (mut segment, _) = snapshot.segment_from(&span, first, last).expect("segment");
    strip_certificates(&mut segment);
    segment
}

/// Starts a lying source on loopback; the router serves it until dropped.
async fn liar(history: &History, lie: Lie, dir: &std::path::Path) -> (Router, Member) {
    let store = history.store.clone();
    let blobs = SegmentBlobs::open(&dir.join(format!("liar-{lie:?}")))
        .await
        .expect("blobs");
    let (_tip, watched) = watch::channel(store.finalized_height().expect("tip"));
    let honest = start(store.clone(), blobs.clone(), watched)
        .await
        .expect("index");
    let mut index = (*honest.index.borrow()).as_ref().clone();
    let epoch = &mut index.epochs[1];
    let segments = match lie {
        Lie::TamperedBlock | Lie::BrokenHashLink => {
            let mut segment = honest_segment(&store, 1, 0);
            let block = &mut segment.entries[0].block;
            if lie == Lie::TamperedBlock {
                block.payload.items.clear();
            } else {
                block.header.parent = bfte_shared::hash::Hash::of(b"bfte/test\0", &"another");
            }
            let tampered = blobs.add_segment(segment.encode()).await.expect("add");
            let second = blobs
                .add_segment(honest_segment(&store, 1, 1).encode())
                .await
                .expect("add");
            Some(vec![(tampered, Height(1_003)), (second, Height(2_003))])
        }
        Lie::WrongSegment => {
            let first = blobs
                .add_segment(honest_segment(&store, 1, 0).encode())
                .await
                .expect("add");
            Some(vec![(first, Height(1_003)), (first, Height(2_003))])
        }
        _ => None,
    };
    if let Some(segments) = segments {
        epoch.segments = blobs.set_epoch(epoch.start, &segments).await.expect("list");
    }
    let mut forged = HashMap::new();
    if lie == Lie::RemovedPeerSigns {
        // The chains proving epoch 1's segments, certified by epoch 0's founders instead.
        let epochs = history.ledger.epochs(store.database()).expect("epochs");
        let first: &EpochConfig = &epochs[0];
        let peers = first.peer_set().expect("peers");
        let mut signers: Vec<PeerId> = peers.iter().copied().collect();
        signers.reverse();
        signers.truncate(peers.quorum());
        assert!(
            signers.contains(&history.id(3)),
            "the removed founder signs"
        );
        for last in [1_003, 2_003] {
            let (mut chain, _) = next_chain(&store, Height(last), 0)
                .expect("read")
                .expect("a chain");
            let block = chain.blocks.last().expect("a block");
            chain.finalization = history.sign(first, &peers, block, &signers);
            forged.insert(Height(last), chain);
        }
    }
    let handler = Liar {
        store,
        index: Arc::new(index),
        lie,
        forged: Arc::new(forged),
    };
    let secret = PeerSecret::from_seed([200; 32]);
    let endpoint = bind_endpoint(&secret, &NetConfig::loopback(0))
        .await
        .expect("bind");
    let member = Member {
        id: secret.peer_id(),
        name: format!("liar-{lie:?}"),
        addrs: endpoint
            .bound_sockets()
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let router = Router::builder(endpoint)
        .accept(HISTORY_ALPN, handler)
        .accept(iroh_blobs::ALPN, blobs.protocol(Served::default()))
        .spawn();
    (router, member)
}

/// A replica of `history`'s genesis on loopback, following `sources`.
async fn replica(
    history: &History,
    dir: &std::path::Path,
    name: &str,
    sources: Vec<Member>,
) -> (Net, Arc<Store>, Follower, watch::Receiver<Height>) {
    let store = Arc::new(
        Store::create(dir.join(format!("{name}.redb")), history.store.genesis())
            .expect("a replica store"),
    );
    let blobs = SegmentBlobs::open(&dir.join(format!("{name}-blobs")))
        .await
        .expect("blobs");
    let (tip, watched) = watch::channel(Height(0));
    let served = start(store.clone(), blobs.clone(), watched.clone())
        .await
        .expect("index");
    let secret = PeerSecret::from_seed([201; 32]);
    let (net, _inbound, _joins) = Net::bind_serving(&secret, NetConfig::loopback(0), Some(&served))
        .await
        .expect("bind");
    let replay = Replay::new(store.clone(), Arc::new(Ed25519Verifier)).expect("replay");
    let follower = Follower::new(replay, &served, net.dialer(), sources, tip);
    (net, store, follower, watched)
}

fn roots(store: &Store) -> Vec<(Height, bfte_shared::hash::Hash)> {
    crate::ledger::Ledger::new(store.genesis())
        .recent_roots(store.database(), u64::MAX)
        .expect("roots")
}

/// Each lie is caught with a reason that says what was wrong; what the replica wrote before is
/// a prefix of the honest history; an honest source then brings it to the tip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lie_is_caught_and_the_replica_finishes_from_an_honest_source() {
    let history = membership_change(2_100, 50);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let honest_blobs = SegmentBlobs::open(&dir.path().join("honest"))
        .await
        .expect("blobs");
    let tip = history.store.finalized_height().expect("tip");
    let (_tip, watched) = watch::channel(tip);
    let honest_source = start(history.store.clone(), honest_blobs, watched)
        .await
        .expect("index");
    let secret = PeerSecret::from_seed([202; 32]);
    let (honest_net, _inbound, _joins) =
        Net::bind_serving(&secret, NetConfig::loopback(0), Some(&honest_source))
            .await
            .expect("bind");
    let honest = Member {
        id: honest_net.peer_id(),
        name: "honest".into(),
        addrs: honest_net
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let expected = roots(&history.store);
    let lies = [
        (Lie::TamperedBlock, "payload"),
        (Lie::BrokenHashLink, "parent"),
        (Lie::ForgedCertificate, "signature"),
        (Lie::ShortCertificate, "quorum"),
        (Lie::RemovedPeerSigns, "signature"),
        (Lie::WrongSegment, "its index says from 1004 to 2003"),
        (Lie::EndlessAnswer, "frame"),
    ];
    for (lie, reason) in lies {
        let (router, lying) = liar(&history, lie, dir.path()).await;
        let name = format!("replica-{lie:?}");
        let (net, store, mut follower, mut watched) = replica(
            &history,
            dir.path(),
            &name,
            vec![lying.clone(), honest.clone()],
        )
        .await;
        let error = follower
            .follow(&lying)
            .await
            .expect_err("the lie is caught");
        assert!(
            matches!(error, FollowError::Invalid(_) | FollowError::Source(_)),
            "{lie:?}: {error:?}"
        );
        assert!(
            error.to_string().contains(reason),
            "{lie:?} is caught saying {reason:?}: {error}"
        );
        let written = roots(&store);
        assert!(
            written.len() < expected.len() && expected.starts_with(&written),
            "{lie:?}: only verified history was written ({} of {} roots)",
            written.len(),
            expected.len()
        );
        let running = tokio::spawn(follower.run());
        tokio::time::timeout(Duration::from_secs(60), watched.wait_for(|t| *t >= tip))
            .await
            .expect("the replica reached the tip from the honest source")
            .expect("the replica runs");
        assert_eq!(roots(&store), expected, "{lie:?}");
        running.abort();
        net.shutdown().await;
        router.shutdown().await.expect("router shutdown");
    }
    honest_net.shutdown().await;
}
