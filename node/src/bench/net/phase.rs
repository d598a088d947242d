//! One measured run of one workload against a running federation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;
use bfte_shared::peer::PeerId;
use indicatif::ProgressBar;

use super::admin::AdminConnection;
use super::load::{Load, Pace, Submitter};
use super::observer::{Observer, SeenBlock};
use super::process::NodeUsage;
use super::report::NetPhaseReport;
use super::{ItemKind, NetNode, NetWorkload, TINY_ITEM_BYTES};

/// How long nodes may take to answer and connect to each other after they were started.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Load before the window opens: connections settle and the pools fill.
const WARMUP: Duration = Duration::from_secs(1);
/// Longest time without a block seen final before the run is declared stuck.
const NO_PROGRESS_LIMIT: Duration = Duration::from_secs(30);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What was seen between the window's first and last block.
pub(super) struct Window {
    /// The block that opened the window; it is not part of it.
    pub(super) opened_by: SeenBlock,
    pub(super) blocks: Vec<SeenBlock>,
    pub(super) before: Vec<NodeUsage>,
    pub(super) after: Vec<NodeUsage>,
}

/// Runs `workload` against `nodes` (peer0 first) and measures about `duration` of it.
pub fn run_phase(
    nodes: &[NetNode],
    workload: NetWorkload,
    duration: Duration,
    progress: &ProgressBar,
) -> anyhow::Result<NetPhaseReport> {
    let Some(observed) = nodes.first() else {
        bail!("a federation needs at least one node");
    };
    progress.set_message(format!("{workload}: waiting for the nodes to connect"));
    let authors = wait_until_connected(nodes)?;
    let mut observer = Observer::open(&observed.dir)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut submitters = Vec::new();
    let window = start_load(nodes, workload, &stop, &mut submitters)
        .and_then(|()| watch(&mut observer, nodes, workload, duration, progress));
    stop.store(true, Ordering::Relaxed);
    let joined: Vec<_> = submitters.into_iter().map(Submitter::join).collect();
    let window = window?;
    let mut submissions = Vec::new();
    for accepted in joined {
        submissions.extend(accepted?);
    }
    Ok(NetPhaseReport::new(
        nodes.len(),
        workload,
        &window,
        &submissions,
        &authors,
    ))
}

/// Waits until every node answers and sees all its peers connected; returns their peer ids.
fn wait_until_connected(nodes: &[NetNode]) -> anyhow::Result<Vec<PeerId>> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        loop {
            let status = AdminConnection::open(&node.dir).and_then(|mut c| c.status());
            match status {
                Ok(status) if status.peers.iter().all(|p| p.connected) => {
                    ids.push(status.peer_id);
                    break;
                }
                _ if started.elapsed() > READY_LIMIT => bail!(
                    "peer{index} is not connected to all its peers after {READY_LIMIT:?}; see its log \
                     in {}",
                    node.dir.path().join("logs").display()
                ),
                _ => thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    Ok(ids)
}

/// Starts the workload's load threads into `submitters`, so that those started before a
/// failure are still stopped and joined.
fn start_load(
    nodes: &[NetNode],
    workload: NetWorkload,
    stop: &Arc<AtomicBool>,
    submitters: &mut Vec<Submitter>,
) -> anyhow::Result<()> {
    let mut each_node = |item_bytes, threads, pace, items, batch| -> anyhow::Result<()> {
        for (index, node) in nodes.iter().enumerate() {
            for _ in 0..threads {
                let target = [(index, &node.dir)];
                let load = Load {
                    item_bytes,
                    items,
                    batch,
                };
                let submitter = Submitter::spawn(&target, load, pace, stop.clone())?;
                submitters.push(submitter);
            }
        }
        Ok(())
    };
    match workload {
        NetWorkload::NearEmpty => {
            let all: Vec<_> = nodes.iter().map(|n| &n.dir).enumerate().collect();
            let load = Load {
                item_bytes: TINY_ITEM_BYTES,
                items: ItemKind::Data,
                batch: 1,
            };
            let submitter = Submitter::spawn(&all, load, Pace::ClosedLoop, stop.clone())?;
            submitters.push(submitter);
            Ok(())
        }
        NetWorkload::Saturate {
            item_bytes,
            connections,
            items,
            batch,
        } => each_node(item_bytes, connections, Pace::ClosedLoop, items, batch),
        NetWorkload::Paced {
            item_bytes,
            items_per_second,
            batch,
        } => {
            let per_node = items_per_second / nodes.len() as f64;
            anyhow::ensure!(
                per_node.is_finite() && per_node > 0.0,
                "a paced load needs a positive rate, not {items_per_second}"
            );
            let interval = Duration::from_secs_f64(batch as f64 / per_node);
            each_node(item_bytes, 1, Pace::Every(interval), ItemKind::Data, batch)
        }
    }
}

fn usage(nodes: &[NetNode]) -> anyhow::Result<Vec<NodeUsage>> {
    nodes
        .iter()
        .map(|node| NodeUsage::read(node.pid, &node.dir))
        .collect()
}

/// Polls the observer through the warm-up and the window.
fn watch(
    observer: &mut Observer,
    nodes: &[NetNode],
    workload: NetWorkload,
    duration: Duration,
    progress: &ProgressBar,
) -> anyhow::Result<Window> {
    progress.set_message(format!("{workload}: warming up"));
    let warm_until = Instant::now() + WARMUP;
    let mut stuck = Stuck::new();
    let opened_by = loop {
        let seen = observer.poll()?;
        stuck.check(&seen)?;
        if let Some(last) = seen.into_iter().last().filter(|b| b.seen >= warm_until) {
            break last;
        }
    };
    let before = usage(nodes)?;
    let close_at = opened_by.seen + duration;
    let mut blocks: Vec<SeenBlock> = Vec::new();
    let mut items = 0usize;
    let mut redrawn = Instant::now();
    progress.set_length(duration.as_millis() as u64);
    progress.set_position(0);
    while blocks.last().is_none_or(|b| b.seen < close_at) {
        let seen = observer.poll()?;
        stuck.check(&seen)?;
        items += seen.iter().map(|b| b.entries as usize).sum::<usize>();
        blocks.extend(seen);
        if redrawn.elapsed() >= PROGRESS_EVERY {
            redrawn = Instant::now();
            let elapsed = opened_by.seen.elapsed();
            let seconds = elapsed.as_secs_f64();
            progress.set_position(elapsed.as_millis() as u64);
            progress.set_message(format!(
                "{workload}: {} blocks/s, {} items/s",
                (blocks.len() as f64 / seconds).round(),
                (items as f64 / seconds).round()
            ));
        }
    }
    let after = usage(nodes)?;
    Ok(Window {
        opened_by,
        blocks,
        before,
        after,
    })
}

/// Fails a run in which no block was seen final for too long.
struct Stuck {
    last_block: Instant,
}

impl Stuck {
    fn new() -> Stuck {
        Stuck {
            last_block: Instant::now(),
        }
    }

    fn check(&mut self, seen: &[SeenBlock]) -> anyhow::Result<()> {
        if !seen.is_empty() {
            self.last_block = Instant::now();
        } else if self.last_block.elapsed() > NO_PROGRESS_LIMIT {
            bail!(
                "no block was finalized for {NO_PROGRESS_LIMIT:?}; see the nodes' logs/ directories"
            );
        }
        Ok(())
    }
}
