//! The connection task: the only code that talks to the node. It keeps two connections to the
//! admin socket, one subscribed to events and one for requests, reports everything to the app
//! as [`Update`]s, and reconnects (with a snapshot) whenever the node goes away and comes back.
//! The status is read again every [`STATUS_EVERY`]: what no event carries (a replica's
//! progress, the replicas a node serves) changes too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, AdminEvent, AdminRequest, AdminResponse, BlockDetail, MAX_ADMIN_FRAME,
    ModuleEntry, PeerInfo, Status,
};
use bfte_shared::codec;
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::round::Height;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::state::{GovernanceData, ModuleTables, RawTables, Snapshot, TABLES};

/// Finalized blocks loaded at connect.
pub const LOADED_BLOCKS: u64 = 1_000;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Module tables are read whole, so they are read at most this often however fast blocks
/// finalize; a request inside the interval is served when it ends.
pub const MODULES_EVERY: Duration = Duration::from_secs(1);
/// How often the status is read again. A replica sends no events, so this is how its console
/// sees it catch up.
pub const STATUS_EVERY: Duration = Duration::from_secs(1);

/// What the connection task tells the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Connecting {
        attempt: u32,
        error: Option<String>,
    },
    Connected(Box<Snapshot>),
    Event(bfte_shared::admin::EventFrame),
    /// The status, read again.
    Status(Box<Status>),
    Peers(Vec<PeerInfo>),
    Block(Box<BlockDetail>),
    /// What applying the block did; `None` when the ledger has not applied it yet.
    Outcome(Height, Option<Box<BlockOutcome>>),
    /// No block is final at that height.
    NoBlock(Height),
    /// The module tables, or why the node would not give them.
    Modules(Result<Box<ModuleTables>, String>),
    /// Proposals, join requests and the epoch, or why the node would not give them.
    Governance(Result<Box<GovernanceData>, String>),
    /// The answer to a write: the nonce of the item it put into consensus, `None` for a write
    /// done at once (`Reject`), or the node's refusal.
    Written {
        request: Box<AdminRequest>,
        answer: Result<Option<u64>, String>,
    },
}

/// What the app asks of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Peers,
    Block(Height),
    /// Every table of [`TABLES`], at most once per [`MODULES_EVERY`].
    Modules,
    /// Proposals, join requests and the epoch in force.
    Governance,
    /// A request that changes the node: the command line's, a confirmed vote, approval or
    /// rejection.
    Write(AdminRequest),
}

