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

/// How long after its vote opens a membership change is given to pass and settle, before
/// faults count against the peer set it made.
const MEMBERSHIP_SETTLES: Duration = Duration::from_secs(20);

/// Largest delay a slow link gets, in milliseconds.
const MAX_DELAY_MS: u64 = 300;
/// Largest share of frames a lossy link drops, in percent.
const MAX_LOSS_PERCENT: u8 = 30;

/// What happens to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// `kill -9`, restarted from its data directory when the fault ends.
    Kill,
    /// SIGSTOP, then SIGCONT when the fault ends: a node that hangs, then wakes up late.
    Pause,
    /// The link between the node and `other` drops everything, both ways.
    Cut { other: usize },
    /// The link between the node and `other` delays and drops frames, both ways.
    Slow {
        other: usize,
        delay_ms: u64,
        loss_percent: u8,
    },
}

impl FaultKind {
    pub fn is_link(&self) -> bool {
        matches!(self, FaultKind::Cut { .. } | FaultKind::Slow { .. })
    }
}

/// What a schedule may contain besides kills and pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Link faults (the nodes need the `chaos` feature).
    pub links: bool,
    /// A Byzantine node: never given another fault, and it takes one of the f faults the
    /// federation tolerates for the whole run.
    pub byzantine: Option<usize>,
    /// A peer removed by vote during the run and added back by vote later.
    pub membership: bool,
}

/// A peer removed from the federation by vote at `out` and added back by vote at `back`.
/// From `out` until the re-adding settled, faults count against the smaller federation and
/// never hit that peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipChange {
    pub peer: usize,
    pub out: Duration,
    pub back: Duration,
}

impl MembershipChange {
    fn covers(&self, at: Duration) -> bool {
        at + MEMBERSHIP_SETTLES >= self.out && at <= self.back + MEMBERSHIP_SETTLES
    }
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
/// nodes are faulty at any time (a link fault counts against its first node, a Byzantine node
/// all the time), so the federation is expected to keep finalizing throughout, and every fault
/// ends by the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub faults: Vec<Fault>,
    pub membership: Option<MembershipChange>,
}

