//! All on 127.0.0.1 with relays disabled: no test needs the internet.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use iroh::endpoint::{ConnectionError, presets};
use iroh::{Endpoint, EndpointAddr, NetReportConfig, RelayMode, SecretKey};
use tokio::time::{Instant, timeout};

use super::*;

const WAIT: Duration = Duration::from_secs(15);

/// Logs show with `RUST_LOG=bfte_node::net=debug cargo test -p bfte-node --lib net:: -- --nocapture`.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn secret(n: u8) -> PeerSecret {
    PeerSecret::from_seed([n; 32])
}

async fn bind(n: u8) -> (Net, InboundFrames) {
    init_logs();
    let (net, inbound, _joins) = Net::bind(&secret(n), NetConfig::loopback(0)).await.unwrap();
    (net, inbound)
}

fn entry(net: &Net) -> (PeerId, Vec<SocketAddr>) {
    (net.peer_id(), net.local_addrs())
}

fn connect_all(nets: &[&Net]) {
    let all: Vec<_> = nets.iter().map(|net| entry(net)).collect();
    for net in nets {
        net.set_peers(all.clone());
    }
}

/// A frame that names its sender and its sequence number.
fn numbered(from: u8, seq: u32) -> Frame {
    let mut bytes = vec![from];
    bytes.extend_from_slice(&seq.to_be_bytes());
    Arc::new(bytes)
}

fn parse(bytes: &[u8]) -> (u8, u32) {
    (
        bytes[0],
        u32::from_be_bytes(bytes[1..5].try_into().unwrap()),
    )
}

async fn recv(rx: &mut InboundFrames) -> Inbound {
    timeout(WAIT, rx.recv())
        .await
        .expect("no frame in time")
        .expect("channel open")
}

