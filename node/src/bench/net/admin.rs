//! The harness's side of a node's admin socket: a blocking connection per load thread. The
//! node answers one request per connection at a time, so parallel load needs parallel
//! connections.

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, AdminRequest, AdminResponse, FinalizedBlock, Status, read_frame,
    write_frame,
};
use bfte_shared::round::Height;

use crate::daemon::DataDir;

/// Longest wait for one answer: a node that takes longer is stuck, not slow.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(super) struct AdminConnection(UnixStream);

impl AdminConnection {
    /// A connection that carries only the node's events from now on (`Subscribe`); reads
    /// time out after `poll` so the caller can check its deadlines.
    pub(super) fn subscribe(
        dir: &DataDir,
        poll: Duration,
    ) -> anyhow::Result<BufReader<UnixStream>> {
        let mut connection = AdminConnection::open(dir)?;
        match connection.call(&AdminRequest::Subscribe)? {
            AdminResponse::Subscribed { .. } => {}
            other => bail!("expected a subscription, got {other:?}"),
        }
        connection.0.set_read_timeout(Some(poll))?;
        Ok(BufReader::new(connection.0))
    }

    pub(super) fn open(dir: &DataDir) -> anyhow::Result<AdminConnection> {
        let path = dir.admin_socket_path();
        let stream = UnixStream::connect(&path)
            .with_context(|| format!("no node answers on {}", path.display()))?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        let mut connection = AdminConnection(stream);
        let hello = AdminRequest::Hello {
            version: ADMIN_PROTOCOL_VERSION,
        };
        match connection.call(&hello)? {
            AdminResponse::Hello { version } if version == ADMIN_PROTOCOL_VERSION => Ok(connection),
            other => bail!(
                "{} speaks another admin protocol: {other:?}",
                path.display()
            ),
        }
    }

    fn call(&mut self, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
        write_frame(&mut self.0, request).context("sending an admin request")?;
        match read_frame(&mut self.0).context("reading an admin answer")? {
            AdminResponse::Error(message) => bail!("the node refused: {message}"),
            response => Ok(response),
        }
    }

    pub(super) fn status(&mut self) -> anyhow::Result<Status> {
        match self.call(&AdminRequest::Status)? {
            AdminResponse::Status(status) => Ok(status),
            other => bail!("expected a status, got {other:?}"),
        }
    }

    /// Submits entries (`Submit`, `SubmitItem` or `SubmitMany`) and returns, once the node
    /// has made them durable, the nonce of the item carrying the first accepted one, and
    /// whether the node refused some (its outbox is full until some of its items are final:
    /// a closed loop outruns finality, since a node answers at durability).
    pub(super) fn submit(&mut self, request: &AdminRequest) -> anyhow::Result<(Option<u64>, bool)> {
        match self.call(request)? {
            AdminResponse::Submitted(receipt) => Ok((Some(receipt.nonce), false)),
            AdminResponse::SubmittedMany(receipts) => {
                let first = receipts.iter().flatten().next().map(|r| r.nonce);
                Ok((first, receipts.iter().any(Option::is_none)))
            }
            other => bail!("expected a submit receipt, got {other:?}"),
        }
    }

    pub(super) fn blocks(
        &mut self,
        from: Height,
        limit: u32,
    ) -> anyhow::Result<Vec<FinalizedBlock>> {
        match self.call(&AdminRequest::Blocks { from, limit })? {
            AdminResponse::Blocks(blocks) => Ok(blocks),
            other => bail!("expected blocks, got {other:?}"),
        }
    }
}
