//! Real `bfte` processes on loopback: a federation finalizes, survives `kill -9`, stalls
//! without a quorum and resumes, and goes quiet when idle.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bfte_shared::peer::PeerId;
use common::{Federation, bfte, interrupt, p};
use serde_json::Value;

#[test]
fn four_nodes_finalize_survive_kill_9_and_agree() {
    let mut fed = Federation::new(4);
    fed.wait_for("every node answering", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    // Load while killing a random node 20 times and restarting it at once.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut submitted = 0;
    for kill in 0..20 {
        for _ in 0..6 {
            let target = (next() % 4) as usize;
            if fed.submit(target, &format!("item {submitted}")) {
                submitted += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let victim = (next() % 4) as usize;
        fed.kill(victim);
        fed.start(victim);
        fed.wait_for(
            "the restarted node's socket",
            Duration::from_secs(20),
            |f| f.status(victim).is_some(),
        );
        let _ = kill;
    }
    while fed.height(0).unwrap_or(0) < 100 {
        let target = (next() % 4) as usize;
        if fed.submit(target, &format!("item {submitted}")) {
            submitted += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let goal = fed.height(0).expect("height");
    fed.wait_for(
        "every node at the same height",
        Duration::from_secs(60),
        |f| (0..4).all(|i| f.height(i).is_some_and(|h| h >= goal)),
    );
    let reference = fed.chain(0, goal);
    assert_eq!(reference.len() as u64, goal + 1);
    for i in 1..4 {
        assert_eq!(
            fed.chain(i, goal),
            reference,
            "node {i} finalized another chain"
        );
    }
    // No restart made a node sign a vote conflicting with one it signed before: every node
    // recorded the votes it received, and the signed votes prove any conflict.
    let ids: Vec<PeerId> = (0..4).map(|i| fed.peer_id(i)).collect();
    // One Ctrl-C stops a node whatever it is doing: node 0 gets it while items keep coming.
    let loaded = AtomicBool::new(true);
    std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut n = 0;
            while loaded.load(Ordering::Relaxed) {
                fed.submit(1 + n % 3, &format!("last {n}"));
                n += 1;
            }
        });
        std::thread::sleep(Duration::from_millis(500));
        let node0 = fed.pids()[0];
        interrupt(node0);
        fed.wait_for(
            "node 0 to stop on one Ctrl-C",
            Duration::from_secs(30),
            |_| has_exited(node0),
        );
        loaded.store(false, Ordering::Relaxed);
        load.join().expect("load");
    });
    for i in 0..4 {
        fed.stop(i);
    }
    for i in 0..4 {
        let votes = fed.audited_votes(i);
        for (j, id) in ids.iter().enumerate().filter(|(j, _)| *j != i) {
            let of_j = votes.get(id).copied().unwrap_or(0);
            assert!(
                of_j >= 100,
                "node {i} recorded only {of_j} votes of node {j}"
            );
        }
    }
}

/// Whether process `pid`, a child not yet reaped, has exited (it is a zombie).
fn has_exited(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(") ")
        .is_none_or(|(_, rest)| rest.starts_with('Z'))
}

#[test]
fn a_supervised_node_stops_on_ctrl_c_while_its_supervisor_keeps_stdin_open() {
    let mut fed = Federation::new(1);
    fed.wait_for("the node answering", Duration::from_secs(30), |f| {
        f.status(0).is_some()
    });
    fed.stop(0);
    // As `bfte demo` and `bfte bench net` run their nodes: stopped when the pipe closes.
    let mut node = Command::new(common::BFTE)
        .args([
            "run",
            "--relay",
            "off",
            "--stop-on-stdin-close",
            "--data-dir",
        ])
        .arg(&fed.dirs[0])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node");
    fed.wait_for(
        "the supervised node answering",
        Duration::from_secs(30),
        |f| f.status(0).is_some(),
    );
    interrupt(node.id());
    let stopped = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        has_exited(node.id())
    });
    let _ = node.kill();
    let status = node.wait().expect("reap");
    assert!(stopped, "the node was still running 10 s after Ctrl-C");
    assert!(status.success(), "the node stopped with {status}");
}

