//! The connection task against a fake node on a Unix socket: module tables are read at most
//! once per `MODULES_EVERY`, however often the app asks.

use std::time::Duration;

use bfte_shared::admin::{AdminRequest, AdminResponse, MAX_ADMIN_FRAME, ModuleEntry};
use bfte_shared::codec;
use bfte_tui::client::{self, MODULES_EVERY, Request, Update};
use bfte_tui::fixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Answers every request of one connection the way a node with one meta value would.
async fn serve(mut stream: UnixStream, module_reads: mpsc::UnboundedSender<Instant>) {
    let status = fixture::app(4, 10).node.status.expect("status");
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

#[tokio::test]
async fn module_tables_are_read_at_most_once_a_second() {
    let socket = std::env::temp_dir().join(format!("bfte-tui-client-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).expect("bind");
    let (reads_tx, mut reads) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, reads_tx.clone()));
        }
    });
    let (updates_tx, mut updates) = mpsc::channel(64);
    let (requests, requests_rx) = mpsc::channel(16);
    let connection = tokio::spawn(client::run(socket.clone(), updates_tx, requests_rx));
    loop {
        match updates.recv().await.expect("an update") {
            Update::Connected(_) => break,
            Update::Connecting { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    let asked = Instant::now();
    requests.send(Request::Modules).await.expect("send");
    let first = reads.recv().await.expect("a read");
    assert!(
        first - asked < MODULES_EVERY / 2,
        "the first read is not delayed"
    );
    let Some(Update::Modules(Ok(tables))) = updates.recv().await else {
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
