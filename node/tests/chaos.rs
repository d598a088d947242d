//! `bfte chaos` as CI runs it: real node processes on loopback under kills, pauses, link cuts,
//! slow links, a peer voted out and back in, and a steady load, with the end checks of
//! `bfte_node::chaos`. Built only with
//! the `chaos` feature (`cargo test -p bfte-node --features chaos --test chaos`), since the
//! link faults and the Byzantine node need the nodes' fault hooks. A failure prints the seed
//! and the command that replays the run's schedule.

mod common;

use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

use common::BFTE;

/// The runs start up to 7 node processes each: one run at a time on a small machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `bfte chaos ARGS --json` and returns its report, failing with its log otherwise.
fn chaos(args: &[&str]) -> Value {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let output = Command::new(BFTE)
        .arg("chaos")
        .args(args)
        .arg("--json")
        .output()
        .expect("bfte runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bfte chaos {args:?} failed:\n{log}"
    );
    eprintln!("{log}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    eprintln!("{report}");
    assert_eq!(
        report["violations"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    report
}

fn count(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {report}"))
}

#[test]
fn four_nodes_stay_safe_and_live_through_two_minutes_of_faults() {
    let report = chaos(&["--peers", "4", "--seconds", "120"]);
    assert!(
        count(&report, "kills") + count(&report, "pauses") > 0,
        "{report}"
    );
    assert!(
        count(&report, "link_cuts") + count(&report, "slow_links") > 0,
        "{report}"
    );
    assert_eq!(count(&report, "membership_changes"), 2, "{report}");
    let accepted = count(&report, "accepted");
    assert!(accepted > 100, "{report}");
    assert_eq!(count(&report, "accepted_final"), accepted, "{report}");
}

#[test]
fn a_byzantine_node_is_proven_and_its_removal_proposed() {
    let report = chaos(&[
        "--peers",
        "7",
        "--seconds",
        "60",
        "--byzantine",
        "double-vote",
    ]);
    assert!(count(&report, "conflicts") > 0, "{report}");
    assert_eq!(count(&report, "evidence_at"), 6, "{report}");
    assert_eq!(count(&report, "removal_at"), 6, "{report}");
    assert_eq!(
        count(&report, "accepted_final"),
        count(&report, "accepted"),
        "{report}"
    );
}