#[test]
fn three_of_four_keep_going_two_of_four_stall_and_resume() {
    let mut fed = Federation::new(4);
    fed.wait_for("every node answering", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    fed.kill(3);
    assert!(fed.submit(0, "with three"));
    fed.wait_for(
        "progress with one node down",
        Duration::from_secs(30),
        |f| f.height(0).is_some_and(|h| h >= 1),
    );
    fed.kill(2);
    // Node 2 may have sent its votes on a next block before it died: let them land first.
    std::thread::sleep(Duration::from_secs(2));
    let before = fed.height(0).expect("height");
    assert!(fed.submit(0, "with two"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(fed.height(0), Some(before), "finalized without a quorum");
    assert_eq!(fed.height(1), Some(before));
    assert_eq!(fed.stalled(0), Some(false), "3 s is no stall yet");
    // `bfte status` says so, with exit code 1, once the item has waited 10 s.
    fed.wait_for("node 0 reporting the stall", Duration::from_secs(30), |f| {
        f.stalled(0) == Some(true)
    });
    fed.start(2);
    fed.wait_for(
        "progress once a third node returns",
        Duration::from_secs(30),
        |f| (0..3).all(|i| f.height(i).is_some_and(|h| h > before)),
    );
    fed.wait_for("node 0 no longer stalled", Duration::from_secs(30), |f| {
        f.stalled(0) == Some(false)
    });
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .expect("stat")
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn an_idle_federation_runs_no_rounds_and_little_cpu() {
    let fed = Federation::new(4);
    fed.wait_for("every node answering", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    assert!(fed.submit(1, "one item"));
    fed.wait_for("the item final everywhere", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.height(i).is_some_and(|h| h >= 1))
    });
    std::thread::sleep(Duration::from_secs(2));
    let rounds: Vec<Value> = (0..4)
        .map(|i| fed.status(i).expect("status")["round"].clone())
        .collect();
    let pids = fed.pids();
    let ticks: Vec<u64> = pids.iter().map(|&pid| cpu_ticks(pid)).collect();
    let window = Duration::from_secs(5);
    std::thread::sleep(window);
    let after: Vec<Value> = (0..4)
        .map(|i| fed.status(i).expect("status")["round"].clone())
        .collect();
    assert_eq!(rounds, after, "rounds advanced while idle");
    // Clock ticks are 1/100 s: under 1% of 5 s is fewer than 5 ticks per node.
    for (pid, before) in pids.iter().zip(ticks) {
        let used = cpu_ticks(*pid) - before;
        assert!(
            used < 5,
            "node {pid} used {used} ticks of CPU in 5 s while idle"
        );
    }
}

#[test]
fn bad_data_directories_fail_with_a_clear_message() {
    let mut fed = Federation::new(1);
    fed.wait_for("the node answering", Duration::from_secs(30), |f| {
        f.status(0).is_some()
    });
    // A second process on the same data directory.
    let second = bfte(&["run", "--relay", "off", "--data-dir", p(&fed.dirs[0])]);
    assert!(!second.status.success());
    let message = String::from_utf8_lossy(&second.stderr).to_string();
    assert!(message.contains("error:"), "{message}");
    fed.kill(0);
    // A corrupt database file.
    std::fs::write(fed.dirs[0].join("bfte.redb"), b"this is not a database").expect("write");
    let corrupt = bfte(&["run", "--relay", "off", "--data-dir", p(&fed.dirs[0])]);
    assert_eq!(corrupt.status.code(), Some(2));
    let message = String::from_utf8_lossy(&corrupt.stderr).to_string();
    assert!(message.contains("bfte.redb"), "{message}");
    // A data directory that was never initialised.
    let empty = fed.dirs[0].with_file_name("nothing-here");
    let init = format!("bfte init --data-dir {}", empty.display());
    let missing = bfte(&["run", "--relay", "off", "--data-dir", p(&empty)]);
    assert_eq!(missing.status.code(), Some(2));
    let message = String::from_utf8_lossy(&missing.stderr).to_string();
    assert!(message.contains(&init), "{message}");
    let missing = bfte(&["status", "--data-dir", p(&empty)]);
    let message = String::from_utf8_lossy(&missing.stderr).to_string();
    assert!(message.contains(&init), "{message}");
    // A node made but never started: the command that starts it, first run included.
    std::fs::remove_file(fed.dirs[0].join("genesis.json")).expect("remove genesis");
    let stopped = bfte(&["status", "--data-dir", p(&fed.dirs[0])]);
    assert_eq!(stopped.status.code(), Some(2));
    let message = String::from_utf8_lossy(&stopped.stderr).to_string();
    assert!(message.contains("--genesis FILE"), "{message}");
}
