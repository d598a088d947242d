//! Finality figures over the last minutes: proposal-to-final latency percentiles and the share
//! of rounds that went dummy. Time is the node's clock from the events, like the rates.

use std::collections::VecDeque;

/// How far back the figures look.
pub const FIGURES_WINDOW_MS: u64 = 5 * 60_000;
/// Most samples kept of each kind, whatever the window holds (bounds memory and sorting).
const KEPT_SAMPLES: usize = 4_096;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// (finalized at, milliseconds from the proposal's arrival to finality), oldest first.
    latencies: VecDeque<(u64, u64)>,
    /// (ended at, went dummy) of each round that got a certificate, oldest first.
    rounds: VecDeque<(u64, bool)>,
}

/// What the figures say now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalitySummary {
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    /// Rounds that ended in the window, and how many of them went dummy.
    pub rounds: usize,
    pub dummies: usize,
}

impl FinalitySummary {
    /// Dummy rounds as a percentage of the rounds that ended, if any did.
    pub fn dummy_percent(&self) -> Option<u64> {
        (self.rounds > 0).then(|| (self.dummies * 100 / self.rounds) as u64)
    }
}

impl Figures {
    /// A block proposed at `proposed_ms` (as this node saw it) became final at `at_ms`.
    pub fn finalized(&mut self, at_ms: u64, proposed_ms: u64) {
        push(
            &mut self.latencies,
            (at_ms, at_ms.saturating_sub(proposed_ms)),
        );
        self.forget_before(at_ms);
    }

    /// A round got its first certificate: a notarization, or a dummy certificate.
    pub fn round_ended(&mut self, at_ms: u64, dummy: bool) {
        push(&mut self.rounds, (at_ms, dummy));
        self.forget_before(at_ms);
    }

    /// The window ending at `now_ms`.
    pub fn summary(&self, now_ms: u64) -> FinalitySummary {
        let since = now_ms.saturating_sub(FIGURES_WINDOW_MS);
        let mut latencies: Vec<u64> = self
            .latencies
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, ms)| *ms)
            .collect();
        latencies.sort_unstable();
        let percentile = |p: usize| {
            (!latencies.is_empty())
                .then(|| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)])
        };
        let recent = self.rounds.iter().filter(|(at, _)| *at >= since);
        FinalitySummary {
            p50_ms: percentile(50),
            p99_ms: percentile(99),
            rounds: recent.clone().count(),
            dummies: recent.filter(|(_, dummy)| *dummy).count(),
        }
    }

    fn forget_before(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(FIGURES_WINDOW_MS);
        while self.latencies.front().is_some_and(|(at, _)| *at < since) {
            self.latencies.pop_front();
        }
        while self.rounds.front().is_some_and(|(at, _)| *at < since) {
            self.rounds.pop_front();
        }
    }
}

fn push<T>(samples: &mut VecDeque<T>, sample: T) {
    if samples.len() >= KEPT_SAMPLES {
        samples.pop_front();
    }
    samples.push_back(sample);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_the_dummy_share_cover_only_the_window() {
        let mut figures = Figures::default();
        // An old, slow block and an old dummy round, then 100 blocks of 1..=100 ms.
        figures.finalized(1_000, 0);
        figures.round_ended(1_000, true);
        let start = 1_000 + FIGURES_WINDOW_MS;
        for n in 1..=100 {
            figures.finalized(start + n, start);
            figures.round_ended(start + n, n % 10 == 0);
        }
        let summary = figures.summary(start + 100);
        assert_eq!(summary.p50_ms, Some(51));
        assert_eq!(summary.p99_ms, Some(100));
        assert_eq!((summary.rounds, summary.dummies), (100, 10));
        assert_eq!(summary.dummy_percent(), Some(10));
        let empty = Figures::default().summary(0);
        assert_eq!((empty.p50_ms, empty.dummy_percent()), (None, None));
    }
}
