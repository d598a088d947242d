//! Finalized blocks and items per second over the last minute, for the overview's chart. Time
//! is the node's clock from the events, not ours: every event moves the window on (seconds
//! without a finalized block count as zero, so a stall shows as one), and an idle federation,
//! which sends nothing, costs no redraws.

use std::collections::VecDeque;

/// Seconds shown.
pub const WINDOW_SECS: usize = 60;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    /// (second, blocks, items), oldest first, consecutive seconds.
    buckets: VecDeque<(u64, u64, u64)>,
}

impl Rates {
    /// Moves the window on to node time `at_ms`: the seconds since the newest one count zero.
    /// Before the first finalized block there is no window to move.
    pub fn advance(&mut self, at_ms: u64) {
        if !self.buckets.is_empty() {
            self.move_to(at_ms / 1000);
        }
    }

    pub fn finalized(&mut self, at_ms: u64, items: u32) {
        self.move_to(at_ms / 1000);
        if let Some(bucket) = self.buckets.back_mut() {
            bucket.1 += 1;
            bucket.2 += u64::from(items);
        }
    }

    fn move_to(&mut self, second: u64) {
        match self.buckets.back().map(|b| b.0) {
            // The same second, or the node's clock stepped back: count it in the newest.
            Some(last) if second <= last => {}
            Some(last) if second - last <= WINDOW_SECS as u64 => {
                self.buckets.extend((last + 1..=second).map(|s| (s, 0, 0)));
            }
            _ => {
                self.buckets.clear();
                self.buckets.push_back((second, 0, 0));
            }
        }
        while self.buckets.len() > WINDOW_SECS {
            self.buckets.pop_front();
        }
    }

    pub fn blocks(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.1).collect()
    }

    pub fn items(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.2).collect()
    }

    /// Blocks per second over the window, for the label.
    pub fn blocks_per_sec(&self) -> f64 {
        if self.buckets.is_empty() {
            return 0.0;
        }
        self.buckets.iter().map(|b| b.1).sum::<u64>() as f64 / self.buckets.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_without_blocks_count_as_zero_once_time_moves_on() {
        let mut rates = Rates::default();
        rates.advance(500);
        assert!(
            rates.blocks().is_empty(),
            "no window before the first block"
        );
        rates.finalized(1_000, 2);
        rates.finalized(1_900, 1);
        rates.advance(4_200);
        assert_eq!(rates.blocks(), [2, 0, 0, 0]);
        assert_eq!(rates.items(), [3, 0, 0, 0]);
        rates.advance(200_000);
        assert_eq!(rates.blocks(), [0], "a long stall leaves only zero");
    }
}
