//! The console end to end, in a real terminal (tmux) against real node processes: the demo
//! opens it, every screen shows live data, finalized height rises, `q` gives the terminal back;
//! it reconnects when its node restarts and raises the stall alert when the quorum is lost;
//! and the admin CLI commands it sits beside answer.
//! Needs tmux (`.ci/run` installs it).

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const BFTE: &str = env!("CARGO_BIN_EXE_bfte");
const WAIT: Duration = Duration::from_secs(60);

/// A tmux server of our own (its own socket), holding one 120x40 window.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` in a fresh window; when it ends, the window prints its exit code and
    /// whether the terminal is back in canonical mode, and stays open to be read.
    fn start(command: &str) -> Tmux {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let socket = format!(
            "bfte-console-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let script = format!(
            "{command}; echo \"CONSOLE EXITED $?\"; stty -a | tr ' ' '\\n' | grep -x -- '-*icanon'; sleep 600"
        );
        let tmux = Tmux { socket };
        tmux.run(&["new-session", "-d", "-x", "120", "-y", "40", &script]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (install it: apt-get install tmux)");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    /// Polls the screen until `check` finds what it wants; returns it.
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if let Some(found) = check(&screen) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {what} on screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |screen| {
            screen.contains(text).then(|| screen.to_string())
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The finalized height the overview shows.
fn overview_height(screen: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains("finalized  height"))?;
    line.split("height")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn bfte(args: &[&str]) -> Output {
    Command::new(BFTE).args(args).output().expect("bfte runs")
}

#[test]
fn demo_opens_the_console_walks_every_screen_and_quits_cleanly() {
    let temp = tempfile::tempdir().expect("tempdir");
    let fed = temp.path().join("fed");
    let tmux = Tmux::start(&format!("{BFTE} demo --peers 4 --dir {}", p(&fed)));

    tmux.wait_text("[1 Overview]");
    tmux.wait_text("connected to");
    let first = tmux.wait_for("a finalized height", |s| {
        overview_height(s).filter(|h| *h >= 2)
    });
    tmux.wait_text("4 of 4 connected");
    tmux.wait_text("● connected");

    tmux.keys(&["2"]);
    tmux.wait_text("[2 Rounds]");
    tmux.wait_text("✔ final");
    tmux.wait_for("votes in the grid", |s| s.contains("NF").then_some(()));

    tmux.keys(&["3"]);
    tmux.wait_text("Finalized blocks");
    tmux.keys(&["Enter"]);
    tmux.wait_text("Certificate");
    tmux.wait_text("peers signed");
    // The demo's items, decoded and applied by the ledger.
    tmux.wait_text("✔ data: \"demo item");
    tmux.keys(&["Escape"]);
    tmux.wait_text("Finalized blocks");

    tmux.keys(&["7"]);
    tmux.wait_text("[7 Log]");
    tmux.wait_text("finalized height=");
    tmux.keys(&["Tab"]);
    tmux.wait_text("[1 Overview]");
    tmux.wait_for("the finalized height rising", |s| {
        overview_height(s).filter(|h| *h > first)
    });

    tmux.keys(&["?"]);
    tmux.wait_text("Keys (any key closes)");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help closed", |s| {
        (!s.contains("Keys (any")).then_some(())
    });

    tmux.keys(&["q"]);
    let after = tmux.wait_text("CONSOLE EXITED");
    assert!(after.contains("CONSOLE EXITED 0"), "{after}");
    assert!(
        !after.contains("[1 Overview]"),
        "the alternate screen was not left:\n{after}"
    );
    assert!(
        !after.contains("-icanon"),
        "the terminal was left in raw mode:\n{after}"
    );
    // The demo stopped its nodes with the console.
    let status = bfte(&["status", "--data-dir", p(&fed.join("peer0"))]);
    assert_eq!(status.status.code(), Some(2), "peer0 still answers");
}

/// Four `bfte run` processes set up by hand, so one can be killed and restarted.
struct Federation {
    dirs: Vec<PathBuf>,
    nodes: Vec<Option<Child>>,
}

impl Federation {
    fn new(root: &Path, n: usize) -> Federation {
        let dirs: Vec<PathBuf> = (0..n).map(|i| root.join(format!("peer{i}"))).collect();
        for (i, dir) in dirs.iter().enumerate() {
            let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|s| s.local_addr())
                .expect("free port")
                .port();
            let listen = format!("127.0.0.1:{port}");
            let name = format!("peer{i}");
            let init = [
                "init",
                "--data-dir",
                p(dir),
                "--name",
                &name,
                "--listen",
                &listen,
            ];
            assert!(bfte(&init).status.success());
        }
        let genesis = root.join("genesis.json");
        let mut args = vec!["genesis", "--name", "console", "--round-timeout-ms", "500"];
        args.extend(["--out", p(&genesis)]);
        args.extend(dirs.iter().map(|d| p(d)));
        assert!(bfte(&args).status.success());
        for dir in &dirs {
            std::fs::copy(&genesis, dir.join("genesis.json")).expect("copy genesis");
        }
        let mut federation = Federation {
            nodes: (0..n).map(|_| None).collect(),
            dirs,
        };
        for i in 0..n {
            federation.start(i);
        }
        federation
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::File::create(self.dirs[i].join("node.log")).expect("log file");
        let child = Command::new(BFTE)
            .args(["run", "--data-dir", p(&self.dirs[i]), "--relay", "off"])
            .env("RUST_LOG", "bfte_node=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn node");
        self.nodes[i] = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = bfte(args);
        assert!(
            output.status.success(),
            "bfte {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("json")
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_console_reconnects_after_a_restart_and_alerts_on_a_lost_quorum_and_the_cli_answers() {
    let temp = tempfile::tempdir().expect("tempdir");
    let mut federation = Federation::new(temp.path(), 4);
    let peer0 = federation.dirs[0].clone();
    let dir = p(&peer0).to_string();
    let tmux = Tmux::start(&format!("{BFTE} tui --data-dir {dir}"));
    tmux.wait_text("connected to");

    // Work to finalize: the federation is idle without items.
    for n in 0..3 {
        let item = format!("item {n}");
        assert!(
            bfte(&["submit", "--data-dir", &dir, &item])
                .status
                .success()
        );
    }
    tmux.wait_for("a finalized block", |s| {
        overview_height(s).filter(|h| *h >= 1)
    });

    wait_until("every peer connected", || {
        let peers = federation.json(&["peers", "--data-dir", &dir, "--json"]);
        peers
            .as_array()
            .is_some_and(|list| list.len() == 4 && list.iter().all(|p| p["connected"] == true))
    });
    let peers = federation.json(&["peers", "--data-dir", &dir, "--json"]);
    for peer in peers.as_array().expect("a list") {
        if peer["self"] == true {
            assert!(peer["path"].is_null(), "{peer}");
        } else {
            assert_eq!(peer["path"], "direct", "{peer}");
            assert!(peer["rtt_us"].as_u64().is_some(), "{peer}");
        }
    }
    let block = federation.json(&["block", "1", "--data-dir", &dir, "--json"]);
    assert_eq!(block["height"], 1);
    assert!(
        block["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
    );
    let missing = bfte(&["block", "999999", "--data-dir", &dir]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no block is final at height"));
    let text = bfte(&["peers", "--data-dir", &dir]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("this node"));

    federation.kill(0);
    tmux.wait_text("connecting to node at");
    federation.start(0);
    tmux.wait_text("node restarted, reconnected");
    assert!(
        bfte(&["submit", "--data-dir", &dir, "after restart"])
            .status
            .success()
    );
    tmux.wait_for("finality after the restart", |s| {
        overview_height(s).filter(|h| *h >= 2)
    });

    // Without a quorum, votes go on and nothing finalizes: the overview says so.
    federation.kill(2);
    federation.kill(3);
    assert!(
        bfte(&["submit", "--data-dir", &dir, "stuck"])
            .status
            .success()
    );
    tmux.wait_text("FINALITY STALLED");
    tmux.wait_text("○ disconnected");
    tmux.keys(&["q"]);
    assert!(
        tmux.wait_text("CONSOLE EXITED")
            .contains("CONSOLE EXITED 0")
    );
}
