//! Load threads: each holds an admin connection to one or more nodes and submits entries to
//! them in turn, one or a batch per request, either as fast as the nodes accept them (closed
//! loop) or on a fixed schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context;
use bfte_shared::admin::AdminRequest;
use bfte_shared::item::Entry;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::{ATTEST, DATA};

use super::ItemKind;
use super::admin::AdminConnection;
use crate::daemon::DataDir;

/// How long a load thread waits after the node refused entries because its outbox was full.
const FULL_PAUSE: Duration = Duration::from_millis(5);

/// When a load thread sends its next item.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pace {
    /// As soon as the node accepted the previous one.
    ClosedLoop,
    /// One item per interval, on a fixed schedule; a thread that falls behind sends at once
    /// until it has caught up, so the offered rate holds while the node keeps up.
    Every(Duration),
}

/// What one load thread submits per request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Load {
    /// Data bytes of each entry.
    pub(super) item_bytes: usize,
    pub(super) items: ItemKind,
    /// Entries per request: `Submit` (or `SubmitItem`) for 1, `SubmitMany` above.
    pub(super) batch: usize,
}

/// One accepted request: which node took it, the nonce there of the item that carries its
/// first entry, and when it was sent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Submission {
    pub(super) node: usize,
    pub(super) nonce: u64,
    pub(super) sent: Instant,
}

/// A running load thread; `stop` ends all of them.
pub(super) struct Submitter {
    handle: JoinHandle<anyhow::Result<Vec<Submission>>>,
}

impl Submitter {
    /// Starts a thread submitting `load` to `nodes` (index in the federation and data
    /// directory) in turn.
    pub(super) fn spawn(
        nodes: &[(usize, &DataDir)],
        load: Load,
        pace: Pace,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<Submitter> {
        let mut connections = nodes
            .iter()
            .map(|(node, dir)| Ok((*node, AdminConnection::open(dir)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let count = connections.len();
        anyhow::ensure!(count > 0, "a load thread needs at least one node");
        anyhow::ensure!(load.batch > 0, "a request needs at least one entry");
        let handle = thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                let mut accepted = Vec::new();
                let mut due = Instant::now();
                for turn in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (node, connection) = &mut connections[turn % count];
                    if let Pace::Every(interval) = pace {
                        let now = Instant::now();
                        if due > now {
                            thread::sleep(due - now);
                        }
                        due += interval;
                    }
                    let sent = Instant::now();
                    let request = request(*node, turn as u64, load);
                    let (nonce, full) = connection
                        .submit(&request)
                        .with_context(|| format!("submitting to peer{node}"))?;
                    if let Some(nonce) = nonce {
                        accepted.push(Submission {
                            node: *node,
                            nonce,
                            sent,
                        });
                    }
                    if full {
                        thread::sleep(FULL_PAUSE);
                    }
                }
                Ok(accepted)
            })
            .context("cannot start a load thread")?;
        Ok(Submitter { handle })
    }

    /// Waits for the thread (after `stop` was set) and returns what the node accepted.
    pub(super) fn join(self) -> anyhow::Result<Vec<Submission>> {
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))?
    }
}

/// The request of one turn: `load.batch` entries of about `load.item_bytes` of data each.
fn request(node: usize, turn: u64, load: Load) -> AdminRequest {
    if load.batch == 1 {
        let Entry { module, data } = entry(node, turn, load.item_bytes, load.items);
        return if module == DATA {
            AdminRequest::Submit { data }
        } else {
            AdminRequest::SubmitItem { module, data }
        };
    }
    let batch = load.batch as u64;
    let entries = (turn * batch..(turn + 1) * batch)
        .map(|sequence| entry(node, sequence, load.item_bytes, load.items))
        .collect();
    AdminRequest::SubmitMany { entries }
}

/// An entry of about `bytes` of data, naming the node and sequence number where they fit
/// (the node tells entries apart by author, nonce and index anyway): opaque bytes, or an
/// attestation of a statement no other entry attests.
fn entry(node: usize, sequence: u64, bytes: usize, kind: ItemKind) -> Entry {
    let mut data = format!("bench {node} {sequence} ").into_bytes();
    data.resize(bytes, b'.');
    match kind {
        ItemKind::Data => Entry { module: DATA, data },
        ItemKind::Attest => {
            let attest = AttestItem::Attest {
                subject: String::from_utf8_lossy(&data).into_owned(),
                claim: "benchmarked".into(),
                detail: None,
            };
            Entry {
                module: ATTEST,
                data: bfte_shared::codec::encode(&attest),
            }
        }
    }
}
