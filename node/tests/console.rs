//! The console end to end, in a real terminal (tmux) against real node processes: the demo
//! opens it, every screen shows live data, finalized height rises, `q` gives the terminal back;
//! it reconnects when its node restarts and raises the stall alert when the quorum is lost;
//! it shows module state as the ledger applies it; and the admin CLI commands it sits beside
//! answer. Needs tmux (`.ci/run` installs it).

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{BFTE, Federation, bfte, json, p};

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

    tmux.keys(&["6"]);
    tmux.wait_text("[6 Modules]");
    tmux.wait_text("evidence");
    tmux.wait_text("data keeps no state");

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

#[test]
fn the_console_reconnects_after_a_restart_and_alerts_on_a_lost_quorum_and_the_cli_answers() {
    let mut federation = Federation::new(4);
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

    federation.wait_for("every peer connected", WAIT, |_| {
        let peers = json(&["peers", "--data-dir", &dir, "--json"]);
        peers
            .as_array()
            .is_some_and(|list| list.len() == 4 && list.iter().all(|p| p["connected"] == true))
    });
    let peers = json(&["peers", "--data-dir", &dir, "--json"]);
    for peer in peers.as_array().expect("a list") {
        if peer["self"] == true {
            assert!(peer["path"].is_null(), "{peer}");
        } else {
            assert_eq!(peer["path"], "direct", "{peer}");
            assert!(peer["rtt_us"].as_u64().is_some(), "{peer}");
        }
    }
    let block = json(&["block", "1", "--data-dir", &dir, "--json"]);
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

    // Module state as the ledger applied it: one peer's metadata proposal stays pending (a
    // quorum is three of four), an attestation by one peer is not final.
    tmux.keys(&["6"]);
    tmux.wait_text("[6 Modules]");
    tmux.wait_text("data keeps no state");
    tmux.keys(&["j"]);
    common::ok(&[
        "meta",
        "--data-dir",
        &dir,
        "set",
        "federation.name",
        "Console test",
    ]);
    common::ok(&[
        "attest",
        "--data-dir",
        &dir,
        "artifact-3f9a",
        "built-from-81e5319",
    ]);
    tmux.wait_text("\"Console test\" by peer0");
    tmux.keys(&["j"]);
    tmux.wait_text("artifact-3f9a");
    tmux.wait_text("… pending");
    tmux.keys(&["1"]);
    tmux.wait_text("[1 Overview]");

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
