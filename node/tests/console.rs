//! The console end to end, in a real terminal (tmux) against real node processes: the demo
//! opens it, every screen shows live data, finalized height rises, `q` gives the terminal back;
//! it reconnects when its node restarts and raises the stall alert when the quorum is lost;
//! it shows module state as the ledger applies it; and the admin CLI commands it sits beside
//! answer; on Governance it votes on another peer's proposal through its dialog and sees the
//! vote counted; with two of five peers down it names them in the quorum sentence and sees
//! finality recover once they are back. Needs tmux (`.ci/run` installs it). An ignored test retakes the screenshots in
//! `assets/console-*.txt`.

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

    tmux.keys(&["4"]);
    tmux.wait_text("[4 Governance]");
    tmux.wait_text("Epoch in force");
    tmux.keys(&["5"]);
    tmux.wait_text("[5 Joins]");
    tmux.wait_text("Join requests (0 pending on this node)");

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
    assert_eq!(
        missing.status.code(),
        Some(1),
        "not there yet: the answer is no"
    );
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

/// Two of five peers die: the overview names them in the quorum sentence, and says finality
/// keeps up again once they are back.
#[test]
fn the_console_names_the_silent_peers_of_a_lost_quorum_and_sees_finality_recover() {
    let mut federation = Federation::new(5);
    let dir = p(&federation.dirs[0]).to_string();
    let tmux = Tmux::start(&format!("{BFTE} tui --data-dir {dir}"));
    tmux.wait_text("connected to");
    federation.wait_for("every peer connected", WAIT, |_| {
        let peers = json(&["peers", "--data-dir", &dir, "--json"]);
        peers
            .as_array()
            .is_some_and(|list| list.len() == 5 && list.iter().all(|p| p["connected"] == true))
    });
    let submit = |text: &str| {
        assert!(bfte(&["submit", "--data-dir", &dir, text]).status.success());
    };
    submit("before");
    tmux.wait_for("a finalized block", |s| {
        overview_height(s).filter(|h| *h >= 1)
    });

    federation.kill(3);
    federation.kill(4);
    submit("stuck");
    let line = tmux.wait_for("the quorum sentence", |screen| {
        screen
            .lines()
            .find(|line| {
                line.contains("FINALITY STALLED: 3 of 5 voting, 4 needed: peer3, peer4 silent for")
            })
            .map(str::to_string)
    });
    assert!(line.contains(" s"), "{line}");
    // The stall is in the alert list with its time.
    tmux.wait_text("⚠ finality stalled");

    federation.start(3);
    federation.start(4);
    submit("after");
    tmux.wait_text("finality keeping up");
    tmux.wait_text("✓ finality recovered");
    tmux.keys(&["q"]);
    assert!(
        tmux.wait_text("CONSOLE EXITED")
            .contains("CONSOLE EXITED 0")
    );
}

