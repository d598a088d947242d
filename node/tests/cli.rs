//! The command line's edges with the real binary: a directory without a node points to
//! `bfte init` from every command that needs one; errors are JSON under `--json`; exit codes
//! follow the one rule (0 fine, 1 the answer is no, 2 not done); `--data-dir` comes from
//! either position or `BFTE_DATA_DIR`; `bfte tui` waits, saying so, for a node not started.

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BFTE, Federation, bfte, ok, p};
use serde_json::Value;

/// A peer id that no federation here knows.
const STRANGER: &str = "66lmf2gbdltm4pilpbsu37wghviete3j27w3xfogknc3qlqdwf4a";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The one JSON line a `--json` command printed on stdout.
fn json_line(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let value = serde_json::from_str(lines.next().unwrap_or_default())
        .unwrap_or_else(|error| panic!("not JSON ({error}): {stdout}"));
    assert_eq!(lines.next(), None, "one line: {stdout}");
    value
}

/// Every command that needs a node, with `DIR` where its data directory goes.
const NEEDING_A_NODE: &[&[&str]] = &[
    &["status", "--data-dir", "DIR"],
    &["submit", "--data-dir", "DIR", "hello"],
    &["blocks", "--data-dir", "DIR"],
    &["block", "1", "--data-dir", "DIR"],
    &["peers", "--data-dir", "DIR"],
    &["outcome", "--data-dir", "DIR", "1"],
    &["meta", "--data-dir", "DIR", "get"],
    &["meta", "set", "--data-dir", "DIR", "k", "v"],
    &["attest", "--data-dir", "DIR", "subject", "claim"],
    &["attestations", "--data-dir", "DIR"],
    &["evidence", "--data-dir", "DIR"],
    &["proposals", "--data-dir", "DIR"],
    &["propose", "remove-peer", STRANGER, "--data-dir", "DIR"],
    &["vote", "--data-dir", "DIR", "1", "yes"],
    &["epoch", "--data-dir", "DIR"],
    &["invite", "--data-dir", "DIR"],
    &["joins", "--data-dir", "DIR"],
    &["approve", "--data-dir", "DIR", STRANGER],
    &["reject", "--data-dir", "DIR", STRANGER],
    &["tui", "--data-dir", "DIR"],
    &["run", "--relay", "off", "--data-dir", "DIR"],
    &["history", "export", "--data-dir", "DIR"],
];

fn with_dir<'a>(args: &[&'a str], dir: &'a str) -> Vec<&'a str> {
    args.iter()
        .map(|arg| if *arg == "DIR" { dir } else { *arg })
        .collect()
}

#[test]
fn every_command_that_needs_a_node_points_an_empty_directory_to_bfte_init() {
    let temp = tempfile::tempdir().expect("tempdir");
    for dir in [temp.path().to_path_buf(), temp.path().join("typo")] {
        let init = format!("bfte init --data-dir {}", dir.display());
        for args in NEEDING_A_NODE {
            let args = with_dir(args, p(&dir));
            let output = Command::new(BFTE)
                .args(&args)
                .stdin(Stdio::null())
                .output()
                .expect("bfte runs");
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
            assert!(message.contains(&init), "{args:?}: {message}");
        }
    }
    assert!(!temp.path().join("typo").exists(), "no command made it");
}

#[test]
fn under_json_an_error_is_one_json_line_on_stdout_with_the_exit_code() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = p(temp.path());
    for args in [
        vec!["status", "--data-dir", dir, "--json"],
        vec!["meta", "--data-dir", dir, "get", "--json"],
        vec!["block", "3", "--json", "--data-dir", dir],
        vec!["history", "verify", "--json", "/nonexistent/history.cbor"],
    ] {
        let output = bfte(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = json_line(&output);
        assert_eq!(error["code"], 2, "{args:?}: {error}");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("bfte init") || message.contains("cannot open"),
            "{args:?}: {error}"
        );
        assert!(!stderr(&output).contains("error"), "{args:?}: stderr too");
    }
    // A command line that does not parse, too.
    let usage = bfte(&["status", "--data-dir", dir, "--json", "--bogus"]);
    assert_eq!(usage.status.code(), Some(2));
    let error = json_line(&usage);
    assert_eq!(error["code"], 2, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("unexpected argument '--bogus'")),
        "{error}"
    );
    // Without --json the same error is text on stderr, and stdout stays empty.
    let text = bfte(&["status", "--data-dir", dir]);
    assert!(text.stdout.is_empty());
    assert!(stderr(&text).starts_with("error: "), "{}", stderr(&text));
}

