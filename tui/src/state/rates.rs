//! Finalized blocks and items per second, for the overview's sparklines. Time is the node's
//! clock from the events, not ours: the window moves only when something happens, so an idle
//! federation costs no redraws.

use std::collections::VecDeque;

/// Seconds shown.
pub const WINDOW_SECS: usize = 60;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    /// (second, blocks, items), oldest first, consecutive seconds.
    buckets: VecDeque<(u64, u64, u64)>,
}

impl Rates {
    pub fn finalized(&mut self, at_ms: u64, items: u32) {
        let second = at_ms / 1000;
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
        if let Some(bucket) = self.buckets.back_mut() {
            bucket.1 += 1;
            bucket.2 += u64::from(items);
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
