//! The admin sockets: `<data-dir>/admin.sock` (every request) and `admin-ro.sock` beside it
//! (reads only), both owner-only (mode 0600 and the peer's uid checked), length-prefixed CBOR
//! frames opened by a version handshake. Requests go to the driver loop through a channel; a
//! subscription reads the event hub directly. These tasks never touch consensus state.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, ADMIN_SOCKET, AdminEvent, AdminRequest, AdminResponse, EventFrame,
    MAX_ADMIN_FRAME,
};
use bfte_shared::codec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::events::EventHub;

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;

/// A request and where its answer goes.
pub type AdminCall = (AdminRequest, oneshot::Sender<AdminResponse>);

/// A subscriber that stopped reading gets this long to take its last frame.
const LAST_FRAME_TIMEOUT: Duration = Duration::from_secs(2);

/// What a socket lets its clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    ReadOnly,
}

/// Binds the socket (refusing to steal one a live node still serves) and accepts clients.
pub async fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            bail!(
                "a node is already running on this data directory (it answers on {})",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    Ok(listener)
}

/// What every client task of one socket shares.
#[derive(Debug, Clone)]
pub struct Server {
    pub data_dir: PathBuf,
    pub calls: mpsc::Sender<AdminCall>,
    pub events: EventHub,
    pub access: Access,
}

pub async fn serve(listener: UnixListener, server: Server) {
    let owner = match std::fs::metadata(&server.data_dir) {
        Ok(meta) => meta.uid(),
        Err(error) => {
            tracing::error!(%error, "cannot read the data directory's owner; admin socket closed");
            return;
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "admin accept failed");
                continue;
            }
        };
        let uid = stream.peer_cred().map(|cred| cred.uid());
        if uid.as_ref().ok() != Some(&owner) {
            tracing::warn!(?uid, owner, "refused an admin client of another user");
            continue;
        }
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(error) = client(stream, &server).await {
                tracing::debug!(%error, "admin client gone");
            }
        });
    }
}

async fn client(mut stream: UnixStream, server: &Server) -> anyhow::Result<()> {
    match read(&mut stream).await? {
        AdminRequest::Hello { version } if version == ADMIN_PROTOCOL_VERSION => {
            let hello = AdminResponse::Hello {
                version: ADMIN_PROTOCOL_VERSION,
            };
            write(&mut stream, &hello).await?;
        }
        other => {
            let message = format!(
                "this node speaks admin protocol {ADMIN_PROTOCOL_VERSION}; start with Hello (got {other:?})"
            );
            write(&mut stream, &AdminResponse::Error(message)).await?;
            return Ok(());
        }
    }
    loop {
        let request = read(&mut stream).await?;
        if server.access == Access::ReadOnly && request.is_write() {
            let refusal = AdminResponse::Error(format!(
                "this is the read-only admin socket: it refuses requests that change anything; \
                 use {}",
                server.data_dir.join(ADMIN_SOCKET).display()
            ));
            write(&mut stream, &refusal).await?;
            continue;
        }
        if request == AdminRequest::Subscribe {
            return stream_events(stream, server).await;
        }
        let response = ask(&server.calls, request).await?;
        write(&mut stream, &response).await?;
    }
}

async fn ask(
    calls: &mpsc::Sender<AdminCall>,
    request: AdminRequest,
) -> anyhow::Result<AdminResponse> {
    let (reply, answer) = oneshot::channel();
    calls
        .send((request, reply))
        .await
        .context("the node is stopping")?;
    answer.await.context("the node is stopping")
}

/// Subscribes before taking the status (so nothing in between is missed), then forwards events
/// until the client leaves or falls behind.
async fn stream_events(mut stream: UnixStream, server: &Server) -> anyhow::Result<()> {
    let mut events = server.events.subscribe();
    let status = match ask(&server.calls, AdminRequest::Status).await? {
        AdminResponse::Status(status) => status,
        other => bail!("the driver answered a status request with {other:?}"),
    };
    write(&mut stream, &AdminResponse::Subscribed { status }).await?;
    let (mut input, mut output) = stream.split();
    let mut ignored = [0u8; 64];
    loop {
        tokio::select! {
            // A subscriber sends nothing more; reading notices at once when it hangs up.
            read = input.read(&mut ignored) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            event = events.recv() => {
                let (batch, after) = take_queued(event, &mut events)?;
                output.write_all(&batch).await?;
                match after {
                    After::More => {}
                    After::Closed => return Ok(()),
                    After::Lagged(missed) => {
                        tracing::info!(missed, "dropped an admin subscriber that read too slowly");
                        let last = AdminResponse::Event(EventFrame {
                            at_ms: super::clock::wall_ms(),
                            event: AdminEvent::DroppedSlow { missed },
                        });
                        let _ = tokio::time::timeout(LAST_FRAME_TIMEOUT, write(&mut output, &last)).await;
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// What follows the events a subscriber was just sent.
#[derive(Debug)]
enum After {
    More,
    /// It fell this many events behind.
    Lagged(u64),
    /// The node is stopping.
    Closed,
}

/// The frames of `first` and of every event already queued behind it, for one write: the
/// driver publishes a batch's events together, and one write per batch wakes the client once
/// instead of once per event.
fn take_queued(
    first: Result<EventFrame, RecvError>,
    events: &mut broadcast::Receiver<EventFrame>,
) -> anyhow::Result<(Vec<u8>, After)> {
    let mut batch = Vec::new();
    let mut next = first.map_err(|error| match error {
        RecvError::Lagged(missed) => TryRecvError::Lagged(missed),
        RecvError::Closed => TryRecvError::Closed,
    });
    loop {
        match next {
            Ok(frame) => batch.extend(frame_bytes(&AdminResponse::Event(frame))?),
            Err(TryRecvError::Lagged(missed)) => return Ok((batch, After::Lagged(missed))),
            Err(TryRecvError::Empty) => return Ok((batch, After::More)),
            Err(TryRecvError::Closed) => return Ok((batch, After::Closed)),
        }
        next = events.try_recv();
    }
}

async fn read(stream: &mut (impl AsyncRead + Unpin)) -> anyhow::Result<AdminRequest> {
    let len = stream.read_u32().await? as usize;
    if len > MAX_ADMIN_FRAME {
        bail!("admin frame of {len} bytes is over the limit");
    }
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes).await?;
    Ok(codec::decode(&bytes, MAX_ADMIN_FRAME)?)
}

async fn write(
    stream: &mut (impl AsyncWrite + Unpin),
    response: &AdminResponse,
) -> anyhow::Result<()> {
    stream.write_all(&frame_bytes(response)?).await?;
    Ok(())
}

/// One frame, length prefix and CBOR together, so it leaves in one write.
fn frame_bytes(response: &AdminResponse) -> anyhow::Result<Vec<u8>> {
    let bytes = codec::encode(response);
    let mut frame = Vec::with_capacity(4 + bytes.len());
    frame.extend_from_slice(&u32::try_from(bytes.len())?.to_be_bytes());
    frame.extend_from_slice(&bytes);
    Ok(frame)
}