/// Runs until the app goes away (either channel closes).
pub async fn run(
    socket: PathBuf,
    updates: mpsc::Sender<Update>,
    mut requests: mpsc::Receiver<Request>,
) {
    let mut attempt = 0u32;
    let mut error = None;
    let mut retry = RETRY_MIN;
    loop {
        attempt += 1;
        let connecting = Update::Connecting {
            attempt,
            error: error.take(),
        };
        if updates.send(connecting).await.is_err() {
            return;
        }
        match session(&socket, &updates, &mut requests).await {
            Ok(()) => return,
            Err(failure) => {
                if failure.was_connected {
                    attempt = 0;
                    retry = RETRY_MIN;
                }
                error = Some(format!("{:#}", failure.error));
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

struct Failure {
    error: anyhow::Error,
    was_connected: bool,
}

/// One life of the connection. `Ok` means the app is gone; `Err` the node is (or never was).
async fn session(
    socket: &Path,
    updates: &mpsc::Sender<Update>,
    requests: &mut mpsc::Receiver<Request>,
) -> Result<(), Failure> {
    let failed = |error| Failure {
        error,
        was_connected: false,
    };
    let mut stream = Connection::open(socket).await.map_err(failed)?;
    let status = match stream
        .call(&AdminRequest::Subscribe)
        .await
        .map_err(failed)?
    {
        AdminResponse::Subscribed { status } => status,
        other => return Err(failed(anyhow::anyhow!("unexpected answer {other:?}"))),
    };
    let mut calls = Connection::open(socket).await.map_err(failed)?;
    // A replica holds no consensus connections and refuses to list them.
    let peers = if status.replication.is_some() {
        Vec::new()
    } else {
        calls.peers().await.map_err(failed)?
    };
    let from = Height(
        status
            .finalized_height
            .0
            .saturating_sub(LOADED_BLOCKS - 1)
            .max(1),
    );
    let blocks = match calls
        .call(&AdminRequest::Blocks {
            from,
            limit: LOADED_BLOCKS as u32,
        })
        .await
        .map_err(failed)?
    {
        AdminResponse::Blocks(blocks) => blocks,
        other => return Err(failed(anyhow::anyhow!("unexpected answer {other:?}"))),
    };
    let snapshot = Snapshot {
        status,
        peers,
        blocks,
    };
    if updates
        .send(Update::Connected(Box::new(snapshot)))
        .await
        .is_err()
    {
        return Ok(());
    }
    let lost = |error| Failure {
        error,
        was_connected: true,
    };
    // Reading a frame is not cancel-safe, so a task of its own reads the stream and the loop
    // below selects on a channel instead.
    let (frames_tx, mut frames) = mpsc::channel(256);
    let mut modules_due: Option<Instant> = None;
    let mut modules_read: Option<Instant> = None;
    let mut status_due = tokio::time::interval_at(Instant::now() + STATUS_EVERY, STATUS_EVERY);
    // After a slow answer, the next read waits its full interval instead of bursting.
    status_due.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let _reader = AbortOnDrop(tokio::spawn(async move {
        loop {
            let frame = stream.read().await;
            let end = frame.is_err();
            if frames_tx.send(frame).await.is_err() || end {
                return;
            }
        }
    }));
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Some(frame) = frame else {
                    return Err(lost(anyhow::anyhow!("the event stream ended")));
                };
                let frame = frame.map_err(lost)?;
                let AdminResponse::Event(frame) = frame else {
                    return Err(lost(anyhow::anyhow!("unexpected frame {frame:?}")));
                };
                if let AdminEvent::DroppedSlow { missed } = frame.event {
                    return Err(lost(anyhow::anyhow!("the node dropped the console for reading too slowly ({missed} events behind)")));
                }
                if updates.send(Update::Event(frame)).await.is_err() {
                    return Ok(());
                }
            }
            request = requests.recv() => {
                let Some(request) = request else { return Ok(()) };
                let answers = match request {
                    Request::Peers => vec![Update::Peers(calls.peers().await.map_err(lost)?)],
                    Request::Block(height) => calls.block(height).await.map_err(lost)?,
                    Request::Governance => vec![Update::Governance(calls.governance().await.map_err(lost)?)],
                    Request::Write(request) => {
                        let answer = calls.write(&request).await.map_err(lost)?;
                        vec![Update::Written { request: Box::new(request), answer }]
                    }
                    Request::Modules => {
                        let earliest = modules_read.map(|at| at + MODULES_EVERY);
                        modules_due = Some(earliest.map_or(Instant::now(), |at| at.max(Instant::now())));
                        Vec::new()
                    }
                };
                for update in answers {
                    if updates.send(update).await.is_err() {
                        return Ok(());
                    }
                }
            }
            _ = status_due.tick() => {
                let status = calls.status().await.map_err(lost)?;
                if updates.send(Update::Status(Box::new(status))).await.is_err() {
                    return Ok(());
                }
            }
            () = sleep_until(modules_due), if modules_due.is_some() => {
                modules_due = None;
                modules_read = Some(Instant::now());
                let tables = calls.modules().await.map_err(lost)?;
                if updates.send(Update::Modules(tables)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}

/// Stops a task when the session that spawned it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One admin connection after the handshake.
struct Connection(UnixStream);

impl Connection {
    async fn open(socket: &Path) -> anyhow::Result<Connection> {
        let stream = UnixStream::connect(socket)
            .await
            .with_context(|| format!("no node answers on {}", socket.display()))?;
        let mut connection = Connection(stream);
        let hello = AdminRequest::Hello {
            version: ADMIN_PROTOCOL_VERSION,
        };
        match connection.call(&hello).await? {
            AdminResponse::Hello { version } if version == ADMIN_PROTOCOL_VERSION => Ok(connection),
            other => {
                bail!("the node speaks another admin protocol ({other:?}); use a matching bfte")
            }
        }
    }

    async fn call(&mut self, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
        match self.exchange(request).await? {
            AdminResponse::Error(message) => bail!("the node refused: {message}"),
            response => Ok(response),
        }
    }

    /// One request and its answer, a refusal included.
    async fn exchange(&mut self, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
        let bytes = codec::encode(request);
        self.0.write_u32(u32::try_from(bytes.len())?).await?;
        self.0.write_all(&bytes).await?;
        self.read().await
    }

    /// Every module table the console shows, decoded. A refusal (the node could not read its
    /// state) is the screen's to show; only a broken connection is an error here.
    async fn modules(&mut self) -> anyhow::Result<Result<Box<ModuleTables>, String>> {
        let mut tables: Vec<Vec<ModuleEntry>> = Vec::with_capacity(TABLES.len());
        for (module, table) in TABLES {
            let request = AdminRequest::ModuleEntries {
                module,
                table: table.to_string(),
            };
            match self.exchange(&request).await? {
                AdminResponse::ModuleEntries(entries) => tables.push(entries),
                AdminResponse::Error(message) => return Ok(Err(message)),
                other => bail!("unexpected answer {other:?}"),
            }
        }
        let [
            meta_values,
            meta_proposals,
            statements,
            proofs,
            epochs,
            ctrl_proposals,
        ] = <[Vec<ModuleEntry>; TABLES.len()]>::try_from(tables)
            .map_err(|_| anyhow::anyhow!("one answer per module table"))?;
        let raw = RawTables {
            meta_values,
            meta_proposals,
            statements,
            proofs,
            epochs,
            ctrl_proposals,
        };
        Ok(Ok(Box::new(ModuleTables::decode(&raw))))
    }

    /// Proposals, join requests and the epoch in force. A refusal is the screens' to show; only
    /// a broken connection is an error here.
    async fn governance(&mut self) -> anyhow::Result<Result<Box<GovernanceData>, String>> {
        let answers = (
            self.exchange(&AdminRequest::Proposals).await?,
            self.exchange(&AdminRequest::Joins).await?,
            self.exchange(&AdminRequest::Epoch).await?,
        );
        match answers {
            (
                AdminResponse::Proposals(proposals),
                AdminResponse::Joins(joins),
                AdminResponse::Epoch(epoch),
            ) => Ok(Ok(Box::new(GovernanceData {
                proposals,
                joins,
                epoch,
            }))),
            (AdminResponse::Error(message), _, _)
            | (_, AdminResponse::Error(message), _)
            | (_, _, AdminResponse::Error(message)) => Ok(Err(message)),
            other => bail!("unexpected answers {other:?}"),
        }
    }

    /// A write: its nonce (`None` for one done at once), or the node's refusal (a read-only
    /// socket refuses every write).
    async fn write(
        &mut self,
        request: &AdminRequest,
    ) -> anyhow::Result<Result<Option<u64>, String>> {
        match self.exchange(request).await? {
            AdminResponse::Submitted(receipt) => Ok(Ok(Some(receipt.nonce))),
            AdminResponse::Done => Ok(Ok(None)),
            AdminResponse::Error(message) => Ok(Err(format!("the node refused: {message}"))),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    async fn status(&mut self) -> anyhow::Result<Status> {
        match self.call(&AdminRequest::Status).await? {
            AdminResponse::Status(status) => Ok(status),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    async fn peers(&mut self) -> anyhow::Result<Vec<PeerInfo>> {
        match self.call(&AdminRequest::Peers).await? {
            AdminResponse::Peers(peers) => Ok(peers),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    /// A block and what applying it did.
    async fn block(&mut self, height: Height) -> anyhow::Result<Vec<Update>> {
        let detail = match self.call(&AdminRequest::Block { height }).await? {
            AdminResponse::Block(Some(detail)) => detail,
            AdminResponse::Block(None) => return Ok(vec![Update::NoBlock(height)]),
            other => bail!("unexpected answer {other:?}"),
        };
        let outcome = match self.call(&AdminRequest::Outcome { height }).await? {
            AdminResponse::Outcome(outcome) => outcome.map(Box::new),
            other => bail!("unexpected answer {other:?}"),
        };
        Ok(vec![
            Update::Block(Box::new(detail)),
            Update::Outcome(height, outcome),
        ])
    }

    async fn read(&mut self) -> anyhow::Result<AdminResponse> {
        let len = self
            .0
            .read_u32()
            .await
            .context("the node closed the connection")? as usize;
        if len > MAX_ADMIN_FRAME {
            bail!("admin frame of {len} bytes is over the limit");
        }
        let mut bytes = vec![0u8; len];
        self.0.read_exact(&mut bytes).await?;
        Ok(codec::decode(&bytes, MAX_ADMIN_FRAME)?)
    }
}
