//! `bfte backup` of a running node, and a node restored from that backup after the federation
//! went on: it signs no vote conflicting with the ones it signed after the backup (SPEC rule
//! 15), it votes again, and the federation finalizes throughout.

mod common;

use std::time::Duration;

use bfte_node::store::Store;
use common::{Federation, bfte, json, p};

const WAIT: Duration = Duration::from_secs(90);

/// Submits through nodes `via` and waits until node `watch` finalized past where it was.
fn finalize_more(fed: &Federation, via: &[usize], watch: usize, tag: &str) -> u64 {
    let before = fed.height(watch).expect("height");
    for (n, i) in via.iter().enumerate() {
        assert!(
            fed.submit(*i, &format!("{tag}-{n}")),
            "submit through node {i}"
        );
    }
    fed.wait_for(tag, WAIT, |f| f.height(watch).is_some_and(|h| h > before));
    fed.height(watch).expect("height")
}

#[test]
fn a_node_restored_from_a_backup_signs_nothing_conflicting_and_votes_again() {
    let mut fed = Federation::new(4);
    fed.wait_for("every node answering", WAIT, |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    finalize_more(&fed, &[0, 1, 2, 3], 3, "before the backup");

    // A running node copies its database itself.
    let backup = fed.spare_dir("peer3.redb");
    let d3 = p(&fed.dirs[3]).to_string();
    let report = json(&["backup", "--data-dir", &d3, p(&backup), "--json"]);
    assert!(report["bytes"].as_u64().is_some_and(|b| b > 0), "{report}");
    assert!(
        report["tables"].as_u64().is_some_and(|t| t >= 8),
        "{report}"
    );
    let again = bfte(&["backup", "--data-dir", &d3, p(&backup)]);
    assert_eq!(again.status.code(), Some(2));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("--force") && said.contains(p(&backup)),
        "{said}"
    );
    let backed_up_height = {
        let copy = Store::open(&backup).expect("the backup opens");
        assert!(
            copy.restored_from_backup().expect("mark"),
            "marked as a backup"
        );
        copy.finalized_height().expect("height")
    };
    assert!(backed_up_height.0 > 0, "the copy holds the chain");

    // The federation goes on with node 3 voting, then node 3 dies and is restored.
    for round in 0..4 {
        finalize_more(&fed, &[0, 1, 2, 3], 3, &format!("after the backup {round}"));
    }
    fed.kill(3);
    std::fs::copy(&backup, fed.dirs[3].join("bfte.redb")).expect("restore the backup");
    fed.start(3);
    // Finalizing goes on meanwhile, with the three others.
    for round in 0..6 {
        finalize_more(&fed, &[0, 1, 2], 0, &format!("restored {round}"));
    }
    fed.wait_for("node 3 catching up", WAIT, |f| {
        f.height(3) >= f.height(0).map(|h| h.saturating_sub(1))
    });
    // Until the finalized tip passes its floor (two rounds above the highest certificate its
    // peers answered with), node 3 counts as faulty: the federation gets there with node 0.
    let mut more = 0;
    fed.wait_for("node 3 past its floor", WAIT, |f| {
        let past = common::node_log(&f.dirs[3]).contains("before its restore is final");
        if !past {
            more += 1;
            finalize_more(f, &[0, 1, 2], 0, &format!("to the floor {more}"));
        }
        past
    });

    // Node 3 votes again: without node 0, three of four need its votes.
    fed.stop(0);
    for round in 0..3 {
        finalize_more(&fed, &[1, 2], 1, &format!("needing node 3 {round}"));
    }

    let node3 = fed.peer_id(3);
    for i in 1..4 {
        fed.stop(i);
    }
    let log = common::node_log(&fed.dirs[3]);
    assert!(log.contains("restored from a backup"), "it sat out");
    let restored = Store::open(fed.dirs[3].join("bfte.redb")).expect("node 3's store");
    assert!(
        !restored.restored_from_backup().expect("mark"),
        "the mark is gone once the floor is final"
    );
    drop(restored);
    for i in 0..4 {
        let votes = fed.audited_votes(i);
        if i != 3 {
            let of_node3 = votes.get(&node3).copied().unwrap_or(0);
            assert!(of_node3 > 0, "node {i} recorded no vote of node 3");
        }
    }

    // A stopped node is copied directly, under the same rule.
    let offline = fed.spare_dir("peer1.redb");
    let d1 = p(&fed.dirs[1]).to_string();
    json(&["backup", "--data-dir", &d1, p(&offline), "--json"]);
    let copy = Store::open(&offline).expect("the offline backup opens");
    assert!(copy.restored_from_backup().expect("mark"));
}
