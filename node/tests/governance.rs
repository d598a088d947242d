//! Growing a federation of real nodes through the CLI: an invite, a join request that the
//! admins see, reject and approve, and the proposal that adds the peer passing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Federation, bfte, free_listen_addr, json, ok, p};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A node that asked to join: its data directory and peer id.
struct Joiner {
    dir: PathBuf,
    id: String,
}

/// `bfte invite` on node `i`.
fn invite(fed: &Federation, i: usize) -> String {
    let code = ok(&["invite", "--data-dir", p(&fed.dirs[i])]);
    code.trim().to_string()
}

/// `bfte join CODE` into `dir` (a fresh one, or the same one again); panics if it fails.
fn join(code: &str, dir: &Path, name: &str, listen: &str) -> Joiner {
    let out = ok(&[
        "join",
        code,
        "--data-dir",
        p(dir),
        "--name",
        name,
        "--listen",
        listen,
    ]);
    assert!(out.contains("the request is pending"), "{out}");
    let id = out
        .lines()
        .find_map(|line| line.strip_prefix("this node is "))
        .unwrap_or_else(|| panic!("no peer id in {out}"))
        .trim()
        .to_string();
    Joiner {
        dir: dir.to_path_buf(),
        id,
    }
}

fn joins(fed: &Federation, i: usize) -> Vec<Value> {
    let value = json(&["joins", "--data-dir", p(&fed.dirs[i]), "--json"]);
    value.as_array().cloned().unwrap_or_default()
}

fn proposals(fed: &Federation, i: usize) -> Vec<Value> {
    let value = json(&["proposals", "--data-dir", p(&fed.dirs[i]), "--json"]);
    value.as_array().cloned().unwrap_or_default()
}

/// The proposal on node `i` that adds `peer`, if it is there.
fn add_proposal(fed: &Federation, i: usize, peer: &str) -> Option<Value> {
    proposals(fed, i).into_iter().find(|proposal| {
        proposal["change"]["kind"] == "add_peer" && proposal["change"]["peer"]["id"] == peer
    })
}

/// `bfte approve` on node `i`.
fn approve(fed: &Federation, i: usize, peer: &str) {
    let out = ok(&["approve", "--data-dir", p(&fed.dirs[i]), peer]);
    assert!(out.contains("approved"), "{out}");
}

/// Waits until node `i` has the proposal that adds `peer` and it satisfies `check`.
fn wait_proposal(fed: &Federation, i: usize, peer: &str, what: &str, check: fn(&Value) -> bool) {
    fed.wait_for(what, WAIT, |f| {
        add_proposal(f, i, peer).is_some_and(|p| check(&p))
    });
}

fn yes_votes(proposal: &Value) -> usize {
    proposal["votes"].as_object().map_or(0, |votes| {
        votes.values().filter(|yes| **yes == true).count()
    })
}

#[test]
fn a_new_node_joins_with_an_invite_and_is_approved_by_a_quorum() {
    let fed = Federation::new(4);
    fed.wait_for("every node answering", WAIT, |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    let code = invite(&fed, 0);
    assert!(code.starts_with("bfte-invite-"), "{code}");

    // A code that is not an invite: a clear message, exit 1, and no data directory made.
    let erin_dir = fed.spare_dir("erin");
    for garbage in ["hello", "bfte-invite-0000", &code[..code.len() / 2]] {
        let output = bfte(&[
            "join",
            garbage,
            "--data-dir",
            p(&erin_dir),
            "--name",
            "erin",
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{garbage}: {stderr}");
        assert!(stderr.contains("not a usable invite code"), "{stderr}");
    }
    assert!(!erin_dir.exists());

    // The request reaches the invite's peers, who keep it as pending; the joiner gets the
    // federation's genesis.
    let listen = free_listen_addr();
    let erin = join(&code, &erin_dir, "erin", &listen);
    let theirs = read_json(&fed.dirs[0].join("genesis.json"));
    let ours = read_json(&erin.dir.join("genesis.json"));
    for field in ["name", "timestamp_ms", "params"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    // The same founders with their names and addresses (in id order: the genesis's).
    let by_id = |file: &Value| {
        let mut peers = file["peers"].as_array().cloned().unwrap_or_default();
        peers.sort_by_key(|peer| peer["id"].as_str().unwrap_or_default().to_string());
        peers
    };
    assert_eq!(by_id(&ours), by_id(&theirs));
    let pending = joins(&fed, 0);
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["id"], erin.id.as_str());
    assert_eq!(pending[0]["name"], "erin");
    assert_eq!(pending[0]["addrs"][0], listen.as_str());

    // Rejected here: gone from this node's list; rejecting again is refused.
    ok(&["reject", "--data-dir", p(&fed.dirs[0]), &erin.id]);
    assert!(joins(&fed, 0).is_empty());
    let again = bfte(&["reject", "--data-dir", p(&fed.dirs[0]), &erin.id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no join request"));

    // Asking again from the same data directory keeps its identity.
    let erin = join(&invite(&fed, 0), &erin_dir, "erin", &listen);
    assert_eq!(joins(&fed, 0).len(), 1);

    // Node 0 proposes adding erin; node 1 votes yes once it has the proposal. Two of four
    // are not a quorum (q = 3): the proposal stays open.
    approve(&fed, 0, &erin.id);
    wait_proposal(&fed, 1, &erin.id, "the proposal on node 1", |_| true);
    approve(&fed, 1, &erin.id);
    wait_proposal(&fed, 2, &erin.id, "two yes votes", |p| yes_votes(p) == 2);
    let proposal = add_proposal(&fed, 2, &erin.id).expect("proposal");
    assert_eq!(proposal["status"], "open", "{proposal}");
    // The third approval passes it.
    approve(&fed, 2, &erin.id);
    wait_proposal(&fed, 0, &erin.id, "the proposal passed", |p| {
        p["status"] == "passed"
    });
    let proposal = add_proposal(&fed, 0, &erin.id).expect("proposal");
    assert_eq!(yes_votes(&proposal), 3, "{proposal}");
    // A member now: its request leaves the pending list, and the epoch in force lists it
    // with its name and address.
    assert!(joins(&fed, 0).is_empty());
    let epoch = json(&["epoch", "--data-dir", p(&fed.dirs[0]), "--json"]);
    assert_eq!(epoch["number"], 1, "{epoch}");
    let members = epoch["members"].as_array().expect("members");
    assert_eq!(members.len(), 5, "{epoch}");
    let member = members
        .iter()
        .find(|m| m["id"] == erin.id.as_str())
        .expect("erin in the epoch");
    assert_eq!(member["name"], "erin");
    assert_eq!(member["addrs"][0], listen.as_str());
    assert!(members.iter().all(|m| m["name"] != ""), "{epoch}");
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read json file");
    serde_json::from_str(&text).expect("json file")
}