/// A bare iroh endpoint, for speaking (or mangling) the protocol by hand.
async fn raw_endpoint(secret: &PeerSecret) -> Endpoint {
    Endpoint::builder(presets::Minimal)
        .secret_key(SecretKey::from_bytes(&secret.seed()))
        .relay_mode(RelayMode::Disabled)
        .net_report_config(NetReportConfig::minimal())
        .clear_ip_transports()
        .bind_addr((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .bind()
        .await
        .unwrap()
}

fn addr_of(net: &Net) -> EndpointAddr {
    net.local_addrs().into_iter().fold(
        EndpointAddr::new(endpoint_id(&net.peer_id()).unwrap()),
        |addr, ip| addr.with_ip_addr(ip),
    )
}

/// A raw stream on `lane`, its tag written.
async fn open_lane(
    connection: &iroh::endpoint::Connection,
    lane: Lane,
) -> iroh::endpoint::SendStream {
    let mut stream = connection.open_uni().await.unwrap();
    stream.write_all(&[lane.tag()]).await.unwrap();
    stream
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn endpoint_id_is_the_peer_id() {
    for n in [0u8, 1, 42, 255] {
        let secret = secret(n);
        let iroh_id = SecretKey::from_bytes(&secret.seed()).public();
        assert_eq!(iroh_id.as_bytes(), &secret.peer_id().0);
        assert_eq!(peer_id(&iroh_id), secret.peer_id());
        assert_eq!(endpoint_id(&secret.peer_id()).unwrap(), iroh_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_endpoint_has_the_peer_id_and_reports_its_socket() {
    let (net, _rx) = bind(1).await;
    assert_eq!(net.endpoint.id().as_bytes(), &secret(1).peer_id().0);
    let addrs = net.local_addrs();
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    assert_eq!(addrs[0].ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(addrs[0].port(), 0);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_busy_port_names_the_address() {
    let (net, _rx) = bind(1).await;
    let busy = net.local_addrs()[0];
    let config = NetConfig::loopback(busy.port());
    let error = Net::bind(&secret(2), config).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("could not bind {busy}: ")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("in use"), "{text}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_exchange_frames_in_order() {
    const FRAMES: u32 = 300;
    let (a, mut rx_a) = bind(1).await;
    let (b, mut rx_b) = bind(2).await;
    let (c, mut rx_c) = bind(3).await;
    connect_all(&[&a, &b, &c]);
    let nets = [(1u8, &a), (2, &b), (3, &c)];

    for seq in 0..FRAMES {
        for (me, net) in nets {
            for (_, other) in nets {
                if other.peer_id() != net.peer_id() {
                    net.send(&other.peer_id(), Lane::Consensus, numbered(me, seq));
                }
            }
        }
    }

    let ids: HashMap<PeerId, u8> = nets.iter().map(|(n, net)| (net.peer_id(), *n)).collect();
    for (me, rx) in [(1u8, &mut rx_a), (2, &mut rx_b), (3, &mut rx_c)] {
        let mut next: HashMap<u8, u32> = HashMap::new();
        for _ in 0..2 * FRAMES {
            let inbound = recv(rx).await;
            let (from, seq) = parse(&inbound.bytes);
            assert_ne!(from, me);
            assert_eq!(
                ids[&inbound.from], from,
                "frame attributed to the wrong peer"
            );
            let expected = next.entry(from).or_default();
            assert_eq!(
                seq, *expected,
                "peer {me} got frames from {from} out of order"
            );
            *expected += 1;
        }
        assert_eq!(next.values().copied().collect::<Vec<_>>(), [FRAMES; 2]);
    }
    for (_, net) in nets {
        assert!(
            net.peer_states()
                .iter()
                .all(|state| state.dropped_frames == 0)
        );
    }
    wait_until("every link is up", || {
        nets.iter()
            .all(|(_, net)| net.peer_states().iter().all(|state| state.connected))
    })
    .await;
    // On loopback with relays off every live connection is direct and has measured its RTT.
    for (_, net) in nets {
        for state in net.peer_states() {
            let path = state
                .path
                .clone()
                .expect("a live connection has a selected path");
            assert!(!path.relayed, "{state:?}");
            assert!(path.rtt < Duration::from_secs(1), "{state:?}");
            assert!(path.remote.starts_with("ip:127.0.0.1:"), "{state:?}");
        }
    }
    for net in [a, b, c] {
        net.shutdown().await;
    }
}

/// Consensus frames come out first, but while gossip waits never more than
/// `CONSENSUS_IN_A_ROW` of them in a row.
#[test]
fn consensus_frames_come_first_and_gossip_never_starves() {
    let (consensus_tx, consensus) = tokio::sync::mpsc::channel(100);
    let (items_tx, items) = tokio::sync::mpsc::channel(100);
    let mut inbound = InboundFrames::new(consensus, items);
    let frame = |lane: Lane| Inbound {
        from: secret(1).peer_id(),
        bytes: vec![lane.tag()],
    };
    for _ in 0..40 {
        consensus_tx.try_send(frame(Lane::Consensus)).unwrap();
    }
    for _ in 0..2 {
        items_tx.try_send(frame(Lane::Items)).unwrap();
    }
    let order: Vec<u8> = std::iter::from_fn(|| inbound.try_recv())
        .map(|frame| frame.bytes[0])
        .collect();
    assert_eq!(order.len(), 42);
    let gossip_at: Vec<usize> = (0..order.len())
        .filter(|&i| order[i] == Lane::Items.tag())
        .collect();
    let n = super::lanes::CONSENSUS_IN_A_ROW as usize;
    assert_eq!(gossip_at, [n, 2 * n + 1]);
}

/// A consensus frame sent after megabytes of item gossip arrives long before the gossip does:
/// each lane has its own stream, the consensus one sent first, and its own inbound channel,
/// taken first. On one stream it would come after all of the gossip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_frames_overtake_item_gossip() {
    const GOSSIP_FRAMES: usize = 64;
    const GOSSIP_BYTES: usize = 1 << 20;
    let (a, _rx_a) = bind(1).await;
    let (b, mut rx_b) = bind(2).await;
    connect_all(&[&a, &b]);
    a.send(&b.peer_id(), Lane::Consensus, numbered(1, 0));
    assert_eq!(parse(&recv(&mut rx_b).await.bytes), (1, 0));

    let gossip = Arc::new(vec![9u8; GOSSIP_BYTES]);
    for _ in 0..GOSSIP_FRAMES {
        a.send(&b.peer_id(), Lane::Items, gossip.clone());
    }
    a.send(&b.peer_id(), Lane::Consensus, numbered(1, 1));
    let mut gossip_first = 0;
    loop {
        let inbound = recv(&mut rx_b).await;
        if inbound.bytes.len() != GOSSIP_BYTES {
            assert_eq!(parse(&inbound.bytes), (1, 1));
            break;
        }
        gossip_first += 1;
    }
    assert!(
        gossip_first < GOSSIP_FRAMES / 2,
        "the consensus frame waited behind {gossip_first} of {GOSSIP_FRAMES} gossip frames"
    );
    for _ in gossip_first..GOSSIP_FRAMES {
        assert_eq!(recv(&mut rx_b).await.bytes.len(), GOSSIP_BYTES);
    }
    assert!(
        a.peer_states()
            .iter()
            .all(|state| state.dropped_frames == 0)
    );
    for net in [a, b] {
        net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_outside_the_set_are_refused() {
    let (a, mut rx_a) = bind(1).await;
    let (b, _rx_b) = bind(2).await;
    let (outsider, _rx_o) = bind(9).await;
    connect_all(&[&a, &b]);
    // The outsider knows A, but A does not know the outsider.
    outsider.set_peers(vec![entry(&a)]);
    for seq in 0..10 {
        outsider.send(&a.peer_id(), Lane::Consensus, numbered(9, seq));
    }

    // By hand too, to see the refusal itself.
    let raw = raw_endpoint(&secret(9)).await;
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    match connection.closed().await {
        ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.error_code, CLOSE_NOT_A_PEER);
        }
        other => panic!("expected an application close, got {other:?}"),
    }

    b.send(&a.peer_id(), Lane::Consensus, numbered(2, 0));
    let inbound = recv(&mut rx_a).await;
    assert_eq!(inbound.from, b.peer_id());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx_a.try_recv().is_none(),
        "a frame from the outsider got through"
    );

    // Removing a connected peer closes its inbound connection too.
    a.set_peers(vec![entry(&a)]);
    b.send(&a.peer_id(), Lane::Consensus, numbered(2, 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx_a.try_recv().is_none(),
        "a frame from a removed peer got through"
    );

    raw.close().await;
    for net in [a, b, outsider] {
        net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_only_that_connection() {
    let (a, mut rx_a) = bind(1).await;
    let (b, _rx_b) = bind(2).await;
    let (c, _rx_c) = bind(3).await;
    connect_all(&[&a, &b, &c]);
    // Mallory is a member (so the handshake is accepted) that writes nonsense.
    let mallory = secret(7);
    let mut peers = vec![entry(&a), entry(&b), entry(&c)];
    peers.push((mallory.peer_id(), Vec::new()));
    a.set_peers(peers);
    let raw = raw_endpoint(&mallory).await;

    let mut received = HashMap::<PeerId, u32>::new();
    let mut seq = 0;
    let mut exchange = async |rx: &mut InboundFrames| {
        b.send(&a.peer_id(), Lane::Consensus, numbered(2, seq));
        c.send(&a.peer_id(), Lane::Consensus, numbered(3, seq));
        seq += 1;
        for _ in 0..2 {
            let inbound = recv(rx).await;
            let (_, got) = parse(&inbound.bytes);
            let expected = received.entry(inbound.from).or_default();
            assert_eq!(got, *expected);
            *expected += 1;
        }
    };
    exchange(&mut rx_a).await;

    // A length far above the limit.
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut stream = open_lane(&connection, Lane::Consensus).await;
    stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    // The node may close on the length alone, before this arrives: either way is right.
    let _ = stream.write_all(b"junk").await;
    let closed = timeout(WAIT, connection.closed()).await.unwrap();
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.error_code == CLOSE_FRAME_TOO_LARGE),
        "{closed:?}"
    );
    exchange(&mut rx_a).await;

    // A frame cut short by the end of the stream.
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut stream = open_lane(&connection, Lane::Consensus).await;
    stream.write_all(&100u32.to_be_bytes()).await.unwrap();
    stream.write_all(&[0xff; 10]).await.unwrap();
    stream.finish().unwrap();
    let closed = timeout(WAIT, connection.closed()).await.unwrap();
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.error_code == CLOSE_TRUNCATED_FRAME),
        "{closed:?}"
    );
    exchange(&mut rx_a).await;

    // Half a length prefix, then the end of the stream.
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut stream = open_lane(&connection, Lane::Consensus).await;
    stream.write_all(&[0, 0]).await.unwrap();
    stream.finish().unwrap();
    let closed = timeout(WAIT, connection.closed()).await.unwrap();
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.error_code == CLOSE_TRUNCATED_FRAME),
        "{closed:?}"
    );
    exchange(&mut rx_a).await;

    // A stream of no known lane.
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut stream = connection.open_uni().await.unwrap();
    stream.write_all(&[7]).await.unwrap();
    stream.write_all(&5u32.to_be_bytes()).await.unwrap();
    let _ = stream.write_all(&numbered(7, 0)).await;
    let closed = timeout(WAIT, connection.closed()).await.unwrap();
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.error_code == CLOSE_UNKNOWN_LANE),
        "{closed:?}"
    );
    exchange(&mut rx_a).await;
    assert!(rx_a.try_recv().is_none(), "garbage was delivered");

    // A well-formed frame from Mallory is delivered: only broken framing is punished.
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut stream = open_lane(&connection, Lane::Consensus).await;
    stream.write_all(&5u32.to_be_bytes()).await.unwrap();
    stream.write_all(&numbered(7, 0)).await.unwrap();
    let inbound = recv(&mut rx_a).await;
    assert_eq!(inbound.from, mallory.peer_id());
    assert_eq!(parse(&inbound.bytes), (7, 0));

    raw.close().await;
    for net in [a, b, c] {
        net.shutdown().await;
    }
}

/// A peer gets its streams read two at a time, one per lane's worth: a third waits until one
/// of the first two ends, so opening many streams never makes a node hold many frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_has_at_most_two_streams_read_at_once() {
    let (a, mut rx_a) = bind(1).await;
    let mallory = secret(7);
    a.set_peers(vec![entry(&a), (mallory.peer_id(), Vec::new())]);
    let raw = raw_endpoint(&mallory).await;
    let connection = raw.connect(addr_of(&a), ALPN).await.unwrap();
    let mut streams = Vec::new();
    for seq in 0..3 {
        let mut stream = open_lane(&connection, Lane::Consensus).await;
        stream.write_all(&5u32.to_be_bytes()).await.unwrap();
        stream.write_all(&numbered(7, seq)).await.unwrap();
        streams.push(stream);
    }
    let mut got = vec![parse(&recv(&mut rx_a).await.bytes).1];
    got.push(parse(&recv(&mut rx_a).await.bytes).1);
    got.sort_unstable();
    assert_eq!(got, [0, 1], "the first two streams are read");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx_a.try_recv().is_none(),
        "a third stream was read beside two open ones"
    );
    streams[0].finish().unwrap();
    assert_eq!(parse(&recv(&mut rx_a).await.bytes), (7, 2));
    raw.close().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_refused_before_the_peer_knows_us_arrive_once_it_does() {
    const FRAMES: u32 = 50;
    let (a, _rx_a) = bind(1).await;
    let (b, mut rx_b) = bind(2).await;
    // A knows B, B does not know A yet (say a membership change B has not applied).
    a.set_peers(vec![entry(&a), entry(&b)]);
    for seq in 0..FRAMES {
        a.send(&b.peer_id(), Lane::Consensus, numbered(1, seq));
    }
    // Long enough for several refused connections.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx_b.try_recv().is_none());

    b.set_peers(vec![entry(&a), entry(&b)]);
    a.send(&b.peer_id(), Lane::Consensus, numbered(1, FRAMES));
    for seq in 0..=FRAMES {
        let inbound = recv(&mut rx_b).await;
        assert_eq!(parse(&inbound.bytes), (1, seq));
    }
    assert_eq!(a.peer_states()[0].dropped_frames, 0);
    for net in [a, b] {
        net.shutdown().await;
    }
}

