//! A small wide-area run: safe, finalizing, never faster than the protocol's floor allows, and
//! deterministic.

use super::super::wan::run_wide_area;
use super::CryptoMode;

#[test]
fn a_federation_over_ten_regions_finalizes_no_faster_than_its_floor() {
    let report = run_wide_area(7, 10, 30, CryptoMode::Fast);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(report.blocks >= 20, "{report:?}");
    // Every sample is checked against its own (leader, peer) floor, not only the medians.
    assert_eq!(report.below_floor, 0, "{report:?}");
    assert!(report.latency.p50 >= report.floor.p50, "{report:?}");
    // The floor is the real thing: three cross-region delays are well over 100 ms here.
    assert!(report.floor.p50 > 100, "{report:?}");
    let again = run_wide_area(7, 10, 30, CryptoMode::Fast);
    assert_eq!(
        (again.blocks, again.latency, again.messages),
        (report.blocks, report.latency, report.messages)
    );
}
