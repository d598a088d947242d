//! The consensus core alone, in process: n cores with real ed25519 signatures, wired by an
//! in-memory FIFO bus that delivers every message at once. Every message is encoded by its
//! sender and decoded by each receiver, so codec cost counts.
//!
//! What this measures is the CPU cost of consensus (signing, verifying, hashing, encoding,
//! decoding, the state machine and the driver step the node runs it under) for all n peers on
//! one thread. Left out on purpose: network latency, disk writes and module state (the step's
//! store keeps nothing and its ledger applies nothing) and catch-up (nobody falls behind on a
//! lossless instant bus). Virtual time stands still while messages are in flight, so no
//! timeout fires on the happy path; it only moves when the bus is empty and a timer is pending.

use std::fmt;
use std::time::{Duration, Instant};

use bfte_shared::codec::DecodeError;
use bfte_shared::federation::InvalidPeerSet;

use super::cluster::Cluster;

/// What the peers are asked to agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One small item in flight at a time: a new one is submitted as soon as the previous one
    /// is final at every peer. Every block carries one item, so the rate is that of blocks
    /// with next to nothing in them, one after another.
    OneItem,
    /// Every peer keeps enough items of `item_bytes` pending that each block is filled to
    /// `max_block_items` (the consensus parameter of the run).
    Saturate {
        item_bytes: usize,
        max_block_items: u32,
    },
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::OneItem => write!(f, "1 item/block"),
            Workload::Saturate {
                item_bytes,
                max_block_items,
            } => write!(f, "{max_block_items} x {item_bytes} B"),
        }
    }
}

/// Why a benchmark could not run or had to stop. All but the first two mean the core is broken.
#[derive(Debug, thiserror::Error)]
pub enum CoreBenchError {
    #[error("cannot build the federation: {0}")]
    PeerSet(#[from] InvalidPeerSet),
    #[error("peer {peer}'s driver step failed")]
    Step { peer: usize, source: anyhow::Error },
    #[error("peer {peer} could not decode a message another core encoded: {source}")]
    Decode { peer: usize, source: DecodeError },
    #[error("peer {peer} finalized a different block at height {height} than another peer")]
    Disagreement { peer: usize, height: u64 },
    #[error("peer {peer} finalized height {height} right after height {previous}")]
    Gap {
        peer: usize,
        height: u64,
        previous: u64,
    },
    #[error("peer {peer} raised evidence, but every peer is correct")]
    Evidence { peer: usize },
    #[error(
        "the federation stalled: no message in flight, no timer set, {outstanding} items not final"
    )]
    Stalled { outstanding: u64 },
    #[error("no block became final for {limit:?} after height {height}")]
    NoProgress { height: u64, limit: Duration },
}

/// What one run measured. Blocks and items count once they are final at every peer.
#[derive(Debug, Clone)]
pub struct CoreBenchReport {
    pub peers: usize,
    pub workload: Workload,
    pub wall: Duration,
    pub blocks: u64,
    pub items: u64,
    /// Messages delivered (one per receiver) and their encoded bytes.
    pub messages: u64,
    pub message_bytes: u64,
    /// CPU time of the peer that worked hardest. All peers share one thread here; on their
    /// own machines each peer would spend about this much, so it bounds what CPU allows.
    pub busiest_peer: Duration,
    /// How often virtual time had to move to fire a timer: 0 on the happy path.
    pub timeouts: u64,
}

impl CoreBenchReport {
    pub fn blocks_per_second(&self) -> f64 {
        self.blocks as f64 / self.wall.as_secs_f64()
    }

    pub fn items_per_second(&self) -> f64 {
        self.items as f64 / self.wall.as_secs_f64()
    }

    /// Mean wall time per finalized block, if any block was finalized.
    pub fn wall_per_block(&self) -> Option<Duration> {
        per_block(self.wall, self.blocks)
    }

    /// Mean CPU time of the busiest peer per finalized block.
    pub fn busiest_peer_per_block(&self) -> Option<Duration> {
        per_block(self.busiest_peer, self.blocks)
    }
}

fn per_block(total: Duration, blocks: u64) -> Option<Duration> {
    let blocks = u32::try_from(blocks).ok().filter(|&b| b > 0)?;
    Some(total / blocks)
}

/// Blocks finalized before measuring starts: the first ones are proposed while the pools are
/// still filling, so they are smaller than the steady state's.
const WARMUP_BLOCKS: u64 = 3;

/// Runs `peers` cores under `workload`, measuring for about `duration` of wall time.
///
/// The window runs from the moment one block is final at every peer to the moment the first
/// block after `duration` is, so it holds whole blocks only and the rates are not skewed by
/// a block cut in half at either end.
pub fn run_core_bench(
    peers: usize,
    workload: Workload,
    duration: Duration,
) -> Result<CoreBenchReport, CoreBenchError> {
    let mut cluster = Cluster::start(peers, workload)?;
    cluster.top_up()?;
    while cluster.counters().blocks < WARMUP_BLOCKS {
        cluster.step_until_final()?;
    }
    let before = cluster.counters();
    let started = Instant::now();
    while started.elapsed() < duration {
        cluster.step_until_final()?;
    }
    let wall = started.elapsed();
    let after = cluster.counters();
    let busiest_peer = before
        .busy
        .iter()
        .zip(&after.busy)
        .map(|(before, after)| after.saturating_sub(*before))
        .max()
        .unwrap_or_default();
    Ok(CoreBenchReport {
        peers,
        workload,
        wall,
        blocks: after.blocks - before.blocks,
        items: after.items - before.items,
        messages: after.messages - before.messages,
        message_bytes: after.message_bytes - before.message_bytes,
        busiest_peer,
        timeouts: after.timeouts - before.timeouts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_peers_finalize_under_both_workloads() {
        let short = Duration::from_millis(100);
        let one = run_core_bench(4, Workload::OneItem, short).expect("one-item run");
        assert!(one.blocks > 0 && one.items == one.blocks, "{one:?}");
        assert_eq!(one.timeouts, 0, "{one:?}");
        let workload = Workload::Saturate {
            item_bytes: 100,
            max_block_items: 50,
        };
        let full = run_core_bench(4, workload, short).expect("saturated run");
        assert!(full.blocks > 0, "{full:?}");
        // Past the warm-up, the pools keep every block full.
        assert_eq!(full.items, full.blocks * 50, "{full:?}");
    }
}
