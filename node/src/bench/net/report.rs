//! What one phase measured, computed from the observed window and the accepted submissions.

use std::collections::HashMap;
use std::time::Instant;

use bfte_shared::peer::PeerId;
use serde::Serialize;

use super::NetWorkload;
use super::load::Submission;
use super::phase::Window;
use super::process::NodeUsage;
use super::stats::{Percentiles, millis};
use crate::store::DiskUsage;

/// The figures of one phase. Blocks and items count once peer0 reports them final.
#[derive(Debug, Clone, Serialize)]
pub struct NetPhaseReport {
    pub peers: usize,
    pub workload: NetWorkload,
    /// Wall time from the block that opened the window to the last block in it.
    pub seconds: f64,
    pub blocks: u64,
    pub items: u64,
    /// Item data finalized (without the items' envelopes).
    pub item_data_bytes: u64,
    pub blocks_per_second: f64,
    pub items_per_second: f64,
    /// Items the nodes accepted per second during the window.
    pub accepted_items_per_second: f64,
    /// From a proposal to its finalization at its proposer, as the node measured it: the
    /// latency commonware's peer reports. Peer0's own blocks, a quarter of them with 4 peers.
    pub proposal_to_final: Option<Percentiles>,
    /// The proposer's block timestamp (whole milliseconds) to the block seen final by a client
    /// of peer0's admin socket: what an application watching a node would see.
    pub proposal_to_seen: Option<Percentiles>,
    /// Just before `Submit` is sent to the block holding the item seen final at peer0.
    pub submit_to_final: Option<Percentiles>,
    /// Highest finalized height at the end of the window.
    pub height: u64,
    /// Each node at the end of the window, peer0 first.
    pub nodes: Vec<NodeUsage>,
    /// CPU seconds each node spent during the window.
    pub node_cpu_seconds: Vec<f64>,
    /// Peer0's database once the federation stopped, if it could be read.
    pub disk: Option<PhaseDisk>,
}

/// A stopped node's database, table by table, and the finalized height it holds.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseDisk {
    pub height: u64,
    pub usage: DiskUsage,
}

impl NetPhaseReport {
    pub(super) fn new(
        peers: usize,
        workload: NetWorkload,
        window: &Window,
        submissions: &[Submission],
        authors: &[PeerId],
    ) -> NetPhaseReport {
        let opened = window.opened_by.seen;
        let closed = window.blocks.last().map_or(opened, |b| b.seen);
        let seconds = closed.duration_since(opened).as_secs_f64();
        let per_second = |count: u64| {
            if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            }
        };
        let blocks = window.blocks.len() as u64;
        let items = window.blocks.iter().map(|b| b.entries).sum();
        let accepted = submissions
            .iter()
            .filter(|s| s.sent > opened && s.sent <= closed)
            .count() as u64;
        let proposal_to_final = window
            .blocks
            .iter()
            .filter_map(|b| b.at_proposer_ms)
            .collect();
        let proposal_to_seen = window
            .blocks
            .iter()
            .map(|b| b.seen_unix_ms - b.proposed_unix_ms as f64)
            .collect();
        NetPhaseReport {
            peers,
            workload,
            seconds,
            blocks,
            items,
            item_data_bytes: window.blocks.iter().map(|b| b.payload_bytes).sum(),
            blocks_per_second: per_second(blocks),
            items_per_second: per_second(items),
            accepted_items_per_second: per_second(accepted),
            proposal_to_final: Percentiles::of(proposal_to_final),
            proposal_to_seen: Percentiles::of(proposal_to_seen),
            submit_to_final: Percentiles::of(submit_to_final(window, submissions, authors)),
            height: window
                .blocks
                .last()
                .map_or(window.opened_by.height, |b| b.height),
            nodes: window.after.clone(),
            node_cpu_seconds: window
                .before
                .iter()
                .zip(&window.after)
                .map(|(before, after)| after.cpu_seconds - before.cpu_seconds)
                .collect(),
            disk: None,
        }
    }

    pub fn items_per_block(&self) -> f64 {
        self.items as f64 / self.blocks.max(1) as f64
    }

    /// The database file's size over the blocks it holds, averaged over the nodes: everything
    /// the node keeps per block (the block, its certificate, the audit trail of received
    /// votes, redb's own overhead and free pages).
    pub fn db_bytes_per_block(&self) -> f64 {
        let mean = self.nodes.iter().map(|n| n.db_bytes as f64).sum::<f64>()
            / self.nodes.len().max(1) as f64;
        mean / self.height.max(1) as f64
    }

    pub fn max_rss_kib(&self) -> u64 {
        self.nodes.iter().map(|n| n.rss_kib).max().unwrap_or(0)
    }

    /// Mean CPU milliseconds one node spent per finalized block.
    pub fn node_cpu_ms_per_block(&self) -> f64 {
        let mean = self.node_cpu_seconds.iter().sum::<f64>() / self.peers.max(1) as f64;
        mean * 1e3 / self.blocks.max(1) as f64
    }
}

/// Latency of every request the harness submitted and saw finalized in the window (a
/// request of many entries counts once, from its item that carries its first entry).
fn submit_to_final(window: &Window, submissions: &[Submission], authors: &[PeerId]) -> Vec<f64> {
    // Requests that the node signed into one item share its nonce: one latency each.
    let mut sent: HashMap<(PeerId, u64), Vec<Instant>> = HashMap::new();
    for s in submissions {
        if let Some(author) = authors.get(s.node) {
            sent.entry((*author, s.nonce)).or_default().push(s.sent);
        }
    }
    window
        .blocks
        .iter()
        .flat_map(|block| {
            block
                .items
                .iter()
                .filter_map(|key| sent.get(key))
                .flatten()
                .map(|sent| millis(block.seen.duration_since(*sent)))
        })
        .collect()
}
