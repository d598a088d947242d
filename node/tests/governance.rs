//! Growing a federation of real nodes through the CLI: an invite, a join request that the
//! admins see, reject and approve while load runs, the proposal that adds the peer passing, the
//! new node catching up and voting, and a vote that removes it again; at the end every chain
//! and state root agrees.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
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

/// Submits items to node 0 and 3 in turn until stopped; returns how many were accepted.
fn load(dirs: [PathBuf; 2], stop: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut accepted = 0;
        for n in 0usize.. {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let dir = &dirs[n % 2];
            let payload = format!("load-{n}");
            if bfte(&["submit", "--data-dir", p(dir), &payload])
                .status
                .success()
            {
                accepted += 1;
            }
            thread::sleep(Duration::from_millis(20));
        }
        accepted
    })
}

fn role(fed: &Federation, i: usize) -> Option<String> {
    Some(fed.status(i)?["role"].as_str()?.to_string())
}

/// The highest round in which node `i` saw a vote signed by `peer`.
fn last_vote_seen(fed: &Federation, i: usize, peer: &str) -> Option<u64> {
    let peers = json(&["peers", "--data-dir", p(&fed.dirs[i]), "--json"]);
    peers.as_array()?.iter().find(|entry| entry["id"] == peer)?["last_vote_round"].as_u64()
}

fn state_root(fed: &Federation, i: usize, height: u64) -> String {
    let outcome = json(&[
        "outcome",
        "--data-dir",
        p(&fed.dirs[i]),
        &height.to_string(),
        "--json",
    ]);
    outcome["state_root"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_node_joins_by_invite_votes_once_approved_and_stops_counting_once_removed() {
    let mut fed = Federation::new(4);
    fed.wait_for("every node answering", WAIT, |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    let code = invite(&fed, 0);
    assert!(code.starts_with("bfte-invite-"), "{code}");

    // A code that is not an invite: a clear message, exit 2 (nothing was asked), and no data
    // directory made.
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
        assert_eq!(output.status.code(), Some(2), "{garbage}: {stderr}");
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

    // Erin runs from now on, following from genesis without a vote; load runs throughout.
    let erin_node = fed.adopt(erin.dir.clone());
    fed.start(erin_node);
    fed.wait_for("erin answering as a follower", WAIT, |f| {
        role(f, erin_node).as_deref() == Some("follower")
    });
    // A follower cannot put items into consensus: nobody would include them.
    let refused = bfte(&["submit", "--data-dir", p(&erin.dir), "too early"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not a peer in epoch 0"), "{stderr}");
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load([fed.dirs[0].clone(), fed.dirs[3].clone()], stop.clone());

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

    // Erin fetches what it missed, moves into epoch 1 and votes: node 0 sees its votes.
    fed.wait_for("erin voting", WAIT, |f| {
        role(f, erin_node).as_deref() == Some("voter") && last_vote_seen(f, 0, &erin.id).is_some()
    });
    let voted = last_vote_seen(&fed, 0, &erin.id).expect("a vote");
    fed.wait_for("erin voting in later rounds", WAIT, |f| {
        last_vote_seen(f, 0, &erin.id).is_some_and(|round| round > voted)
    });

    // Removed by a quorum of the five (q = 4): node 0 proposes, nodes 1 to 3 vote yes.
    let out = ok(&[
        "propose",
        "--data-dir",
        p(&fed.dirs[0]),
        "remove-peer",
        &erin.id,
    ]);
    assert!(!out.is_empty());
    let removal = |f: &Federation, i: usize| {
        proposals(f, i).into_iter().find(|proposal| {
            proposal["change"]["kind"] == "remove_peer"
                && proposal["change"]["peer"] == erin.id.as_str()
        })
    };
    fed.wait_for("the removal proposal everywhere", WAIT, |f| {
        (1..4).all(|i| removal(f, i).is_some())
    });
    let id = removal(&fed, 1).expect("removal")["id"].to_string();
    for i in 1..4 {
        ok(&["vote", "--data-dir", p(&fed.dirs[i]), &id, "yes"]);
    }
    fed.wait_for("epoch 2 with the four founders", WAIT, |f| {
        let epoch = json(&["epoch", "--data-dir", p(&f.dirs[0]), "--json"]);
        epoch["number"] == 2 && epoch["members"].as_array().is_some_and(|m| m.len() == 4)
    });
    fed.wait_for("erin following again", WAIT, |f| {
        role(f, erin_node).as_deref() == Some("follower")
    });
    // The four go on finalizing without erin.
    let removed_at = fed.height(0).expect("height");
    fed.wait_for("progress without erin", WAIT, |f| {
        (0..4).all(|i| f.height(i).is_some_and(|h| h >= removed_at + 3))
    });
    // A founder killed in epoch 2 comes back in it: its database and ledger agree on the
    // epoch, and it catches up and goes on with the others.
    fed.kill(2);
    fed.start(2);
    fed.wait_for("node 2 back in epoch 2", WAIT, |f| {
        role(f, 2).as_deref() == Some("voter")
            && f.height(2).is_some_and(|h| h >= removed_at + 6)
            && f.height(0).is_some_and(|h| h >= removed_at + 6)
    });
    stop.store(true, Ordering::Relaxed);
    let accepted = loader.join().expect("load thread");
    assert!(accepted > 10, "the load ran: {accepted} items");

    // Every chain agrees up to the lowest height, and so does every state root; erin's chain,
    // which ends where it was removed, agrees as far as it goes.
    let common = (0..4).filter_map(|i| fed.height(i)).min().expect("heights");
    let reference = fed.chain(0, common);
    for i in 1..4 {
        assert_eq!(fed.chain(i, common), reference, "node {i}");
    }
    let erin_height = fed.height(erin_node).expect("erin's height").min(common);
    assert!(erin_height > 0);
    assert_eq!(
        fed.chain(erin_node, erin_height),
        reference[..=erin_height as usize].to_vec()
    );
    for height in [erin_height, common] {
        let root = state_root(&fed, 0, height);
        assert!(!root.is_empty(), "no outcome at {height}");
        for i in 1..4 {
            assert_eq!(
                state_root(&fed, i, height),
                root,
                "node {i} at height {height}"
            );
        }
        if height <= erin_height {
            assert_eq!(
                state_root(&fed, erin_node, height),
                root,
                "erin at {height}"
            );
        }
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read json file");
    serde_json::from_str(&text).expect("json file")
}
