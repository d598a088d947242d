//! The connection task against a fake node on a Unix socket: module tables are read at most
//! once per `MODULES_EVERY`, however often the app asks; proposals, joins and the epoch come
//! back together, or the node's refusal; writes come back with their nonce, as done, or with
//! the node's refusal; the status is read again every `STATUS_EVERY`, and a replica's console
//! connects without the peers it refuses to list.

use std::time::Duration;

use bfte_shared::admin::{
    AdminRequest, AdminResponse, MAX_ADMIN_FRAME, ModuleEntry, Receipt, Status,
};
use bfte_shared::codec;
use bfte_tui::client::{self, MODULES_EVERY, Request, STATUS_EVERY, Update};
use bfte_tui::fixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Answers every request of one connection the way a node with one meta value would; the
/// governance calls as the fixture's, or refused as while they were being built. A replica's
/// status makes it refuse `Peers`, as replicas do.
async fn serve(
    mut stream: UnixStream,
    module_reads: mpsc::UnboundedSender<Instant>,
    governance_built: bool,
    status: Status,
) {
    let governance = fixture::governance(fixture::START_MS);
    loop {
        let Ok(len) = stream.read_u32().await else {
            return;
        };
        let mut bytes = vec![0u8; len as usize];
        if stream.read_exact(&mut bytes).await.is_err() {
            return;
        }
        let request: AdminRequest = codec::decode(&bytes, MAX_ADMIN_FRAME).expect("request");
        let answer = match request {
            AdminRequest::Hello { version } => AdminResponse::Hello { version },
            AdminRequest::Subscribe => AdminResponse::Subscribed {
                status: status.clone(),
            },
            AdminRequest::Status => AdminResponse::Status(status.clone()),
            AdminRequest::Peers if status.replication.is_some() => {
                AdminResponse::Error("a replica holds no consensus connections".into())
            }
            AdminRequest::Peers => AdminResponse::Peers(Vec::new()),
            AdminRequest::Blocks { .. } => AdminResponse::Blocks(Vec::new()),
            AdminRequest::ModuleEntries { table, .. } => {
                if table == "values" {
                    let _ = module_reads.send(Instant::now());
                }
                AdminResponse::ModuleEntries(vec![ModuleEntry {
                    key: b"federation.name".to_vec(),
                    value: codec::encode(&"Demo".to_string()),
                }])
            }
            AdminRequest::Submit { .. } => AdminResponse::Submitted(Receipt {
                item: bfte_shared::hash::Hash::tagged(b"test", b"item"),
                nonce: 5,
                index: 0,
            }),
            AdminRequest::SubmitItem { .. } => AdminResponse::Error("read-only socket".into()),
            AdminRequest::Reject { .. } => AdminResponse::Done,
            AdminRequest::Proposals | AdminRequest::Joins | AdminRequest::Epoch
                if !governance_built =>
            {
                AdminResponse::Error("governance calls are being built".into())
            }
            AdminRequest::Proposals => AdminResponse::Proposals(governance.proposals.clone()),
            AdminRequest::Joins => AdminResponse::Joins(governance.joins.clone()),
            AdminRequest::Epoch => AdminResponse::Epoch(governance.epoch.clone()),
            other => AdminResponse::Error(format!("not in this fake: {other:?}")),
        };
        let bytes = codec::encode(&answer);
        let sent = async {
            stream.write_u32(bytes.len() as u32).await?;
            stream.write_all(&bytes).await
        };
        if sent.await.is_err() {
            return;
        }
    }
}

type Connected = (
    mpsc::Receiver<Update>,
    mpsc::Sender<Request>,
    mpsc::UnboundedReceiver<Instant>,
    tokio::task::JoinHandle<()>,
);

/// A fake voter on `socket` and the connection task attached to it, once connected.
async fn connect(socket: &std::path::Path, governance_built: bool) -> Connected {
    let status = fixture::app(4, 10).node.status.expect("status");
    connect_to(socket, governance_built, status).await
}

