//! One outbound link per peer: a bounded queue per [`Lane`] that `Net::send` fills without
//! waiting, and a task that keeps one connection to the peer with one long-lived uni stream per
//! lane and writes each queue onto its stream, redialing with exponential backoff whenever the
//! connection fails.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bfte_shared::admin::PeerPath;
use bfte_shared::peer::PeerId;
use iroh::endpoint::{Connection, ConnectionError, SendStream};
use iroh::{EndpointAddr, EndpointId};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::frame::write_frame;
use super::{ALPN, CLOSE_NOT_A_PEER, CLOSE_REDIAL, CLOSE_SHUTDOWN, Dialer, Frame, Lane};

/// First wait after a failed dial; doubles up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A connection that stayed up this long counts as a success and resets the backoff; one that
/// the peer accepts and closes at once (say, we are not in its peer set) keeps backing off.
const STABLE_AFTER: Duration = Duration::from_secs(1);
/// A dial that has not completed by then is abandoned and retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An inbound connection from the peer while our outbound one is older than this suggests the
/// peer restarted and our connection points at its previous incarnation: redial at once instead
/// of waiting for the idle timeout. Younger connections are left alone, so two peers that dial
/// each other at the same moment do not make each other redial.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(2);
/// At most one such redial per this long, so that no pattern of inbound connections can keep a
/// link redialing.
const REDIAL_AT_MOST_EVERY: Duration = Duration::from_secs(10);

/// The sending half of a link, owned by `Net`. Dropping it stops the task.
#[derive(Debug)]
pub(super) struct Link {
    peer: PeerId,
    /// One queue per lane, indexed by [`Lane::index`].
    queues: [mpsc::Sender<Frame>; Lane::COUNT],
    addrs: watch::Sender<Vec<SocketAddr>>,
    status: Arc<LinkStatus>,
    redial: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What `peer_states` reports, shared between the link task and `Net`.
#[derive(Debug, Default)]
pub(super) struct LinkStatus {
    connected: AtomicBool,
    dropped_frames: AtomicU64,
    times: Mutex<LinkTimes>,
}

#[derive(Debug, Default)]
struct LinkTimes {
    connected_since: Option<Instant>,
    last_forced_redial: Option<Instant>,
    /// The live connection, kept so status screens can ask which path it uses and its RTT.
    connection: Option<Connection>,
}

/// How a live connection travels, as iroh reports the path that carries its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    pub relayed: bool,
    pub rtt: Duration,
    /// Where the path goes: `ip:ADDR` or `relay:URL`.
    pub remote: String,
}

impl PathInfo {
    /// The path iroh selected for `connection` or, when it marks none, its only open path: a
    /// connection from an endpoint that came back from a new address was seen with its one
    /// path unmarked while iroh still held the old address as the endpoint's selected one.
    pub fn of(connection: &Connection) -> Option<PathInfo> {
        let paths = connection.paths();
        let only = paths.iter().next().filter(|_| paths.len() == 1);
        let path = paths.iter().find(|path| path.is_selected()).or(only)?;
        Some(PathInfo {
            relayed: path.is_relay(),
            rtt: path.rtt(),
            remote: path.remote_addr().to_string(),
        })
    }

    pub fn kind(&self) -> PeerPath {
        if self.relayed {
            PeerPath::Relay
        } else {
            PeerPath::Direct
        }
    }

    pub fn rtt_us(&self) -> u64 {
        u64::try_from(self.rtt.as_micros()).unwrap_or(u64::MAX)
    }
}

impl LinkStatus {
    pub(super) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub(super) fn dropped_frames(&self) -> u64 {
        self.dropped_frames.load(Ordering::Relaxed)
    }

    fn times(&self) -> std::sync::MutexGuard<'_, LinkTimes> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The selected path of the live connection, if there is one.
    pub(super) fn path(&self) -> Option<PathInfo> {
        PathInfo::of(self.times().connection.as_ref()?)
    }

    fn set_connected(&self, connection: Option<&Connection>) {
        let mut times = self.times();
        times.connected_since = connection.is_some().then(Instant::now);
        times.connection = connection.cloned();
        self.connected
            .store(connection.is_some(), Ordering::Relaxed);
    }

    /// Whether an inbound connection from the peer should make this link redial now.
    fn should_redial(&self) -> bool {
        let mut times = self.times();
        let now = Instant::now();
        let stale = times
            .connected_since
            .is_some_and(|since| now.duration_since(since) >= STALE_AFTER);
        let allowed = times
            .last_forced_redial
            .is_none_or(|last| now.duration_since(last) >= REDIAL_AT_MOST_EVERY);
        if stale && allowed {
            times.last_forced_redial = Some(now);
        }
        stale && allowed
    }
}