/// Polls `check` until it holds; fails after `WAIT`.
fn poll(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The proposals node `dir` lists (`bfte proposals --json`), newest first.
fn proposals(dir: &str) -> Vec<serde_json::Value> {
    let value = json(&["proposals", "--data-dir", dir, "--json"]);
    value.as_array().cloned().unwrap_or_default()
}

/// The yes count in the votes panel's tally of the selected proposal ("2 yes, 0 no, ...").
fn tally_yes(screen: &str) -> Option<u64> {
    let line = screen
        .lines()
        .find(|l| l.contains(" proposed by ") && l.contains("peers in force; "))?;
    let tally = line.split(" · ").nth(1)?;
    tally.split(" yes,").next()?.trim().parse().ok()
}

#[test]
fn the_console_votes_on_an_open_proposal_through_its_dialog_and_the_vote_counts() {
    let federation = Federation::new(4);
    let dir0 = p(&federation.dirs[0]).to_string();
    let dir1 = p(&federation.dirs[1]).to_string();
    federation.wait_for("node 0 answering", WAIT, |f| f.status(0).is_some());
    let own = federation.status(0).expect("status")["peer_id"]
        .as_str()
        .expect("peer id")
        .to_string();

    let tmux = Tmux::start(&format!("{BFTE} tui --data-dir {dir0}"));
    tmux.wait_text("connected to");
    tmux.keys(&["4"]);
    tmux.wait_text("[4 Governance]");
    tmux.wait_text("no proposals yet");

    // Node 1 proposes a parameter change; its yes comes with it. Two yes of four do not pass
    // it (q = 3), so the federation runs on under the parameters it has.
    common::ok(&[
        "propose",
        "--data-dir",
        &dir1,
        "params",
        "--round-timeout-ms",
        "1500",
    ]);
    // Once node 0 lists it, the console shows it without a key: the node's ProposalChanged
    // event carries the proposal.
    federation.wait_for("node 0 listing the proposal", WAIT, |_| {
        proposals(&dir0).len() == 1
    });
    let change = "set parameters: round timeout 1500 ms";
    tmux.wait_text(change);
    tmux.wait_text("1 yes, 0 no, 3 not yet of 4 peers in force; 3 yes needed");

    // y opens the dialog: what changes, what the vote does, Cancel selected.
    tmux.keys(&["y"]);
    let dialog = tmux.wait_text("Vote yes on proposal 1?");
    assert!(dialog.contains(&format!("Change: {change}")), "{dialog}");
    assert!(dialog.contains("Passing it ends epoch 0"), "{dialog}");
    assert!(dialog.contains("This vote makes 2 of 3 needed"), "{dialog}");
    assert!(
        dialog.contains("▶ Cancel ◀"),
        "Cancel is not selected:\n{dialog}"
    );
    assert!(!dialog.contains("▶ Vote yes ◀"), "{dialog}");
    tmux.keys(&["Tab"]);
    tmux.wait_text("▶ Vote yes ◀");
    tmux.keys(&["Enter"]);

    // Counted once finalized: the screen and the CLI on node 0 both say so.
    let counted = tmux.wait_for("node 0's vote counted", |s| {
        (tally_yes(s) == Some(2)).then(|| s.to_string())
    });
    assert!(!counted.contains("Vote yes on proposal"), "{counted}");
    assert!(
        counted.contains("2 yes, 0 no, 2 not yet of 4 peers in force; 3 yes needed"),
        "{counted}"
    );
    let mine = counted
        .lines()
        .find(|l| l.contains("this node") && l.contains("peer0 ("))
        .unwrap_or_else(|| panic!("no line for this node:\n{counted}"));
    assert!(mine.contains("✔ yes"), "{mine}");
    let listed = proposals(&dir0);
    let proposal = &listed[0];
    assert_eq!(proposal["id"], 1, "{listed:?}");
    assert_eq!(proposal["status"], "open", "{proposal}");
    assert_eq!(proposal["votes"][&own], true, "{proposal}");
    assert_eq!(
        proposal["votes"].as_object().map(|v| v.len()),
        Some(2),
        "{proposal}"
    );

    tmux.keys(&["q"]);
    let after = tmux.wait_text("CONSOLE EXITED");
    assert!(after.contains("CONSOLE EXITED 0"), "{after}");
    assert!(
        !after.contains("[4 Governance]"),
        "the alternate screen was not left:\n{after}"
    );
    assert!(
        !after.contains("-icanon"),
        "the terminal was left in raw mode:\n{after}"
    );
}

/// Retakes `assets/console-*.txt`: `bfte demo` in a 120x40 tmux window, given a little of
/// everything through the CLI (metadata agreed and pending, attestations, a passed, a rejected
/// and two open proposals, a pending join request), and each screen captured as it stands.
#[test]
#[ignore = "writes assets/console-*.txt: cargo test -p bfte-node --test console -- --ignored screenshots"]
fn screenshots() {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let save = |tmux: &Tmux, name: &str| {
        let screen = tmux.screen();
        std::fs::write(assets.join(format!("console-{name}.txt")), screen).expect("write");
    };
    let temp = tempfile::tempdir().expect("tempdir");
    let fed = temp.path().join("fed");
    let peer = |i: usize| p(&fed.join(format!("peer{i}"))).to_string();
    let tmux = Tmux::start(&format!("{BFTE} demo --peers 4 --dir {}", p(&fed)));
    tmux.wait_text("4 of 4 connected");
    let run = |args: &[&str]| {
        common::ok(args);
    };

    // Modules: a name agreed by three, other keys pending, a final attestation and one that
    // waits for more builders.
    for i in 0..3 {
        run(&[
            "meta",
            "--data-dir",
            &peer(i),
            "set",
            "federation.name",
            "Demo federation",
        ]);
    }
    run(&[
        "meta",
        "--data-dir",
        &peer(0),
        "set",
        "attest.threshold",
        "3",
    ]);
    for (i, text) in [
        (1, "CI attestations"),
        (2, "CI attestations"),
        (3, "Builds"),
    ] {
        run(&[
            "meta",
            "--data-dir",
            &peer(i),
            "set",
            "federation.description",
            text,
        ]);
    }
    for (i, runner) in [(0, "a"), (1, "b"), (2, "c")] {
        let detail = format!("runner {runner}, run 812");
        run(&[
            "attest",
            "--data-dir",
            &peer(i),
            "artifact:sha256:9f2c5e",
            "built-from:git:4e1a7c",
            "--detail",
            &detail,
        ]);
    }
    run(&[
        "attest",
        "--data-dir",
        &peer(3),
        "artifact:sha256:77d01b",
        "built-from:git:91c3e0",
    ]);

    // A minute of rates for the sparklines, some of it before the governance blocks.
    tmux.wait_for("the demo running a while", |s| {
        overview_height(s).filter(|h| *h >= 120)
    });

    // Governance: proposal 1 passes (a new epoch), 2 is rejected, 3 adds erin (asked to join,
    // approved by peer1 only), 4 waits for one more yes.
    let settled = |id: u64, status: &str| {
        poll(&format!("proposal {id} {status} on peer0"), || {
            proposals(&peer(0))
                .iter()
                .any(|p| p["id"] == id && p["status"] == status)
        });
    };
    run(&[
        "propose",
        "--data-dir",
        &peer(1),
        "params",
        "--round-timeout-ms",
        "1500",
    ]);
    settled(1, "open");
    for i in [2, 3] {
        run(&["vote", "--data-dir", &peer(i), "1", "yes"]);
    }
    settled(1, "passed");
    run(&[
        "propose",
        "--data-dir",
        &peer(3),
        "upgrade-module",
        "--id",
        "2",
        "--version",
        "2",
    ]);
    settled(2, "open");
    for i in [0, 1] {
        run(&["vote", "--data-dir", &peer(i), "2", "no"]);
    }
    settled(2, "rejected");
    let code = common::ok(&["invite", "--data-dir", &peer(0)]);
    let erin = temp.path().join("erin");
    let listen = common::free_listen_addr();
    let joined = common::ok(&[
        "join",
        code.trim(),
        "--data-dir",
        p(&erin),
        "--name",
        "erin",
        "--listen",
        &listen,
    ]);
    let erin_id = joined
        .lines()
        .find_map(|line| line.strip_prefix("this node is "))
        .expect("erin's id")
        .trim()
        .to_string();
    run(&["approve", "--data-dir", &peer(1), &erin_id]);
    settled(3, "open");
    run(&[
        "propose",
        "--data-dir",
        &peer(2),
        "params",
        "--round-timeout-ms",
        "2000",
    ]);
    settled(4, "open");
    run(&["vote", "--data-dir", &peer(3), "4", "yes"]);
    poll("two yes on proposal 4", || {
        proposals(&peer(0))
            .iter()
            .any(|p| p["id"] == 4 && p["votes"].as_object().is_some_and(|v| v.len() == 2))
    });

    let passed_at = proposals(&peer(0))
        .iter()
        .find(|p| p["id"] == 1)
        .and_then(|p| p["decided_at"].as_u64())
        .expect("proposal 1 passed")
        .to_string();
    // A status line message stays until the next one; `:` and Esc clear it.
    let clear = || {
        tmux.keys(&[":", "Escape"]);
        tmux.wait_for("a status line without a message", |s| {
            s.lines()
                .any(|l| l.split("admin.sock").nth(1).map(str::trim) == Some("? help  q quit"))
                .then_some(())
        });
    };

    // Each screen as it stands. Screens 4 and 5 read the governance state when shown.
    tmux.keys(&["1"]);
    tmux.wait_text("[1 Overview]");
    clear();
    save(&tmux, "overview");
    tmux.keys(&["2"]);
    tmux.wait_text("✔ final");
    save(&tmux, "rounds");
    tmux.keys(&["3"]);
    tmux.wait_text("Finalized blocks");
    save(&tmux, "blocks");
    // The block that passed proposal 1, found by the filter.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &passed_at]);
    tmux.keys(&["Enter"]);
    tmux.wait_text(&format!("filter \"{passed_at}\""));
    tmux.keys(&["Enter"]);
    tmux.wait_text("peers signed");
    save(&tmux, "block");
    tmux.keys(&["Escape", "Escape"]);
    tmux.keys(&["4"]);
    tmux.wait_text("Proposals (4, 2 open");
    tmux.wait_text("Votes on proposal 4");
    save(&tmux, "governance");
    tmux.keys(&["y"]);
    tmux.wait_text("▶ Cancel ◀");
    save(&tmux, "vote");
    tmux.keys(&["Escape"]);
    clear();
    tmux.keys(&["5"]);
    tmux.wait_text("Request of erin");
    tmux.keys(&["a"]);
    tmux.wait_text("▶ Cancel ◀");
    save(&tmux, "joins");
    tmux.keys(&["Escape"]);
    clear();
    tmux.keys(&["6"]);
    tmux.wait_text("[6 Modules]");
    tmux.keys(&["j"]);
    tmux.wait_text("\"Demo federation\"");
    save(&tmux, "modules");
    tmux.keys(&["7"]);
    tmux.wait_text("finalized height=");
    save(&tmux, "log");
    tmux.keys(&["1", "?"]);
    tmux.wait_text("Keys (any key closes)");
    save(&tmux, "help");
    tmux.keys(&["Escape", "q"]);
    assert!(
        tmux.wait_text("CONSOLE EXITED")
            .contains("CONSOLE EXITED 0")
    );
}