/// A fake node answering with `status` on `socket`, and the connection task attached to it.
async fn connect_to(socket: &std::path::Path, governance_built: bool, status: Status) -> Connected {
    let listener = UnixListener::bind(socket).expect("bind");
    let (reads_tx, reads) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(
                stream,
                reads_tx.clone(),
                governance_built,
                status.clone(),
            ));
        }
    });
    let (updates_tx, mut updates) = mpsc::channel(64);
    let (requests, requests_rx) = mpsc::channel(16);
    let connection = tokio::spawn(client::run(socket.to_path_buf(), updates_tx, requests_rx));
    loop {
        match updates.recv().await.expect("an update") {
            Update::Connected(_) => break,
            Update::Connecting { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    (updates, requests, reads, connection)
}

/// The next update other than a status read again: those come every second whatever a test
/// does.
async fn next(updates: &mut mpsc::Receiver<Update>) -> Option<Update> {
    loop {
        match updates.recv().await {
            Some(Update::Status(_)) => {}
            other => return other,
        }
    }
}

fn socket(name: &str) -> std::path::PathBuf {
    let socket = std::env::temp_dir().join(format!("bfte-tui-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    socket
}

#[tokio::test]
async fn module_tables_are_read_at_most_once_a_second() {
    let socket = socket("client");
    let (mut updates, requests, mut reads, connection) = connect(&socket, true).await;
    let asked = Instant::now();
    requests.send(Request::Modules).await.expect("send");
    let first = reads.recv().await.expect("a read");
    assert!(
        first - asked < MODULES_EVERY / 2,
        "the first read is not delayed"
    );
    let Some(Update::Modules(Ok(tables))) = next(&mut updates).await else {
        panic!("no tables");
    };
    assert_eq!(tables.meta[0].value.as_deref(), Some("Demo"));

    // Asked again at once: served when the second is up, not before.
    requests.send(Request::Modules).await.expect("send");
    let second = reads.recv().await.expect("a read");
    assert!(
        second - first >= MODULES_EVERY,
        "read again after {:?}",
        second - first
    );
    assert!(second - first < MODULES_EVERY + Duration::from_millis(500));
    connection.abort();
    let _ = std::fs::remove_file(&socket);
}

#[tokio::test]
async fn writes_answer_with_the_nonce_or_the_refusal() {
    let socket = socket("writes");
    let (mut updates, requests, _reads, connection) = connect(&socket, true).await;
    let submit = AdminRequest::Submit {
        data: b"x".to_vec(),
    };
    requests
        .send(Request::Write(submit.clone()))
        .await
        .expect("send");
    assert_eq!(
        next(&mut updates).await,
        Some(Update::Written {
            request: Box::new(submit),
            answer: Ok(Some(5))
        })
    );
    let item = AdminRequest::SubmitItem {
        module: bfte_shared::modules::META,
        data: Vec::new(),
    };
    requests
        .send(Request::Write(item.clone()))
        .await
        .expect("send");
    assert_eq!(
        next(&mut updates).await,
        Some(Update::Written {
            request: Box::new(item),
            answer: Err("the node refused: read-only socket".into())
        })
    );
    let reject = AdminRequest::Reject {
        peer: fixture::erin(),
    };
    requests
        .send(Request::Write(reject.clone()))
        .await
        .expect("send");
    assert_eq!(
        next(&mut updates).await,
        Some(Update::Written {
            request: Box::new(reject),
            answer: Ok(None)
        }),
        "a reject is done at once, without a nonce"
    );
    connection.abort();
    let _ = std::fs::remove_file(&socket);
}

#[tokio::test]
async fn governance_is_read_in_one_go() {
    let socket = socket("governance");
    let (mut updates, requests, _reads, connection) = connect(&socket, true).await;
    requests.send(Request::Governance).await.expect("send");
    assert_eq!(
        next(&mut updates).await,
        Some(Update::Governance(Ok(Box::new(fixture::governance(
            fixture::START_MS
        )))))
    );
    connection.abort();
    let _ = std::fs::remove_file(&socket);
}

#[tokio::test]
async fn a_refused_governance_read_is_the_screens_to_show_and_the_connection_stays() {
    let socket = socket("governance-refused");
    let (mut updates, requests, _reads, connection) = connect(&socket, false).await;
    requests.send(Request::Governance).await.expect("send");
    assert_eq!(
        next(&mut updates).await,
        Some(Update::Governance(Err(
            "governance calls are being built".into()
        )))
    );
    requests.send(Request::Peers).await.expect("send");
    assert!(matches!(next(&mut updates).await, Some(Update::Peers(_))));
    connection.abort();
    let _ = std::fs::remove_file(&socket);
}

#[tokio::test]
async fn a_replicas_console_connects_and_reads_its_status_every_second() {
    let socket = socket("replica");
    let replica = fixture::replica_app(4_000, 10_000, false, 1);
    let status = replica.node.status.expect("status");
    let connected = Instant::now();
    let (mut updates, _requests, _reads, connection) =
        connect_to(&socket, true, status.clone()).await;
    for _ in 0..2 {
        let update = tokio::time::timeout(STATUS_EVERY * 2, updates.recv())
            .await
            .expect("the status is read again within its interval");
        assert_eq!(update, Some(Update::Status(Box::new(status.clone()))));
    }
    assert!(
        connected.elapsed() >= STATUS_EVERY * 2,
        "not read in a burst"
    );
    connection.abort();
    let _ = std::fs::remove_file(&socket);
}
