//! The log's view of finality: one `info` line per interval with the blocks finalized since the
//! last, each block itself at `debug`. A line per block would be hundreds a second, gigabytes
//! a day in the rotated log files, for nothing an operator reads.

use bfte_consensus::Finalized;

/// Shortest time between two `info` lines about finalized blocks.
const INTERVAL_MS: u64 = 10_000;

#[derive(Debug, Default)]
pub struct FinalityLog {
    /// Monotonic time of the last line; `None` before the first block.
    logged_ms: Option<u64>,
    blocks: u64,
    entries: u64,
}

impl FinalityLog {
    /// Notes finalized batches at monotonic `now_ms`; logs when a line is due.
    pub fn finalized(&mut self, now_ms: u64, batches: &[Finalized]) {
        for block in batches.iter().flat_map(|batch| &batch.blocks) {
            let entries = block.payload.entry_count() as u64;
            tracing::debug!(height = %block.header.height, round = %block.header.round, items = block.payload.items.len(), entries, "finalized");
            self.blocks += 1;
            self.entries += entries;
        }
        let Some(last) = batches.iter().rev().find_map(|batch| batch.blocks.last()) else {
            return;
        };
        // The first block is logged at once: it says the node is finalizing at all.
        if self
            .logged_ms
            .is_some_and(|at| now_ms.saturating_sub(at) < INTERVAL_MS)
        {
            return;
        }
        tracing::info!(height = %last.header.height, round = %last.header.round, blocks = self.blocks, entries = self.entries, "finalized");
        self.logged_ms = Some(now_ms);
        self.blocks = 0;
        self.entries = 0;
    }
}