impl Link {
    pub(super) fn spawn(
        runtime: &tokio::runtime::Handle,
        dialer: Dialer,
        peer: PeerId,
        id: EndpointId,
        addrs: Vec<SocketAddr>,
        capacity: usize,
    ) -> Link {
        let (consensus, consensus_rx) = mpsc::channel(capacity);
        let (items, items_rx) = mpsc::channel(capacity);
        let (addrs, addrs_rx) = watch::channel(addrs);
        let (redial, redial_rx) = watch::channel(0);
        let status = Arc::new(LinkStatus::default());
        let task = runtime.spawn(run(Task {
            dialer,
            peer,
            id,
            lanes: [LaneQueue::new(consensus_rx), LaneQueue::new(items_rx)],
            addrs: addrs_rx,
            redial: redial_rx,
            status: status.clone(),
            capacity,
        }));
        Link {
            peer,
            queues: [consensus, items],
            addrs,
            status,
            redial,
            task,
        }
    }

    pub(super) fn status(&self) -> &LinkStatus {
        &self.status
    }

    /// Queues a frame on its lane without waiting; a full queue drops it and counts the drop.
    pub(super) fn push(&self, lane: Lane, frame: Frame) -> bool {
        let queued = self.queues[lane.index()].try_send(frame).is_ok();
        if !queued {
            self.count_drop();
        }
        queued
    }

