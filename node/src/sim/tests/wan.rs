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
    let (latency, floor) = (
        report.latency.expect("latency"),
        report.floor.expect("floor"),
    );
    assert!(latency.p50_ms >= floor.p50_ms, "{report:?}");
    // The floor is the real thing: three cross-region delays are well over 100 ms here.
    assert!(floor.p50_ms > 100.0, "{report:?}");
    let again = run_wide_area(7, 10, 30, CryptoMode::Fast);
    let p99 = |r: &super::super::WanReport| r.latency.map(|l| l.p99_ms);
    assert_eq!(
        (again.blocks, again.messages, p99(&again)),
        (report.blocks, report.messages, p99(&report))
    );
}
