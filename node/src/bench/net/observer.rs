//! Watches one node's finalized chain through its admin socket: a subscription says when each
//! block becomes final there, a second connection fetches the blocks it announced.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bfte_shared::admin::{AdminEvent, AdminResponse, FrameError, read_frame};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::admin::AdminConnection;
use crate::daemon::DataDir;

/// Longest wait for an event before `poll` returns empty-handed, so callers see a stall.
const EVENT_WAIT: Duration = Duration::from_millis(100);

/// Most blocks one fetch asks for: full blocks of 1 KiB items are about 1 MiB each.
const BLOCKS_PER_POLL: u32 = 16;

/// A finalized block as the observer first saw it.
#[derive(Debug, Clone)]
pub(super) struct SeenBlock {
    pub(super) height: u64,
    /// The proposer's clock when it built the block (whole milliseconds).
    pub(super) proposed_unix_ms: u64,
    /// This machine's clock when the block was first seen final.
    pub(super) seen_unix_ms: f64,
    /// If peer0 proposed the block: from its proposal to its finalization there, as peer0
    /// measured it (milliseconds).
    pub(super) at_proposer_ms: Option<f64>,
    pub(super) seen: Instant,
    /// Author and nonce of every signed item.
    pub(super) items: Vec<(PeerId, u64)>,
    /// Entries of all items: what the benchmark counts as items finalized.
    pub(super) entries: u64,
    /// Data bytes of all entries.
    pub(super) payload_bytes: u64,
}

struct Announced {
    height: Height,
    at: Instant,
    at_unix_ms: f64,
    proposed_here_us: Option<u64>,
}

pub(super) struct Observer {
    events: BufReader<UnixStream>,
    connection: AdminConnection,
    next: Height,
    /// Heights the node announced final, when, and the latency it measured if it proposed
    /// the block; not fetched yet.
    announced: VecDeque<Announced>,
}

impl Observer {
    /// Starts watching from the node's current finalized tip.
    pub(super) fn open(dir: &DataDir) -> anyhow::Result<Observer> {
        // Subscribed first, so no block final after the status below goes unannounced.
        let events = AdminConnection::subscribe(dir, EVENT_WAIT)?;
        let mut connection = AdminConnection::open(dir)?;
        let tip = connection.status()?.finalized_height;
        Ok(Observer {
            events,
            connection,
            next: tip.next(),
            announced: VecDeque::new(),
        })
    }

    /// The blocks announced final since the last call, each with the time its announcement
    /// arrived; waits up to `EVENT_WAIT` for one.
    pub(super) fn poll(&mut self) -> anyhow::Result<Vec<SeenBlock>> {
        self.read_events()?;
        let Some(first) = self.announced.front().map(|a| a.height) else {
            return Ok(Vec::new());
        };
        if first > self.next {
            bail!(
                "the node announced height {first} final before {}",
                self.next
            );
        }
        let wanted = self.announced.len().min(BLOCKS_PER_POLL as usize) as u32;
        let blocks = self.connection.blocks(self.next, wanted)?;
        let mut seen = Vec::with_capacity(blocks.len());
        for finalized in blocks {
            let block = finalized.block;
            let height = block.header.height;
            let Some(announced) = self.announced.pop_front().filter(|a| a.height == height) else {
                bail!("the node served height {height}, not the one it announced");
            };
            self.next = height.next();
            seen.push(SeenBlock {
                height: height.0,
                proposed_unix_ms: block.header.timestamp_ms,
                seen_unix_ms: announced.at_unix_ms,
                at_proposer_ms: announced.proposed_here_us.map(|us| us as f64 / 1e3),
                seen: announced.at,
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
            });
        }
        Ok(seen)
    }

    /// The lowest height not announced yet.
    fn expected(&self) -> Height {
        self.announced
            .back()
            .map_or(self.next, |last| last.height.next())
    }

    /// Waits for the first event (up to `EVENT_WAIT`), then takes every one already here.
    fn read_events(&mut self) -> anyhow::Result<()> {
        loop {
            match self.events.fill_buf() {
                Ok([]) => bail!("the node closed its event stream"),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(());
                }
                Err(e) => return Err(e).context("reading the node's events"),
            }
            let frame: Result<AdminResponse, FrameError> = read_frame(&mut self.events);
            let (at, at_unix_ms) = (Instant::now(), unix_ms());
            match frame.context("reading the node's events")? {
                AdminResponse::Event(frame) => match frame.event {
                    AdminEvent::Finalized {
                        height,
                        proposed_here_us,
                        ..
                    } if height >= self.expected() => {
                        self.announced.push_back(Announced {
                            height,
                            at,
                            at_unix_ms,
                            proposed_here_us,
                        });
                    }
                    AdminEvent::DroppedSlow { missed } => {
                        bail!("the node dropped the observer: it read {missed} events too slowly")
                    }
                    _ => {}
                },
                other => bail!("expected an event, got {other:?}"),
            }
            if self.events.buffer().is_empty() {
                return Ok(());
            }
        }
    }
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
