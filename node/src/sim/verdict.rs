//! When a run is over and what it found at the end: the prefix check, items or membership
//! changes that never completed, and the latency bound.

use super::invariants::Violation;
use super::report::RunReport;
use super::runner::Simulation;
use super::scenario::PROGRESS_BOUND_MS;

impl Simulation {
    pub(super) fn finished(&self) -> bool {
        self.closed_at.is_some_and(|closed| {
            self.now > closed && self.pending_items() == 0 && self.membership_done()
        })
    }

    /// Every correct member of the schedule's last peer set is in the last epoch.
    fn membership_done(&self) -> bool {
        let Some(last) = self.scenario.membership.last() else {
            return true;
        };
        let final_epoch = self.scenario.membership.len() as u64 - 1;
        last.iter()
            .filter(|&&p| self.checker.is_correct(p))
            .all(|&p| self.checker.epoch(p) == final_epoch)
    }

    fn pending_items(&self) -> usize {
        self.items
            .values()
            .filter(|(_, mask, _, _)| mask & self.permanent != self.permanent)
            .count()
    }

    pub(super) fn finish(mut self) -> RunReport {
        self.checker.check_prefixes();
        let pending = self.pending_items();
        if self.checker.violations.is_empty() && pending > 0 {
            let heights: Vec<u64> = (0..self.peers.len())
                .map(|p| self.checker.finalized_height(p))
                .collect();
            let detail = format!(
                "at {} ms, heal at {} ms, finalized heights {heights:?}",
                self.now, self.scenario.heal_ms
            );
            self.checker.violations.push(Violation::Liveness {
                pending_items: pending,
                detail,
            });
        }
        if self.checker.violations.is_empty() && !self.membership_done() {
            let epochs: Vec<u64> = (0..self.peers.len())
                .map(|p| self.checker.epoch(p))
                .collect();
            self.checker.violations.push(Violation::Liveness {
                pending_items: 0,
                detail: format!(
                    "the membership schedule did not complete: epochs {epochs:?} of {} changes",
                    self.scenario.membership.len() - 1
                ),
            });
        }
        if self.checker.violations.is_empty()
            && self.stats.worst_item_latency_ms > PROGRESS_BOUND_MS
        {
            self.checker.violations.push(Violation::Liveness {
                pending_items: 0,
                detail: format!(
                    "an item took {} ms after the heal to be final everywhere, the bound is {PROGRESS_BOUND_MS} ms",
                    self.stats.worst_item_latency_ms
                ),
            });
        }
        self.stats.simulated_ms = self.now;
        self.stats.blocks_finalized = self.checker.longest_height();
        self.stats.peer_blocks = (0..self.peers.len())
            .map(|p| self.checker.finalized_height(p))
            .sum();
        for disk in self.peers.iter().filter_map(|p| p.disk()) {
            self.stats.disk_writes += disk.writes;
            self.stats.disk_syncs += disk.syncs;
        }
        self.stats.rounds = self.max_round();
        RunReport {
            scenario: self.scenario,
            stats: self.stats,
            violations: self.checker.violations,
            probe: self.probe,
        }
    }

    pub(super) fn max_round(&self) -> u64 {
        self.peers
            .iter()
            .filter_map(|p| p.step.as_ref())
            .map(|step| step.core().round().0)
            .max()
            .unwrap_or(0)
    }
}
