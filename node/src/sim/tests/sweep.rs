//! Broad sweeps: 10,000 seeds with the stand-in signatures and 1,000 with real ed25519, each
//! drawing n from {1, 4, 7, 10}, up to f Byzantine peers, lossy and duplicating links,
//! partitions and crash-restarts. Split in parts so the test harness runs them in parallel.

use super::{CryptoMode, SimOptions, assert_covers_everything, fast, sweep};

const FAST_SEEDS_PER_PART: u64 = 2_500;
const REAL_SEEDS_PER_PART: u64 = 500;

fn fast_part(part: u64) {
    let start = part * FAST_SEEDS_PER_PART;
    let coverage = sweep(start..start + FAST_SEEDS_PER_PART, fast(30));
    assert_covers_everything(&coverage);
}

fn real_part(part: u64) {
    let options = SimOptions {
        crypto: CryptoMode::Real,
        ..fast(30)
    };
    // Offset so the real-signature seeds are other scenarios than the fast ones.
    let start = 1_000_000 + part * REAL_SEEDS_PER_PART;
    let coverage = sweep(start..start + REAL_SEEDS_PER_PART, options);
    assert_covers_everything(&coverage);
}

#[test]
fn fast_signatures_seeds_0_to_2500() {
    fast_part(0);
}

#[test]
fn fast_signatures_seeds_2500_to_5000() {
    fast_part(1);
}

#[test]
fn fast_signatures_seeds_5000_to_7500() {
    fast_part(2);
}

#[test]
fn fast_signatures_seeds_7500_to_10000() {
    fast_part(3);
}

#[test]
fn real_signatures_first_500_seeds() {
    real_part(0);
}

#[test]
fn real_signatures_second_500_seeds() {
    real_part(1);
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let first = super::run_seed(42, fast(30));
    let second = super::run_seed(42, fast(30));
    assert_eq!(first.stats, second.stats);
    assert_eq!(first.scenario, second.scenario);
    assert!(first.stats.blocks_finalized > 0);
}