#[test]
fn the_data_directory_comes_from_bfte_data_dir_and_a_flag_overrides_it() {
    let temp = tempfile::tempdir().expect("tempdir");
    let from_env = temp.path().join("from-env");
    let from_flag = temp.path().join("from-flag");
    let run = |args: &[&str]| {
        Command::new(BFTE)
            .args(args)
            .env("BFTE_DATA_DIR", &from_env)
            .output()
            .expect("bfte runs")
    };
    let env_only = stderr(&run(&["meta", "get"]));
    assert!(
        env_only.contains(&format!("bfte init --data-dir {}", from_env.display())),
        "{env_only}"
    );
    let flag = stderr(&run(&["status", "--data-dir", p(&from_flag)]));
    assert!(flag.contains(&from_flag.display().to_string()), "{flag}");
    assert!(!flag.contains(&from_env.display().to_string()), "{flag}");
    // `bfte init` takes it too.
    let init = run(&["init", "--listen", "127.0.0.1:4999"]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(from_env.join("secret.key").exists());
    // Commands that work on no node refuse the flag: their help does not list it.
    let sim = bfte(&["sim", "--data-dir", p(&from_flag), "--seeds", "1"]);
    assert_eq!(sim.status.code(), Some(2), "a usage error");
}

#[test]
fn a_running_node_answers_yes_no_and_not_done_by_the_rule() {
    let mut fed = Federation::new(1);
    fed.wait_for("the node answering", Duration::from_secs(30), |f| {
        f.status(0).is_some()
    });
    let dir = p(&fed.dirs[0]).to_string();

    // --data-dir after the subcommand, and from the environment.
    ok(&["meta", "set", "--data-dir", &dir, "team", "blue"]);
    let status = Command::new(BFTE)
        .args(["status", "--json"])
        .env("BFTE_DATA_DIR", &dir)
        .output()
        .expect("bfte runs");
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let status: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["stalled"], false, "{status}");

    // 1: what was asked for is not there yet, as JSON under --json.
    let missing = bfte(&["block", "999999", "--data-dir", &dir, "--json"]);
    assert_eq!(missing.status.code(), Some(1));
    let error = json_line(&missing);
    assert_eq!(error["code"], 1, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("no block is final at height 999999")),
        "{error}"
    );
    // 1: the node refused.
    let refused = bfte(&["reject", "--data-dir", &dir, STRANGER]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("the node refused"));

    // 2: the node is gone.
    fed.stop(0);
    let gone = bfte(&["status", "--data-dir", &dir, "--json"]);
    assert_eq!(gone.status.code(), Some(2));
    let error = json_line(&gone);
    assert_eq!(error["code"], 2, "{error}");
    let start = format!("bfte run --data-dir {dir}");
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains(&start)),
        "{error}"
    );
}

#[test]
fn the_console_waits_for_a_node_not_running_yet_and_says_so() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("alice");
    ok(&["init", "--data-dir", p(&dir), "--listen", "127.0.0.1:4998"]);
    let mut console = Command::new(BFTE)
        .args(["tui", "--data-dir", p(&dir)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bfte tui starts");
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(
            console.try_wait().expect("try_wait").is_none(),
            "it gave up instead of waiting"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    console.kill().expect("kill");
    console.wait().expect("reap");
    let mut said = String::new();
    if let Some(mut pipe) = console.stderr.take() {
        pipe.read_to_string(&mut said).expect("stderr");
    }
    assert!(said.contains("no node is running in"), "{said}");
    let start = format!("bfte run --data-dir {} --genesis FILE", dir.display());
    assert!(said.contains(&start), "{said}");
}