/// Binds `n` on `port`, retrying while the previous incarnation's socket is being released.
async fn rebind(n: u8, port: u16) -> (Net, InboundFrames) {
    let deadline = Instant::now() + WAIT;
    loop {
        match Net::bind(&secret(n), NetConfig::loopback(port)).await {
            Ok((net, inbound, _joins)) => return (net, inbound),
            Err(error) if Instant::now() < deadline => {
                eprintln!("rebind: {error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("{error}"),
        }
    }
}

/// Sends numbered frames from `from` to `to` every 20 ms until `to` receives one; returns how
/// long that took.
async fn time_until_delivered(from: &Net, to: &Net, rx: &mut InboundFrames) -> Duration {
    let started = Instant::now();
    let mut seq = 0;
    loop {
        from.send(&to.peer_id(), Lane::Consensus, numbered(0, seq));
        seq += 1;
        if let Ok(Some(inbound)) = timeout(Duration::from_millis(20), rx.recv()).await {
            assert_eq!(inbound.from, from.peer_id());
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WAIT,
            "no frame delivered after the restart"
        );
    }
}

async fn restart_case(graceful: bool) {
    let (a, mut rx_a) = bind(1).await;
    let (b, mut rx_b) = bind(2).await;
    let b_port = b.local_addrs()[0].port();
    connect_all(&[&a, &b]);
    time_until_delivered(&a, &b, &mut rx_b).await;
    time_until_delivered(&b, &a, &mut rx_a).await;
    // Let A's connection age past the point where a new dial from B counts as a restart.
    tokio::time::sleep(link::STALE_AFTER + Duration::from_millis(200)).await;
    while rx_a.try_recv().is_some() {}

    if graceful {
        b.shutdown().await;
    } else {
        drop(b);
    }
    drop(rx_b);
    let (b, mut rx_b) = rebind(2, b_port).await;
    connect_all(&[&a, &b]);
    let to_b = time_until_delivered(&a, &b, &mut rx_b).await;
    let to_a = time_until_delivered(&b, &a, &mut rx_a).await;
    eprintln!(
        "restart (graceful: {graceful}): A reached the new B after {to_b:?}, B reached A after {to_a:?}"
    );
    assert!(to_b < Duration::from_secs(3), "{to_b:?}");
    for net in [a, b] {
        net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_crashes_and_restarts_is_reached_again() {
    restart_case(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_shuts_down_and_restarts_is_reached_again() {
    restart_case(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_to_a_dead_peer_never_blocks_and_counts_drops() {
    let (a, _rx_a) = bind(1).await;
    // A port nobody listens on.
    let dead_addr = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = secret(5).peer_id();
    a.set_peers(vec![entry(&a), (dead, vec![dead_addr])]);

    let extra = 100u64;
    let frame = Arc::new(vec![0u8; 1000]);
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for _ in 0..PEER_QUEUE_CAPACITY as u64 + extra {
        let one = Instant::now();
        a.send(&dead, Lane::Consensus, frame.clone());
        slowest = slowest.max(one.elapsed());
    }
    let total = started.elapsed();
    eprintln!(
        "{} sends to a dead peer: {total:?}, slowest {slowest:?}",
        PEER_QUEUE_CAPACITY as u64 + extra
    );
    assert!(slowest < Duration::from_millis(50), "{slowest:?}");

    // A frame the peer would refuse is dropped and counted as well.
    a.send(
        &dead,
        Lane::Consensus,
        Arc::new(vec![0u8; MAX_MESSAGE_BYTES + 1]),
    );
    let states = a.peer_states();
    assert_eq!(states.len(), 1, "our own id is not a peer: {states:?}");
    assert_eq!(
        states[0],
        PeerState {
            id: dead,
            connected: false,
            dropped_frames: extra + 1,
            path: None,
        }
    );
    a.shutdown().await;
}

/// Not an assertion, a measurement: `cargo test -p bfte-node --lib net::tests::latency --
/// --ignored --nocapture` (the test profile optimises every crate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn latency() {
    let (a, mut rx_a) = bind(1).await;
    let (b, mut rx_b) = bind(2).await;
    let started = Instant::now();
    connect_all(&[&a, &b]);
    a.send(&b.peer_id(), Lane::Consensus, numbered(1, 0));
    recv(&mut rx_b).await;
    let first = started.elapsed();

    let mut round_trips = Vec::new();
    for seq in 0..2000 {
        let sent = Instant::now();
        a.send(&b.peer_id(), Lane::Consensus, numbered(1, seq));
        let ping = recv(&mut rx_b).await;
        b.send(&a.peer_id(), Lane::Consensus, Arc::new(ping.bytes));
        recv(&mut rx_a).await;
        round_trips.push(sent.elapsed());
    }
    round_trips.sort();
    let at = |q: f64| round_trips[((round_trips.len() - 1) as f64 * q) as usize];

    let frames = 20_000u32;
    let payload = Arc::new(vec![7u8; 1024]);
    let sent = Instant::now();
    let receiving = tokio::spawn(async move {
        for _ in 0..frames {
            recv(&mut rx_b).await;
        }
        sent.elapsed()
    });
    for _ in 0..frames {
        a.send(&b.peer_id(), Lane::Consensus, payload.clone());
        // Stay below the queue bound: this measures the link, not the drop policy.
        tokio::task::yield_now().await;
        while a.peers.links()[&b.peer_id()].queue_len() > PEER_QUEUE_CAPACITY / 2 {
            tokio::task::yield_now().await;
        }
    }
    let elapsed = receiving.await.unwrap();
    eprintln!(
        "first frame (dial + handshake + frame): {first:?}; round trip median {:?} p90 {:?} p99 {:?} max {:?}; \
         {frames} x 1 KiB in {elapsed:?} ({:.0} frames/s); dropped {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        f64::from(frames) / elapsed.as_secs_f64(),
        a.peer_states()
            .iter()
            .map(|s| s.dropped_frames)
            .collect::<Vec<_>>(),
    );
    for net in [a, b] {
        net.shutdown().await;
    }
}
