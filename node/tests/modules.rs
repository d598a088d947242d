//! The built-in modules on real nodes: metadata set by a quorum, a statement final at its
//! threshold, and every node's ledger at the same state root at the same height.

mod common;

use std::time::Duration;

use common::{Federation, ok, p};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("json output")
}

fn state_root(fed: &Federation, node: usize, height: u64) -> Option<String> {
    let dir = p(&fed.dirs[node]);
    let output = common::bfte(&["outcome", "--data-dir", dir, &height.to_string(), "--json"]);
    if !output.status.success() {
        return None;
    }
    let value: Value = serde_json::from_slice(&output.stdout).ok()?;
    value["state_root"].as_str().map(str::to_string)
}

#[test]
fn metadata_and_attestations_agree_on_every_node_with_one_state_root() {
    let fed = Federation::new(4);
    fed.wait_for("every node answering", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    let dir = |i: usize| p(&fed.dirs[i]);

    // Two proposals are not a quorum of 4 (q = 3); the third sets the value everywhere.
    for i in 0..2 {
        ok(&[
            "meta",
            "--data-dir",
            dir(i),
            "set",
            "federation.name",
            "Acme CI",
        ]);
    }
    ok(&[
        "meta",
        "--data-dir",
        dir(3),
        "set",
        "federation.name",
        "Other",
    ]);
    fed.wait_for("the proposals pending", Duration::from_secs(30), |_| {
        let view = json(&["meta", "--data-dir", dir(0), "get", "--json"]);
        view["pending"]["federation.name"]
            .as_object()
            .map(|o| o.len())
            == Some(3)
    });
    assert_eq!(
        json(&["meta", "--data-dir", dir(0), "get", "--json"])["values"],
        serde_json::json!({})
    );
    ok(&[
        "meta",
        "--data-dir",
        dir(2),
        "set",
        "federation.name",
        "Acme CI",
    ]);
    fed.wait_for(
        "the value set on every node",
        Duration::from_secs(30),
        |_| {
            (0..4).all(|i| {
                json(&["meta", "--data-dir", dir(i), "get", "--json"])["values"]["federation.name"]
                    == "Acme CI"
            })
        },
    );

    // A CI system's worked example: three builders attest the same artifact provenance.
    let subject = "artifact:sha256:9f2c";
    for i in 0..3 {
        let detail = format!("ci run {i}");
        ok(&[
            "attest",
            "--data-dir",
            dir(i),
            subject,
            "built-from:4e1a",
            "--detail",
            &detail,
        ]);
    }
    fed.wait_for(
        "the statement final on every node",
        Duration::from_secs(30),
        |_| {
            (0..4).all(|i| {
                let line = ok(&[
                    "attestations",
                    "--data-dir",
                    dir(i),
                    "--subject",
                    subject,
                    "--json",
                ]);
                serde_json::from_str::<Value>(line.trim()).is_ok_and(|v| v["final_at"].is_u64())
            })
        },
    );
    // Attesting twice is refused when applied, visibly, and changes nothing.
    ok(&["attest", "--data-dir", dir(0), subject, "built-from:4e1a"]);

    // Several payloads in one request are signed as one item: one item id and nonce, each
    // payload at its index, and each final as an entry of its own.
    let receipts = ok(&["submit", "--data-dir", dir(2), "one", "two", "three"]);
    let receipts: Vec<Vec<&str>> = receipts
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(receipts.len(), 3, "{receipts:?}");
    for (index, receipt) in receipts.iter().enumerate() {
        assert_eq!(receipt[..3], receipts[0][..3], "one item: {receipts:?}");
        assert_eq!(receipt[3], format!("#{index}"), "{receipts:?}");
    }
    let nonce: u64 = receipts[0][2].parse().expect("a nonce");
    fed.wait_for(
        "the batch final with its entries",
        Duration::from_secs(30),
        |f| {
            let height = f.height(0).unwrap_or(0);
            (1..=height).any(|h| {
                let block = json(&["block", "--data-dir", dir(0), &h.to_string(), "--json"]);
                let items = block["items"].as_array().cloned().unwrap_or_default();
                // Only a batch has an entry at index 2; its author's entries at that nonce.
                let Some(last) = items
                    .iter()
                    .find(|e| e["nonce"] == nonce && e["index"] == 2)
                else {
                    return false;
                };
                let entries: Vec<&Value> = items
                    .iter()
                    .filter(|e| e["nonce"] == nonce && e["author"] == last["author"])
                    .collect();
                entries.len() == 3
                    && entries
                        .iter()
                        .enumerate()
                        .all(|(i, e)| e["index"] == i as u64)
            })
        },
    );

    // Every node reaches the same state root at the same height.
    let goal = fed.height(0).expect("height") + 1;
    ok(&["submit", "--data-dir", dir(1), "a last item"]);
    fed.wait_for("every node past the goal", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.height(i).is_some_and(|h| h >= goal))
    });
    let roots: Vec<Option<String>> = (0..4).map(|i| state_root(&fed, i, goal)).collect();
    assert!(roots[0].is_some(), "height {goal} not applied at node 0");
    assert!(
        roots.iter().all(|r| *r == roots[0]),
        "state roots differ: {roots:?}"
    );
    let rejected = (1..=goal).any(|h| {
        let outcome = json(&["outcome", "--data-dir", dir(0), &h.to_string(), "--json"]);
        outcome["entries"].as_array().is_some_and(|entries| {
            entries.iter().any(|i| {
                i["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("already attested"))
            })
        })
    });
    assert!(
        rejected,
        "the second attestation was not recorded as rejected"
    );
}
