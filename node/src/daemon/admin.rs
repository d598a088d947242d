//! The admin socket: `<data-dir>/admin.sock`, owner-only (mode 0600 and the peer's uid
//! checked), length-prefixed CBOR frames opened by a version handshake. Requests go to the
//! driver loop through a channel; this task never touches consensus state.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bfte_shared::admin::{ADMIN_PROTOCOL_VERSION, AdminRequest, AdminResponse, MAX_ADMIN_FRAME};
use bfte_shared::codec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A request and where its answer goes.
pub type AdminCall = (AdminRequest, oneshot::Sender<AdminResponse>);

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

pub async fn serve(listener: UnixListener, data_dir: PathBuf, calls: mpsc::Sender<AdminCall>) {
    let owner = match std::fs::metadata(&data_dir) {
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
        let calls = calls.clone();
        tokio::spawn(async move {
            if let Err(error) = client(stream, calls).await {
                tracing::debug!(%error, "admin client gone");
            }
        });
    }
}

async fn client(mut stream: UnixStream, calls: mpsc::Sender<AdminCall>) -> anyhow::Result<()> {
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
        let (reply, answer) = oneshot::channel();
        calls
            .send((request, reply))
            .await
            .context("the node is stopping")?;
        let response = answer.await.context("the node is stopping")?;
        write(&mut stream, &response).await?;
    }
}

async fn read(stream: &mut UnixStream) -> anyhow::Result<AdminRequest> {
    let len = stream.read_u32().await? as usize;
    if len > MAX_ADMIN_FRAME {
        bail!("admin frame of {len} bytes is over the limit");
    }
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes).await?;
    Ok(codec::decode(&bytes, MAX_ADMIN_FRAME)?)
}

async fn write(stream: &mut UnixStream, response: &AdminResponse) -> anyhow::Result<()> {
    let bytes = codec::encode(response);
    stream.write_u32(u32::try_from(bytes.len())?).await?;
    stream.write_all(&bytes).await?;
    Ok(())
}
