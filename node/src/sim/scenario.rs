//! Scenarios: the peers, faults and load of one simulated run, all derived from a seed.

use bfte_shared::federation::ConsensusParams;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use super::byzantine::Behavior;
use super::crypto::CryptoMode;
use super::network::LinkModel;
use super::regions::Regions;

/// Simulated time after the network heals within which every item a correct peer submitted
/// must be final at every correct peer. See `SPEC.md` for why this bound is enough.
pub const PROGRESS_BOUND_MS: u64 = 30_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub start_ms: u64,
    pub end_ms: u64,
    /// The side of the split each peer is on.
    pub groups: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    pub peer: usize,
    pub at_ms: u64,
    pub restart_ms: u64,
    /// Restarts from a backup of its disk as of its `n`th sync (0: the empty disk) instead of
    /// from its last sync, marked so that its core sits out (SPEC rule 15).
    pub from_backup: Option<u64>,
}

/// What to simulate; `Scenario::random` fills it from a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub seed: u64,
    pub peers: usize,
    pub byzantine: Vec<(usize, Behavior)>,
    pub link: LinkModel,
    pub partitions: Vec<Partition>,
    pub crashes: Vec<Crash>,
    /// From this time on, links are healthy, partitions gone and crashed peers back.
    pub heal_ms: u64,
    /// Correct peers keep submitting items until the federation reaches this round.
    pub rounds: u64,
    /// Mean gap between one peer's items; gaps vary from none to twice this.
    pub submit_gap_ms: u64,
    pub crypto: CryptoMode,
    pub params: ConsensusParams,
    /// Message loss that stays after the heal (resends must still get everything through).
    pub loss_after_heal: f64,
    /// The peers that submit items; None means every correct peer.
    pub submitters: Option<Vec<usize>>,
    /// Stop as soon as every item is final; otherwise run on until no event is left.
    pub stop_when_done: bool,
    /// Before the heal, the chance that a correct peer crashes right after writing what it
    /// must persist and before sending anything: the worst moment for durability.
    pub crash_after_persist: f64,
    /// The peer sets of successive epochs, the first the founders; empty: every peer, fixed.
    pub membership: Vec<Vec<usize>>,
    /// Wall clocks that step back during the run (monotonic time never does).
    pub clock_steps: Vec<ClockStep>,
    /// How long a peer's inputs gather into one batch before its step commits and sends
    /// them, as the node's loop joins whatever else is waiting: 0 still batches inputs of
    /// the same millisecond.
    pub batch_ms: u64,
    /// Longest a peer's ledger takes to apply newly finalized blocks (drawn per apply).
    pub apply_delay_ms: u64,
    /// Wide-area latencies by region instead of the link's; the link's loss and duplication
    /// still apply.
    pub regions: Option<Regions>,
}

/// From `at_ms` of virtual time on, `peer`'s wall clock reads `back_ms` behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStep {
    pub peer: usize,
    pub at_ms: u64,
    pub back_ms: u64,
}

/// What the command line or a test may fix; anything left open is drawn from the seed.
#[derive(Debug, Clone, Copy)]
pub struct SimOptions {
    pub peers: Option<usize>,
    pub byzantine: Option<usize>,
    pub rounds: u64,
    pub crypto: CryptoMode,
    /// Grow the federation 4 -> 5 -> 7 peers and shrink it back to 4 during the run (seven
    /// peers, at most one Byzantine founder; `peers` and `byzantine` are ignored).
    pub membership: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            peers: None,
            byzantine: None,
            rounds: 30,
            crypto: CryptoMode::Fast,
            membership: false,
        }
    }
}

impl Scenario {
    pub fn random(seed: u64, options: SimOptions) -> Scenario {
        if options.membership {
            return Scenario::membership(seed, options);
        }
        Scenario::fixed_peers(seed, options)
    }

    /// Seven peers, of which four found the federation; one founder may be Byzantine. The
    /// schedule adds one peer, then two, then removes the three, under the faults a random
    /// scenario draws (crashes of any correct peer, partitions, lossy links before the heal).
    fn membership(seed: u64, options: SimOptions) -> Scenario {
        let fixed = SimOptions {
            peers: Some(7),
            byzantine: Some(0),
            membership: false,
            ..options
        };
        let mut scenario = Scenario::fixed_peers(seed, fixed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d65_6d62);
        if rng.random_bool(0.7) {
            let behavior = Behavior::ALL[rng.random_range(0..Behavior::ALL.len())];
            let peer = rng.random_range(0..4);
            scenario.byzantine = vec![(peer, behavior)];
            scenario.crashes.retain(|crash| crash.peer != peer);
        }
        // A backup predates the epoch switches, which the simulated disk cannot roll back.
        for crash in &mut scenario.crashes {
            crash.from_backup = None;
        }
        scenario.membership = vec![
            vec![0, 1, 2, 3],
            vec![0, 1, 2, 3, 4],
            (0..7).collect(),
            vec![0, 1, 2, 3],
        ];
        scenario
    }

