//! Real `bfte` processes on loopback, shared by the multi-process tests: a federation of
//! nodes started, stopped, killed and queried through the CLI.
#![allow(dead_code)] // Each test binary uses its own part of this module.

pub mod netns;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bfte_node::store::Store;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::peer::PeerId;
use serde_json::Value;

pub const BFTE: &str = env!("CARGO_BIN_EXE_bfte");

pub fn bfte(args: &[&str]) -> Output {
    Command::new(BFTE).args(args).output().expect("bfte runs")
}

/// The JSON a successful `bfte ... --json` prints.
pub fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("json")
}

/// `bfte status --json` of the node or replica in `dir`; `None` while it does not answer.
pub fn status_of(dir: &Path) -> Option<Value> {
    let output = bfte(&["status", "--data-dir", p(dir), "--json"]);
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).ok())
        .flatten()
}

pub fn ok(args: &[&str]) -> String {
    let output = bfte(args);
    assert!(
        output.status.success(),
        "bfte {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Where and how a federation's nodes run.
#[derive(Debug, Clone)]
pub struct Launch {
    /// What the node's command line is prefixed with, such as `ip netns exec NS` (empty: none).
    pub wrapper: Vec<String>,
    /// The host of the nodes' listen addresses.
    pub host: String,
    /// `bfte run --relay`.
    pub relay: String,
    /// More environment for the nodes.
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// On loopback, fully offline.
    pub fn loopback() -> Launch {
        Launch {
            wrapper: Vec::new(),
            host: "127.0.0.1".into(),
            relay: "off".into(),
            env: Vec::new(),
        }
    }
}

pub struct Federation {
    _temp: tempfile::TempDir,
    pub dirs: Vec<PathBuf>,
    nodes: Vec<Option<Child>>,
    launch: Launch,
    /// Each node's `--metrics` address, when the federation serves metrics.
    pub metrics: Option<Vec<String>>,
}

impl Federation {
    pub fn new(n: usize) -> Federation {
        Federation::launch(n, Launch::loopback())
    }

    pub fn launch(n: usize, launch: Launch) -> Federation {
        Federation::create(n, launch, false)
    }

    /// On loopback, each node serving metrics at `self.metrics[i]`.
    pub fn with_metrics(n: usize) -> Federation {
        Federation::create(n, Launch::loopback(), true)
    }

    fn create(n: usize, launch: Launch, metrics: bool) -> Federation {
        let temp = tempfile::tempdir().expect("tempdir");
        let dirs: Vec<PathBuf> = (0..n)
            .map(|i| temp.path().join(format!("peer{i}")))
            .collect();
        for (i, dir) in dirs.iter().enumerate() {
            let listen = free_listen_addr().replace("127.0.0.1", &launch.host);
            let name = format!("peer{i}");
            ok(&[
                "init",
                "--data-dir",
                p(dir),
                "--name",
                &name,
                "--listen",
                &listen,
            ]);
        }
        let genesis = temp.path().join("genesis.json");
        let mut args = vec![
            "genesis",
            "--name",
            "test",
            "--round-timeout-ms",
            "500",
            "--out",
            p(&genesis),
        ];
        args.extend(dirs.iter().map(|d| p(d)));
        ok(&args);
        for dir in &dirs {
            std::fs::copy(&genesis, dir.join("genesis.json")).expect("copy genesis");
        }
        let mut federation = Federation {
            _temp: temp,
            dirs,
            nodes: (0..n).map(|_| None).collect(),
            launch,
            metrics: metrics.then(|| (0..n).map(|_| free_tcp_addr()).collect()),
        };
        for i in 0..n {
            federation.start(i);
        }
        federation
    }

    pub fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dirs[i].join("node.log"))
            .expect("log");
        let mut command = match self.launch.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BFTE);
                command
            }
            None => Command::new(BFTE),
        };
        command.args([
            "run",
            "--relay",
            &self.launch.relay,
            "--data-dir",
            p(&self.dirs[i]),
        ]);
        if let Some(addr) = self.metrics.as_ref().and_then(|m| m.get(i)) {
            command.args(["--metrics", addr]);
        }
        let child = command
            .env("RUST_LOG", "bfte_node=info")
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn node");
        self.nodes[i] = Some(child);
    }

    /// A path for another data directory beside the federation's (removed with it).
    pub fn spare_dir(&self, name: &str) -> PathBuf {
        self._temp.path().join(name)
    }

    /// Takes a data directory made outside `new` (a node that joined) as node `self.dirs.len()`,
    /// not started: `start` runs it, and it is stopped and logged like the others.
    pub fn adopt(&mut self, dir: PathBuf) -> usize {
        self.dirs.push(dir);
        self.nodes.push(None);
        self.dirs.len() - 1
    }

    /// Process ids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .map(|c| c.as_ref().expect("running").id())
            .collect()
    }

    /// Ctrl-C: the node flushes and exits. One Ctrl-C must do, whenever it comes: a node that
    /// is still running 30 s later is killed and the test fails.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            interrupt(child.id());
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().expect("reap").is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("node {i} ignored Ctrl-C for 30 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// `kill -9`: no chance to flush or clean up.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().expect("kill");
            child.wait().expect("reap");
        }
    }

    /// `bfte status --json` of node `i`, if it answered (exit 0, or 1 for a stall).
    pub fn status(&self, i: usize) -> Option<Value> {
        let output = bfte(&["status", "--data-dir", p(&self.dirs[i]), "--json"]);
        matches!(output.status.code(), Some(0 | 1))
            .then(|| serde_json::from_slice(&output.stdout).ok())
            .flatten()
    }

    /// Whether node `i` reports finality stalled, by its exit code and its JSON alike.
    pub fn stalled(&self, i: usize) -> Option<bool> {
        let output = bfte(&["status", "--data-dir", p(&self.dirs[i]), "--json"]);
        let value: Value = serde_json::from_slice(&output.stdout).ok()?;
        let stalled = value["stalled"].as_bool()?;
        assert_eq!(output.status.code(), Some(i32::from(stalled)), "{value}");
        Some(stalled)
    }

    /// Node `i`'s peer id, from its status: it must be running.
    pub fn peer_id(&self, i: usize) -> PeerId {
        self.status(i).expect("status")["peer_id"]
            .as_str()
            .expect("a peer id in the status")
            .parse()
            .expect("peer id")
    }

    /// The valid votes stopped node `i` received, counted by signer, once its audit trail is
    /// checked to prove no double vote. Only for federations whose membership never changed:
    /// every vote is verified under the genesis epoch's signing domain.
    pub fn audited_votes(&self, i: usize) -> BTreeMap<PeerId, usize> {
        let store = Store::open(self.dirs[i].join("bfte.redb")).expect("a stopped node's store");
        let domains = [store.genesis().federation_id()];
        let audit = store
            .audit_seen_votes(&Ed25519Verifier, &domains)
            .expect("audit");
        assert_eq!(audit.conflicts, [], "node {i} holds proof of a double vote");
        audit.valid_votes
    }

    pub fn height(&self, i: usize) -> Option<u64> {
        self.status(i)?["finalized_height"].as_u64()
    }

    pub fn submit(&self, i: usize, payload: &str) -> bool {
        bfte(&["submit", "--data-dir", p(&self.dirs[i]), payload])
            .status
            .success()
    }

    /// Submits `count` items round the first four nodes and returns the height that holds
    /// them (waiting up to `within` for a block, then a moment for the rest).
    pub fn submit_some(&self, count: usize, tag: &str, within: Duration) -> u64 {
        let before = self.height(0).expect("height");
        for i in 0..count {
            assert!(self.submit(i % 4, &format!("{tag}-{i}")), "submit");
        }
        self.wait_for("blocks with the items", within, |f| {
            f.height(0).is_some_and(|h| h > before)
        });
        std::thread::sleep(Duration::from_millis(500));
        self.height(0).expect("height")
    }

    pub fn chain(&self, i: usize, upto: u64) -> Vec<String> {
        let mut hashes = Vec::new();
        let mut from = 0;
        while from <= upto {
            let text = ok(&[
                "blocks",
                "--data-dir",
                p(&self.dirs[i]),
                "--from",
                &from.to_string(),
                "--limit",
                "1000",
                "--json",
            ]);
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("json"))
                .collect();
            if lines.is_empty() {
                break;
            }
            for line in &lines {
                if line["height"].as_u64().expect("height") <= upto {
                    hashes.push(line["hash"].as_str().expect("hash").to_string());
                }
            }
            from += lines.len() as u64;
        }
        hashes
    }

    /// Waits until `check` holds, failing with the nodes' logs after `limit`.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut(&Federation) -> bool,
    ) {
        let start = Instant::now();
        while !check(self) {
            if start.elapsed() > limit {
                let tail: String = self
                    .dirs
                    .iter()
                    .map(|d| {
                        let log = node_log(d);
                        let last: Vec<&str> = log.lines().rev().take(5).collect();
                        format!("{}: {:?}\n", d.display(), last)
                    })
                    .collect();
                panic!("timed out waiting for {what}\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// `127.0.0.1:PORT` with a UDP port that was free a moment ago.
/// Ctrl-C to process `pid`.
pub fn interrupt(pid: u32) {
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    assert!(
        sent.is_ok_and(|s| s.success()),
        "cannot signal process {pid}"
    );
}

pub fn free_listen_addr() -> String {
    unused_port(|| {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port()
    })
}

/// `127.0.0.1:PORT` with a TCP port that was free a moment ago.
pub fn free_tcp_addr() -> String {
    unused_port(|| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port()
    })
}

/// A port from `free` that this process has not handed out before. The kernel may offer a
/// port again as soon as it is released, before the node it went to has bound it: two nodes
/// of one federation were once given the same port.
fn unused_port(free: impl Fn() -> u16) -> String {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = free();
        if given.insert(port) {
            return format!("127.0.0.1:{port}");
        }
    }
}

/// The newest of a node's log files (in `DIR/logs/`), then its stderr (`DIR/node.log`: where
/// the log is, and the error it stopped with).
pub fn node_log(dir: &Path) -> String {
    let newest = std::fs::read_dir(dir.join("logs"))
        .ok()
        .and_then(|entries| entries.filter_map(Result::ok).map(|e| e.path()).max());
    let log = newest
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    log + &std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
