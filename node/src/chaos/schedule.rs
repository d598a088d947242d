//! The faults of one chaos run, drawn from a seed: which node, what, when and for how long.

use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// No fault starts before the nodes have connected and finalized for a while.
const WARMUP: Duration = Duration::from_secs(3);
/// Pause between one fault's start and the next one's, drawn in this range (milliseconds).
const GAP_MS: (u64, u64) = (300, 3_000);
/// How long a fault lasts, drawn in this range (milliseconds).
const LASTS_MS: (u64, u64) = (500, 8_000);
/// The shortest fault worth scheduling: a later start is dropped rather than clipped shorter.
const SHORTEST: Duration = Duration::from_millis(500);

/// What happens to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// `kill -9`, restarted from its data directory when the fault ends.
    Kill,
    /// SIGSTOP, then SIGCONT when the fault ends: a node that hangs, then wakes up late.
    Pause,
}

/// One fault: from `at` (since the run started) for `lasts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub at: Duration,
    pub lasts: Duration,
    pub peer: usize,
    pub kind: FaultKind,
}

impl Fault {
    pub fn ends(&self) -> Duration {
        self.at + self.lasts
    }
}

/// The faults of a run of `run` over `peers` nodes, in start order. At most f = (n - 1) / 3
/// nodes are faulty at any time, so the federation is expected to keep finalizing throughout,
/// and every fault ends by the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub faults: Vec<Fault>,
}

impl Schedule {
    pub fn generate(seed: u64, peers: usize, run: Duration) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tolerated = peers.saturating_sub(1) / 3;
        let mut faults: Vec<Fault> = Vec::new();
        let mut at = WARMUP;
        loop {
            at += Duration::from_millis(rng.random_range(GAP_MS.0..=GAP_MS.1));
            // Drawn whatever happens below, so one choice never shifts the others.
            let lasts = Duration::from_millis(rng.random_range(LASTS_MS.0..=LASTS_MS.1));
            let kind = if rng.random_bool(0.5) {
                FaultKind::Kill
            } else {
                FaultKind::Pause
            };
            let pick = rng.random_range(0..peers.max(1));
            if at + SHORTEST > run {
                break;
            }
            let busy: Vec<usize> = faults
                .iter()
                .filter(|f| f.ends() > at)
                .map(|f| f.peer)
                .collect();
            if busy.len() >= tolerated {
                continue;
            }
            let free: Vec<usize> = (0..peers).filter(|p| !busy.contains(p)).collect();
            faults.push(Fault {
                at,
                lasts: lasts.min(run - at),
                peer: free[pick % free.len()],
                kind,
            });
        }
        Schedule { faults }
    }

    /// When the last fault ends (zero without faults).
    pub fn last_end(&self) -> Duration {
        self.faults
            .iter()
            .map(Fault::ends)
            .max()
            .unwrap_or_default()
    }

    pub fn count(&self, kind: FaultKind) -> usize {
        self.faults.iter().filter(|f| f.kind == kind).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: Duration = Duration::from_secs(120);

    #[test]
    fn a_seed_gives_the_same_schedule_and_another_seed_another() {
        assert_eq!(Schedule::generate(7, 4, RUN), Schedule::generate(7, 4, RUN));
        assert_ne!(Schedule::generate(7, 4, RUN), Schedule::generate(8, 4, RUN));
    }

    #[test]
    fn at_most_f_nodes_are_faulty_at_once_and_all_faults_end_in_the_run() {
        for seed in 0..200 {
            for peers in [4, 5, 7] {
                let schedule = Schedule::generate(seed, peers, RUN);
                assert!(schedule.faults.len() > 10, "seed {seed}: {schedule:?}");
                for fault in &schedule.faults {
                    assert!(fault.peer < peers);
                    assert!(fault.at >= WARMUP && fault.ends() <= RUN, "{fault:?}");
                    let concurrent: Vec<usize> = schedule
                        .faults
                        .iter()
                        .filter(|f| f.at <= fault.at && f.ends() > fault.at)
                        .map(|f| f.peer)
                        .collect();
                    assert!(
                        concurrent.len() <= (peers - 1) / 3,
                        "seed {seed}: {concurrent:?}"
                    );
                    let mut distinct = concurrent.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    assert_eq!(distinct.len(), concurrent.len());
                }
            }
        }
    }

    #[test]
    fn both_kinds_of_fault_are_drawn() {
        let schedule = Schedule::generate(1, 4, RUN);
        assert!(schedule.count(FaultKind::Kill) > 0);
        assert!(schedule.count(FaultKind::Pause) > 0);
    }
}