    fn fixed_peers(seed: u64, options: SimOptions) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Every draw happens whatever the options say, so that a seed replayed with the
        // values it printed (`--peers`, `--byzantine`) yields the very same scenario.
        let drawn_peers = [1, 4, 7, 10][rng.random_range(0..4usize)];
        let peers = options.peers.unwrap_or(drawn_peers).max(1);
        let f = (peers - 1) / 3;
        let drawn_byzantine = rng.random_range(0..=f);
        let byzantine_count = options.byzantine.unwrap_or(drawn_byzantine).min(f);
        let mut indices: Vec<usize> = (0..peers).collect();
        indices.shuffle(&mut rng);
        let byzantine: Vec<(usize, Behavior)> = indices[..byzantine_count]
            .iter()
            .map(|&i| (i, Behavior::ALL[rng.random_range(0..Behavior::ALL.len())]))
            .collect();
        let min_latency_ms = rng.random_range(1..10);
        let link = LinkModel {
            min_latency_ms,
            max_latency_ms: min_latency_ms + rng.random_range(0..100),
            loss: if rng.random_bool(0.3) {
                0.0
            } else {
                rng.random_range(0.0..0.25)
            },
            duplicate: rng.random_range(0.0..0.1),
        };
        let heal_ms = rng.random_range(1_000..12_000);
        let partitions = (0..rng.random_range(0..3))
            .map(|_| {
                let start_ms = rng.random_range(0..heal_ms);
                Partition {
                    start_ms,
                    end_ms: rng.random_range(start_ms..=heal_ms),
                    groups: (0..peers).map(|_| rng.random_range(0..2)).collect(),
                }
            })
            .collect();
        let correct: Vec<usize> = indices[byzantine_count..].to_vec();
        let crashes = (0..rng.random_range(0..4))
            .map(|_| {
                let peer = correct[rng.random_range(0..correct.len())];
                let at_ms = rng.random_range(0..heal_ms);
                Crash {
                    peer,
                    at_ms,
                    restart_ms: rng.random_range(at_ms..=heal_ms),
                    from_backup: None,
                }
            })
            .collect::<Vec<_>>();
        let crashes = restore_one_from_backup(seed, crashes, f - byzantine_count);
        let crash_after_persist = if rng.random_bool(0.3) {
            rng.random_range(0.005..0.03)
        } else {
            0.0
        };
        let params = ConsensusParams {
            round_timeout_ms: 300 + 3 * link.max_latency_ms,
            max_backoff_doublings: 3,
            resend_interval_ms: 200,
            max_block_bytes: 64 << 10,
            max_block_items: 256,
            max_clock_drift_ms: 5_000,
        };
        Scenario {
            seed,
            peers,
            byzantine,
            link,
            partitions,
            crashes,
            heal_ms,
            rounds: options.rounds,
            submit_gap_ms: rng.random_range(20..600),
            crypto: options.crypto,
            params,
            loss_after_heal: 0.0,
            submitters: None,
            stop_when_done: true,
            crash_after_persist,
            membership: Vec::new(),
            clock_steps: Vec::new(),
            batch_ms: rng.random_range(0..=2),
            apply_delay_ms: 30,
            regions: None,
        }
    }
}

/// Makes the first crash, in some scenarios, a restore from an older backup of the peer's own
/// disk. Only with fewer than f Byzantine peers (`spare` > 0): a restored peer counts as faulty
/// until its floor is known, and a quorum must remain. Drawn apart, so that every other draw
/// of a seed stays as it was.
fn restore_one_from_backup(seed: u64, mut crashes: Vec<Crash>, spare: usize) -> Vec<Crash> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_7374);
    if let Some(first) = crashes.first_mut()
        && spare > 0
        && rng.random_bool(0.5)
    {
        first.from_backup = Some(rng.random_range(0..120));
    }
    crashes
}
