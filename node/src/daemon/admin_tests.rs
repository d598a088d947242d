//! The admin sockets against a stand-in driver: the read-only socket refuses writes, and a
//! subscriber gets a status, then events, and is dropped with a last frame when it lags.

use bfte_shared::admin::{DummyCause, PeerStatus, Status};
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};

use super::*;

fn status() -> Status {
    Status {
        federation_id: FederationId(Hash::ZERO),
        federation_name: "test".into(),
        peer_id: PeerId([1; 32]),
        role: "voter".into(),
        round: Round(3),
        leader: PeerId([1; 32]),
        finalized_height: Height(2),
        pending_items: 0,
        finality_wait_ms: 0,
        quorum: 1,
        replication: None,
        serving: Vec::new(),
        bytes_out: 0,
        peers: vec![PeerStatus {
            id: PeerId([1; 32]),
            name: "me".into(),
            connected: true,
            voting: true,
            silent_ms: None,
        }],
    }
}

/// Serves one socket of `access` in a temporary directory with a driver that answers every
/// request with a status.
async fn serve_one(access: Access) -> (tempfile::TempDir, PathBuf, EventHub) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("test.sock");
    let listener = bind(&path).await.expect("bind");
    let (calls, mut requests) = mpsc::channel::<AdminCall>(8);
    tokio::spawn(async move {
        while let Some((_, reply)) = requests.recv().await {
            let _ = reply.send(AdminResponse::Status(status()));
        }
    });
    let events = EventHub::default();
    let server = Server {
        data_dir: dir.path().to_path_buf(),
        calls,
        events: events.clone(),
        access,
    };
    tokio::spawn(serve(listener, server));
    (dir, path, events)
}

async fn connect(path: &Path) -> UnixStream {
    let mut stream = UnixStream::connect(path).await.expect("connect");
    let hello = AdminRequest::Hello {
        version: ADMIN_PROTOCOL_VERSION,
    };
    assert!(matches!(
        call(&mut stream, &hello).await,
        AdminResponse::Hello { .. }
    ));
    stream
}

async fn call(stream: &mut UnixStream, request: &AdminRequest) -> AdminResponse {
    let bytes = codec::encode(request);
    stream
        .write_u32(u32::try_from(bytes.len()).expect("small"))
        .await
        .expect("write");
    stream.write_all(&bytes).await.expect("write");
    response(stream).await
}

async fn response(stream: &mut UnixStream) -> AdminResponse {
    let len = stream.read_u32().await.expect("read") as usize;
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes).await.expect("read");
    codec::decode(&bytes, MAX_ADMIN_FRAME).expect("decode")
}

#[tokio::test]
async fn the_read_only_socket_refuses_writes_and_serves_reads() {
    let (_dir, path, _events) = serve_one(Access::ReadOnly).await;
    let mut stream = connect(&path).await;
    let submit = AdminRequest::Submit {
        data: b"x".to_vec(),
    };
    match call(&mut stream, &submit).await {
        AdminResponse::Error(message) => {
            assert!(message.contains("read-only"), "{message}");
            assert!(message.contains("admin.sock"), "{message}");
        }
        other => panic!("a write went through the read-only socket: {other:?}"),
    }
    // The connection stays usable for reads.
    assert!(matches!(
        call(&mut stream, &AdminRequest::Status).await,
        AdminResponse::Status(_)
    ));
}

#[tokio::test]
async fn the_full_socket_passes_writes_to_the_driver() {
    let (_dir, path, _events) = serve_one(Access::Full).await;
    let mut stream = connect(&path).await;
    let submit = AdminRequest::Submit {
        data: b"x".to_vec(),
    };
    // The stand-in driver answers everything with a status: it was asked.
    assert!(matches!(
        call(&mut stream, &submit).await,
        AdminResponse::Status(_)
    ));
}

#[tokio::test]
async fn a_subscriber_gets_a_status_then_events_and_is_dropped_when_it_lags() {
    let (_dir, path, events) = serve_one(Access::ReadOnly).await;
    let mut stream = connect(&path).await;
    match call(&mut stream, &AdminRequest::Subscribe).await {
        AdminResponse::Subscribed { status: got } => assert_eq!(got, status()),
        other => panic!("{other:?}"),
    }
    events.publish(AdminEvent::DummyCertified {
        round: Round(9),
        cause: DummyCause::Timeout,
    });
    match response(&mut stream).await {
        AdminResponse::Event(frame) => {
            assert_eq!(
                frame.event,
                AdminEvent::DummyCertified {
                    round: Round(9),
                    cause: DummyCause::Timeout,
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // Now stop reading while far more events than the buffer holds are published; the big
    // log lines fill the socket so the admin task blocks and falls behind.
    let line = "x".repeat(4096);
    for _ in 0..super::super::events::EVENT_BUFFER * 4 {
        events.publish(AdminEvent::Log {
            level: bfte_shared::admin::LogLevel::Info,
            line: line.clone(),
        });
        tokio::task::yield_now().await;
    }
    let mut last = None;
    while let Ok(len) = stream.read_u32().await {
        let mut bytes = vec![0u8; len as usize];
        stream.read_exact(&mut bytes).await.expect("read");
        last = Some(codec::decode::<AdminResponse>(&bytes, MAX_ADMIN_FRAME).expect("decode"));
    }
    match last {
        Some(AdminResponse::Event(EventFrame {
            event: AdminEvent::DroppedSlow { missed },
            ..
        })) => assert!(missed > 0),
        other => panic!("the last frame should say the client was dropped: {other:?}"),
    }
}
