//! How long finality has kept this node waiting: the figure behind `bfte status`'s stall exit
//! code and the console's alert. Waiting starts when work appears (an item pending, or rounds
//! running above the finalized tip's) and starts over at each finalized block.

/// When the node last finalized a block or had nothing to wait for, on the monotonic clock.
#[derive(Debug, Default)]
pub struct FinalityWatch {
    waiting_since_ms: Option<u64>,
}

impl FinalityWatch {
    /// After a batch: whether it finalized a block, and whether work waits now.
    pub fn observe(&mut self, now_ms: u64, finalized: bool, has_work: bool) {
        self.waiting_since_ms = match (has_work, self.waiting_since_ms) {
            (false, _) => None,
            (true, Some(since)) if !finalized => Some(since),
            (true, _) => Some(now_ms),
        };
    }

    /// How long work has waited without a finalized block; 0 when none waits.
    pub fn waiting_ms(&self, now_ms: u64) -> u64 {
        self.waiting_since_ms
            .map_or(0, |since| now_ms.saturating_sub(since))
    }
}

#[cfg(test)]
mod tests {
    use super::FinalityWatch;

    #[test]
    fn waiting_grows_while_work_is_pending_and_restarts_at_each_finalized_block() {
        let mut watch = FinalityWatch::default();
        watch.observe(1_000, false, false);
        assert_eq!(watch.waiting_ms(5_000), 0, "idle: nothing waits");
        watch.observe(5_000, false, true);
        watch.observe(9_000, false, true);
        assert_eq!(
            watch.waiting_ms(20_000),
            15_000,
            "grows without batches too"
        );
        watch.observe(20_000, true, true);
        assert_eq!(
            watch.waiting_ms(20_500),
            500,
            "a final block starts it over"
        );
        watch.observe(21_000, true, false);
        assert_eq!(watch.waiting_ms(60_000), 0, "caught up");
    }
}
