//! `bfte bench net` runs end to end: five phases on real node processes, with figures that
//! make sense. A short window keeps it quick; the figures themselves are for BENCHMARKS.md.

use std::process::Command;

const BFTE: &str = env!("CARGO_BIN_EXE_bfte");

#[test]
fn a_short_net_benchmark_reports_sane_figures() {
    let output = Command::new(BFTE)
        .args(["bench", "net", "--peers", "4", "--seconds", "0.5", "--json"])
        .output()
        .expect("run bfte bench net");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bfte bench net failed: {stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("bfte bench net --json prints JSON");
    let results = report["results"].as_array().expect("results");
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["workload"]["kind"].as_str().expect("workload kind"))
        .collect();
    assert_eq!(
        kinds,
        ["near_empty", "saturate", "saturate", "saturate", "paced"]
    );
    let items: Vec<&str> = results[1..4]
        .iter()
        .map(|r| r["workload"]["items"].as_str().expect("item kind"))
        .collect();
    assert_eq!(items, ["data", "attest", "data"]);
    for result in results {
        let number = |field: &str| result[field].as_f64().unwrap_or(f64::NAN);
        assert!(number("blocks") >= 1.0, "no block finalized: {result}");
        assert!(number("items_per_second") > 0.0, "{result}");
        assert!(number("items") >= 1.0, "no item finalized: {result}");
        let p50 = result["proposal_to_final"]["p50_ms"].as_f64().expect("p50");
        assert!(
            (0.0..10_000.0).contains(&p50),
            "proposal to final {p50} ms: {result}"
        );
        assert!(number("db_bytes_per_block") > 0.0, "{result}");
        let nodes = result["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 4);
        assert!(
            nodes.iter().all(|n| n["rss_kib"].as_u64() > Some(1024)),
            "{result}"
        );
    }
    let paced = &results[4];
    assert!(
        paced["submit_to_final"]["samples"].as_u64() > Some(0),
        "{paced}"
    );
}
