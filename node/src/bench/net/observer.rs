//! Watches one node's finalized chain through its admin socket, polling `Blocks` tightly, and
//! notes when each block was first seen there.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::admin::AdminConnection;
use crate::daemon::DataDir;

/// Pause between polls that found nothing new. It bounds the delay the polling adds to every
/// observed latency, at the price of one admin request per pause on the observed node.
const POLL_PAUSE: Duration = Duration::from_micros(250);

/// Most blocks one poll asks for: full blocks of 1 KiB items are about 1 MiB each.
const BLOCKS_PER_POLL: u32 = 16;

/// A finalized block as the observer first saw it.
#[derive(Debug, Clone)]
pub(super) struct SeenBlock {
    pub(super) height: u64,
    /// The proposer's clock when it built the block (whole milliseconds).
    pub(super) proposed_unix_ms: u64,
    /// This machine's clock when the block was first seen final.
    pub(super) seen_unix_ms: f64,
    pub(super) seen: Instant,
    /// Author and nonce of every signed item.
    pub(super) items: Vec<(PeerId, u64)>,
    /// Entries of all items: what the benchmark counts as items finalized.
    pub(super) entries: u64,
    /// Data bytes of all entries.
    pub(super) payload_bytes: u64,
}

pub(super) struct Observer {
    connection: AdminConnection,
    next: Height,
}

impl Observer {
    /// Starts watching from the node's current finalized tip.
    pub(super) fn open(dir: &DataDir) -> anyhow::Result<Observer> {
        let mut connection = AdminConnection::open(dir)?;
        let tip = connection.status()?.finalized_height;
        Ok(Observer {
            connection,
            next: tip.next(),
        })
    }

    /// The blocks finalized since the last call; waits `POLL_PAUSE` first if there were none
    /// last time, so an idle chain is not polled in a busy loop.
    pub(super) fn poll(&mut self) -> anyhow::Result<Vec<SeenBlock>> {
        let blocks = self.connection.blocks(self.next, BLOCKS_PER_POLL)?;
        let seen = Instant::now();
        let seen_unix_ms = unix_ms();
        if blocks.is_empty() {
            thread::sleep(POLL_PAUSE);
        }
        let seen: Vec<SeenBlock> = blocks
            .into_iter()
            .map(|finalized| {
                let block = finalized.block;
                SeenBlock {
                    height: block.header.height.0,
                    proposed_unix_ms: block.header.timestamp_ms,
                    seen_unix_ms,
                    seen,
                    items: block
                        .payload
                        .items
                        .iter()
                        .map(|item| (item.author, item.nonce))
                        .collect(),
                    entries: block.payload.entry_count() as u64,
                    payload_bytes: block
                        .payload
                        .items
                        .iter()
                        .flat_map(|i| &i.entries)
                        .map(|e| e.data.len() as u64)
                        .sum(),
                }
            })
            .collect();
        if let Some(last) = seen.last() {
            self.next = Height(last.height).next();
        }
        Ok(seen)
    }
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