    pub(super) fn count_drop(&self) {
        self.status.dropped_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// New addresses are used from the next dial on; a link waiting out its backoff dials now.
    pub(super) fn set_addrs(&self, addrs: Vec<SocketAddr>) {
        self.addrs.send_if_modified(|current| {
            let changed = *current != addrs;
            *current = addrs;
            changed
        });
    }

    /// The peer opened a connection to us: if ours to it looks stale, replace it.
    pub(super) fn peer_connected_to_us(&self) {
        if self.status.should_redial() {
            tracing::info!(
                peer = %self.peer.short(),
                "peer reconnected to us while our connection to it is old: redialing"
            );
            self.redial.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

struct Task {
    dialer: Dialer,
    peer: PeerId,
    id: EndpointId,
    lanes: [LaneQueue; Lane::COUNT],
    addrs: watch::Receiver<Vec<SocketAddr>>,
    redial: watch::Receiver<u64>,
    status: Arc<LinkStatus>,
    capacity: usize,
}

/// The receiving end of one lane's queue, with what its stream must write first.
struct LaneQueue {
    queue: mpsc::Receiver<Frame>,
    /// Frames a peer refused unread, written again first on the next connection.
    carry: VecDeque<Frame>,
    /// Frames written on the current connection while it is young: if the peer refuses the
    /// connection (we are not in its set yet, say during a membership change) it has read none
    /// of them, so they are safe to write again on the next connection. A peer that accepted us
    /// never closes with CLOSE_NOT_A_PEER, so nothing is delivered twice. `None` once the
    /// connection is old or the list long: then nothing is kept.
    unread: Option<Vec<Frame>>,
}

impl LaneQueue {
    fn new(queue: mpsc::Receiver<Frame>) -> LaneQueue {
        LaneQueue {
            queue,
            carry: VecDeque::new(),
            unread: None,
        }
    }
}

/// How a connection's write loop ended.
enum End {
    /// `Net` dropped the link: finish quietly.
    QueueClosed,
    /// The peer seems to have restarted: dial again without waiting.
    Redial,
    /// The peer does not have us in its set (yet): back off and retry.
    Refused,
    Lost(String),
}

async fn run(mut task: Task) {
    let peer = task.peer.short();
    let mut backoff = BACKOFF_MIN;
    let mut failures = 0u32;
    loop {
        let target = {
            let addrs = task.addrs.borrow_and_update();
            task.dialer.target(task.id, addrs.iter().copied())
        };
        match dial(task.dialer.endpoint(), target).await {
            Ok((connection, streams)) => {
                let started = Instant::now();
                task.redial.borrow_and_update();
                task.status.set_connected(Some(&connection));
                tracing::debug!(%peer, "connected");
                let end = pump(&connection, streams, &mut task).await;
                task.status.set_connected(None);
                match end {
                    End::QueueClosed => {
                        connection.close(CLOSE_SHUTDOWN, b"shutting down");
                        return;
                    }
                    End::Redial => {
                        connection.close(CLOSE_REDIAL, b"redialing");
                        backoff = BACKOFF_MIN;
                        continue;
                    }
                    End::Refused => {
                        failures += 1;
                        if failures == 1 {
                            tracing::warn!(
                                %peer,
                                "the peer refused us: we are not in its peer set (yet); retrying"
                            );
                        }
                    }
                    End::Lost(reason) => {
                        failures = 0;
                        tracing::info!(%peer, %reason, "connection lost; redialing");
                    }
                }
                if started.elapsed() >= STABLE_AFTER {
                    backoff = BACKOFF_MIN;
                }
            }
            Err(error) => {
                failures += 1;
                // The first failure says what is wrong; the retries after it would only repeat it.
                if failures == 1 {
                    tracing::warn!(%peer, %error, "could not connect; retrying with backoff");
                } else {
                    tracing::debug!(%peer, %error, failures, "could not connect");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            Ok(()) = task.addrs.changed() => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error("no connection within {CONNECT_TIMEOUT:?}")]
    Timeout,
    #[error("{0}")]
    Connect(#[from] iroh::endpoint::ConnectError),
    #[error("could not open a stream: {0}")]
    Stream(#[from] iroh::endpoint::ConnectionError),
    #[error("could not start a stream: {0}")]
    Start(#[from] iroh::endpoint::WriteError),
}

/// Connects and opens one stream per lane, each starting with its lane's tag. The consensus
/// stream has the higher priority, so QUIC sends its buffered data before any of the items'.
async fn dial(
    endpoint: &iroh::Endpoint,
    target: EndpointAddr,
) -> Result<(Connection, [SendStream; Lane::COUNT]), DialError> {
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect(target, ALPN))
        .await
        .map_err(|_| DialError::Timeout)??;
    let mut consensus = connection.open_uni().await?;
    let mut items = connection.open_uni().await?;
    // Fails only on a stream already closed, which the first write reports as well.
    let _ = consensus.set_priority(1);
    consensus.write_all(&[Lane::Consensus.tag()]).await?;
    items.write_all(&[Lane::Items.tag()]).await?;
    Ok((connection, [consensus, items]))
}

/// Writes each lane's queue onto its stream until the connection fails or the link must redial.
async fn pump(
    connection: &Connection,
    [consensus_stream, items_stream]: [SendStream; Lane::COUNT],
    task: &mut Task,
) -> End {
    let started = Instant::now();
    let [consensus, items] = &mut task.lanes;
    consensus.unread = Some(Vec::new());
    items.unread = Some(Vec::new());
    let (capacity, peer) = (task.capacity, task.peer);
    let end = tokio::select! {
        biased;
        reason = connection.closed() => End::Lost(reason.to_string()),
        Ok(()) = task.redial.changed() => End::Redial,
        end = write_lane(consensus_stream, consensus, started, capacity, peer) => end,
        end = write_lane(items_stream, items, started, capacity, peer) => end,
    };
    let refused = matches!(
        connection.close_reason(),
        Some(ConnectionError::ApplicationClosed(close)) if close.error_code == CLOSE_NOT_A_PEER
    );
    if !refused {
        return end;
    }
    for lane in &mut task.lanes {
        let Some(frames) = lane.unread.take() else {
            continue;
        };
        tracing::debug!(
            peer = %task.peer.short(),
            unread = frames.len(),
            "the peer refused us; the frames it did not read go out again"
        );
        for frame in frames.into_iter().rev() {
            lane.carry.push_front(frame);
        }
        while lane.carry.len() > task.capacity {
            lane.carry.pop_front();
            task.status.dropped_frames.fetch_add(1, Ordering::Relaxed);
        }
    }
    End::Refused
}

/// Writes one lane's frames onto its stream, carried ones first, until the stream fails or the
/// queue closes. Cancelled by [`pump`] when the connection ends: a frame cut off mid-write is
/// lost with the connection, or kept in `unread` if the peer refused it.
#[cfg_attr(not(feature = "chaos"), allow(unused_variables))]
async fn write_lane(
    mut stream: SendStream,
    lane: &mut LaneQueue,
    started: Instant,
    capacity: usize,
    peer: PeerId,
) -> End {
    loop {
        if lane
            .unread
            .as_ref()
            .is_some_and(|frames| frames.len() >= capacity || started.elapsed() >= STABLE_AFTER)
        {
            lane.unread = None;
        }
        let frame = match lane.carry.pop_front() {
            Some(frame) => frame,
            None => match lane.queue.recv().await {
                Some(frame) => frame,
                None => {
                    // Best effort only: the connection is about to close anyway.
                    let _ = stream.finish();
                    return End::QueueClosed;
                }
            },
        };
        #[cfg(feature = "chaos")]
        match super::faults::outbound(&peer) {
            super::faults::Fate::Send => {}
            super::faults::Fate::Drop => continue,
            super::faults::Fate::After(delay) => tokio::time::sleep(delay).await,
        }
        if let Some(frames) = &mut lane.unread {
            frames.push(frame.clone());
        }
        if let Err(error) = write_frame(&mut stream, &frame).await {
            return End::Lost(error.to_string());
        }
    }
}

impl Link {
    /// Frames queued on every lane and not yet taken by the writer tasks.
    pub(super) fn queue_len(&self) -> usize {
        self.queues
            .iter()
            .map(|queue| queue.max_capacity() - queue.capacity())
            .sum()
    }
}