impl Schedule {
    pub fn generate(seed: u64, peers: usize, run: Duration, options: Options) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let byzantine = usize::from(options.byzantine.is_some());
        let tolerated = |peers: usize| (peers.saturating_sub(1) / 3).saturating_sub(byzantine);
        let movable: Vec<usize> = (0..peers)
            .filter(|p| Some(*p) != options.byzantine)
            .collect();
        let moved = movable
            .get(rng.random_range(0..movable.len().max(1)))
            .copied()
            .unwrap_or_default();
        let membership = options.membership.then(|| MembershipChange {
            peer: moved,
            out: run * 3 / 10,
            back: run * 6 / 10,
        });
        let mut faults: Vec<Fault> = Vec::new();
        let mut at = WARMUP;
        loop {
            at += Duration::from_millis(rng.random_range(GAP_MS.0..=GAP_MS.1));
            // Drawn whatever happens below, so one choice never shifts the others.
            let lasts = Duration::from_millis(rng.random_range(LASTS_MS.0..=LASTS_MS.1));
            let other_pick = rng.random_range(0..peers.max(1));
            let delay_ms = rng.random_range(0..=MAX_DELAY_MS);
            let loss_percent = rng.random_range(0..=MAX_LOSS_PERCENT);
            let kinds = if options.links { 4 } else { 2 };
            // The first fault is a kill or a pause, so every run stops a node at least once:
            // drawn freely, a run with a membership change (about 7 faults) drew only link
            // faults about once in 128.
            let kind = match rng.random_range(0..kinds) {
                link if faults.is_empty() => link % 2,
                kind => kind,
            };
            let pick = rng.random_range(0..peers.max(1));
            if at + SHORTEST > run {
                break;
            }
            // Faults are placed by when they start: one that overlaps a membership window's
            // start is counted as within it.
            let changing = membership.filter(|m| m.covers(at) || m.covers(at + lasts));
            let mut busy: Vec<usize> = faults
                .iter()
                .filter(|f| f.ends() > at)
                .map(|f| f.peer)
                .collect();
            let in_force = peers - usize::from(changing.is_some());
            if busy.len() >= tolerated(in_force) {
                continue;
            }
            busy.extend(changing.map(|m| m.peer));
            let free: Vec<usize> = (0..peers)
                .filter(|p| !busy.contains(p) && Some(*p) != options.byzantine)
                .collect();
            if free.is_empty() {
                continue;
            }
            let peer = free[pick % free.len()];
            let others: Vec<usize> = (0..peers).filter(|p| *p != peer).collect();
            let other = others[other_pick % others.len()];
            let kind = match kind {
                0 => FaultKind::Kill,
                1 => FaultKind::Pause,
                2 => FaultKind::Cut { other },
                _ => FaultKind::Slow {
                    other,
                    delay_ms,
                    loss_percent,
                },
            };
            faults.push(Fault {
                at,
                lasts: lasts.min(run - at),
                peer,
                kind,
            });
        }
        Schedule { faults, membership }
    }

    /// When the last fault ends (zero without faults).
    pub fn last_end(&self) -> Duration {
        self.faults
            .iter()
            .map(Fault::ends)
            .max()
            .unwrap_or_default()
    }

    pub fn count(&self, kind: impl Fn(&FaultKind) -> bool) -> usize {
        self.faults.iter().filter(|f| kind(&f.kind)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: Duration = Duration::from_secs(120);

    #[test]
    fn a_seed_gives_the_same_schedule_and_another_seed_another() {
        let links = Options {
            links: true,
            byzantine: None,
            membership: true,
        };
        let same = Schedule::generate(7, 4, RUN, links);
        assert_eq!(same, Schedule::generate(7, 4, RUN, links));
        assert_ne!(same, Schedule::generate(8, 4, RUN, links));
    }

    #[test]
    fn at_most_f_nodes_are_faulty_at_once_and_all_faults_end_in_the_run() {
        for seed in 0..200 {
            for (peers, byzantine) in [(4, None), (5, None), (7, None), (7, Some(6))] {
                let options = Options {
                    links: seed % 2 == 0,
                    byzantine,
                    membership: seed % 3 != 0,
                };
                let schedule = Schedule::generate(seed, peers, RUN, options);
                // A membership window leaves a 4-peer run faults only before and after it.
                assert!(schedule.faults.len() >= 3, "seed {seed}: {schedule:?}");
                assert_eq!(schedule.membership.is_some(), options.membership);
                if let Some(change) = schedule.membership {
                    assert_ne!(Some(change.peer), byzantine);
                    assert!(change.out < change.back && change.back < RUN);
                }
                for fault in &schedule.faults {
                    assert!(fault.peer < peers && Some(fault.peer) != byzantine);
                    if let FaultKind::Cut { other } | FaultKind::Slow { other, .. } = fault.kind {
                        assert!(other < peers && other != fault.peer, "{fault:?}");
                    }
                    assert!(options.links || !fault.kind.is_link());
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
    fn every_kind_of_fault_is_drawn() {
        let options = Options {
            links: true,
            byzantine: None,
            membership: false,
        };
        let schedule = Schedule::generate(1, 4, RUN, options);
        assert!(schedule.count(|k| *k == FaultKind::Kill) > 0);
        assert!(schedule.count(|k| *k == FaultKind::Pause) > 0);
        assert!(schedule.count(|k| matches!(k, FaultKind::Cut { .. })) > 0);
        assert!(schedule.count(|k| matches!(k, FaultKind::Slow { .. })) > 0);
        let without = Schedule::generate(1, 4, RUN, Options::default());
        assert_eq!(without.count(FaultKind::is_link), 0);
    }

    /// Every schedule starts with a kill or a pause: 200 seeds, and that of a CI run whose
    /// faults were all on links.
    #[test]
    fn every_run_stops_a_node() {
        let options = Options {
            links: true,
            byzantine: None,
            membership: true,
        };
        for seed in (0..200).chain([5_482_254_521_825_336_997]) {
            let schedule = Schedule::generate(seed, 4, RUN, options);
            let first = schedule.faults.first().expect("a fault");
            assert!(!first.kind.is_link(), "seed {seed}: {:?}", first.kind);
        }
    }
}
