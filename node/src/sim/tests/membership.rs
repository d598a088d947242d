//! Membership changes under faults: four founders (one maybe Byzantine) grow to five and seven
//! peers by consensus and shrink back to four, with crashes, partitions and lossy links before
//! the heal. Agreement is checked per epoch and height, the epoch boundaries across peers, and
//! every run must complete the schedule with every item final.

use super::{CryptoMode, SimOptions, assert_clean, fast, replay, run_seed};

fn membership(crypto: CryptoMode) -> SimOptions {
    SimOptions {
        membership: true,
        crypto,
        ..fast(30)
    }
}

fn sweep_membership(seeds: std::ops::Range<u64>, options: SimOptions) {
    let (mut switches, mut joiner_votes, mut byzantine, mut crashes) = (0, 0, 0, 0);
    let count = seeds.end - seeds.start;
    for seed in seeds {
        let report = run_seed(seed, options);
        assert_clean(&report, &replay(seed, options));
        let stats = &report.stats;
        // Every correct peer that stays to the end went through all three changes.
        assert!(stats.epoch_switches >= 3 * 3, "seed {seed}: {stats:?}");
        assert!(
            stats.votes_by_joiners > 0,
            "seed {seed}: joiners never voted"
        );
        switches += stats.epoch_switches;
        joiner_votes += stats.votes_by_joiners;
        byzantine += u64::from(!report.scenario.byzantine.is_empty());
        crashes += stats.crashes;
    }
    assert!(
        byzantine > count / 2 && crashes > 0,
        "faults were not mixed in"
    );
    assert!(switches > 0 && joiner_votes > 0);
}

#[test]
fn grows_to_seven_and_shrinks_back_to_four_fast_signatures() {
    sweep_membership(0..300, membership(CryptoMode::Fast));
}

#[test]
fn grows_to_seven_and_shrinks_back_to_four_real_signatures() {
    sweep_membership(2_000_000..2_000_030, membership(CryptoMode::Real));
}
