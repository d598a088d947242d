//! `bfte replicate` as a process beside a federation of `bfte run` processes: it starts from an
//! invite, catches up, follows live, survives kill -9 and refuses bad input clearly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{BFTE, Federation, bfte, free_listen_addr, ok, p, status_of};
use serde_json::Value;

fn start_replica(dir: &Path, code: Option<&str>) -> Child {
    std::fs::create_dir_all(dir).expect("replica dir");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.with_extension("log"))
        .expect("log");
    let listen = free_listen_addr();
    let mut args = vec!["replicate", "--relay", "off", "--data-dir", p(dir)];
    if let Some(code) = code {
        args.extend([code, "--listen", &listen]);
    }
    Command::new(BFTE)
        .args(&args)
        .env("RUST_LOG", "bfte_node=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn replica")
}

/// Waits until the replica holds `height` and follows, failing with its log after `limit`.
fn wait_replica(federation: &Federation, dir: &Path, height: u64, limit: Duration) -> Value {
    let mut last = None;
    let caught_up = |_: &Federation| {
        last = status_of(dir);
        last.as_ref().is_some_and(|s| {
            s["finalized_height"].as_u64() >= Some(height)
                && s["replication"]["following"] == Value::Bool(true)
        })
    };
    let log = dir.with_extension("log");
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        federation.wait_for("the replica to catch up", limit, caught_up);
    }))
    .is_err()
    {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("the replica did not reach height {height}: {last:?}\n{text}");
    }
    last.expect("a status")
}

/// The finalized block hashes of a data directory's node up to `upto`.
fn chain(dir: &Path, upto: u64) -> Vec<String> {
    let text = ok(&["blocks", "--data-dir", p(dir), "--limit", "1000", "--json"]);
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|b| b["height"].as_u64().expect("height") <= upto)
        .map(|b| b["hash"].as_str().expect("hash").to_string())
        .collect()
}

/// A federation of four whose nodes all answer.
fn running_federation() -> Federation {
    let federation = Federation::new(4);
    federation.wait_for("the nodes to answer", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.height(i).is_some())
    });
    federation
}

#[test]
fn a_replica_follows_from_an_invite_survives_kill_9_and_resumes() {
    let federation = running_federation();
    federation.submit_some(12, "before", Duration::from_secs(30));
    let code = ok(&["invite", "--data-dir", p(&federation.dirs[0])]);
    let dir: PathBuf = federation.spare_dir("replica");

    let mut replica = start_replica(&dir, Some(code.trim()));
    let height = federation.height(0).expect("height");
    let status = wait_replica(&federation, &dir, height, Duration::from_secs(60));
    assert_eq!(status["role"], "replica", "{status}");
    assert!(
        status["replication"]["bytes_in"].as_u64() > Some(0),
        "{status}"
    );
    assert!(
        status["serving"].is_array() && status["bytes_out"].is_u64(),
        "{status}"
    );
    assert!(status["replication"]["bytes_out"].is_u64(), "{status}");
    // Its source lists it among the replicas it serves, following.
    let replica_id = status["peer_id"].clone();
    federation.wait_for(
        "a source to list the replica",
        Duration::from_secs(10),
        |f| {
            (0..4).filter_map(|i| f.status(i)).any(|node| {
                let mut listed = node["serving"].as_array().into_iter().flatten();
                node["bytes_out"].as_u64() > Some(0)
                    && listed
                        .any(|r| r["peer_id"] == replica_id && r["following"] == Value::Bool(true))
            })
        },
    );
    assert_eq!(chain(&dir, height), chain(&federation.dirs[0], height));
    let refused = bfte(&["submit", "--data-dir", p(&dir), "not from a replica"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("replica"));

    // Live: what the federation finalizes now reaches the replica.
    let height = federation.submit_some(8, "live", Duration::from_secs(30));
    wait_replica(&federation, &dir, height, Duration::from_secs(10));

    // kill -9, more history meanwhile, then a restart from the data directory alone.
    replica.kill().expect("kill");
    replica.wait().expect("reap");
    let height = federation.submit_some(12, "while-down", Duration::from_secs(30));
    let mut replica = start_replica(&dir, None);
    wait_replica(&federation, &dir, height, Duration::from_secs(60));
    assert_eq!(chain(&dir, height), chain(&federation.dirs[0], height));
    replica.kill().expect("kill");
    replica.wait().expect("reap");
}

#[test]
fn bad_invites_and_empty_directories_fail_clearly() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("replica");
    let malformed = bfte(&["replicate", "bfte-invite-nonsense", "--data-dir", p(&dir)]);
    assert!(!malformed.status.success());
    let stderr = String::from_utf8_lossy(&malformed.stderr);
    assert!(stderr.contains("not a usable invite code"), "{stderr}");

    let empty = bfte(&["replicate", "--relay", "off", "--data-dir", p(&dir)]);
    assert!(!empty.status.success());
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(stderr.contains("holds no invite"), "{stderr}");
    assert!(!dir.join("bfte.redb").exists(), "nothing was created");
}

#[test]
fn an_unreachable_federation_is_one_clear_error() {
    let federation = running_federation();
    let code = ok(&["invite", "--data-dir", p(&federation.dirs[0])]);
    drop(federation);
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("replica");
    let output = bfte(&[
        "replicate",
        code.trim(),
        "--relay",
        "off",
        "--data-dir",
        p(&dir),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no peer of the invite served"), "{stderr}");
}
