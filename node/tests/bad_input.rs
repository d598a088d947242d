//! Bad input everywhere: every command with missing, malformed, oversized and out-of-range
//! arguments; raw garbage on a running node's admin socket; a stopped node's files truncated
//! or corrupted. Each is refused with an error that names the argument or file and says what
//! to do, a non-zero exit by the one rule, no panic, nothing in the database changed, and the
//! node's secret seed never shows in its log, stderr or any `--json` output.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, AdminRequest, AdminResponse, read_frame, write_frame,
};
use common::{BFTE, Federation, p};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// `bfte ARGS` without `BFTE_DATA_DIR` from the test's environment, stdin closed.
fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BFTE)
        .args(args)
        .env_remove("BFTE_DATA_DIR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bfte runs");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // The command may refuse before reading it all; a broken pipe here is its answer.
        let _ = pipe.write_all(bytes);
    }
    child.wait_with_output().expect("bfte ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The command failed by the rule (`code`), with `names` in its message and no panic.
fn assert_refused(args: &[&str], output: &Output, code: i32, names: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        stderr.contains(names),
        "{args:?} does not name {names}: {stderr}"
    );
}

/// Under `--json` the same refusal is one JSON line on stdout with the exit code.
fn assert_json_refused(args: &[&str], output: &Output, code: i32) -> String {
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stdout}");
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{args:?} panicked"
    );
    let mut lines = stdout.lines();
    let error: Value = serde_json::from_str(lines.next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"));
    assert_eq!(lines.next(), None, "{args:?}: one line: {stdout}");
    assert_eq!(error["code"], code, "{args:?}: {error}");
    error["error"].as_str().unwrap_or_default().to_string()
}

/// Every command with a bad argument: `(command line, what its error must name, whether the
/// command takes --json)`. `NODE` is a node's data directory (no node running), `FRESH` a
/// path where nothing is.
const BAD_ARGUMENTS: &[(&[&str], &str, bool)] = &[
    (&["demo", "--no-tui", "--peers", "0"], "--peers", false),
    (&["demo", "--no-tui", "--peers", "17"], "--peers", false),
    (&["demo", "--no-tui", "--load", "lots"], "--load", false),
    (&["init", "--listen", "127.0.0.1:4999"], "--data-dir", false),
    (
        &["init", "--data-dir", "FRESH", "--listen", "nowhere"],
        "--listen",
        false,
    ),
    (
        &["init", "--data-dir", "FRESH", "--listen", "127.0.0.1:99999"],
        "--listen",
        false,
    ),
    (
        &["genesis", "--name", "t", "--out", "FRESH"],
        "<PEERS>",
        false,
    ),
    (
        &["genesis", "--name", "t", "--out", "FRESH", "b=zz@1.2.3.4:5"],
        "bad peer id",
        false,
    ),
    (
        &[
            "genesis",
            "--name",
            "t",
            "--out",
            "FRESH",
            "NODE",
            "--round-timeout-ms",
            "0",
        ],
        "--round-timeout-ms",
        false,
    ),
    (
        &[
            "genesis",
            "--name",
            "t",
            "--out",
            "FRESH",
            "NODE",
            "--round-timeout-ms",
            "99999999999999999999",
        ],
        "--round-timeout-ms",
        false,
    ),
    (
        &["genesis", "--name", "t", "--out", "FRESH", "NODE", "NODE"],
        "listed twice",
        false,
    ),
    (
        &["genesis", "--name", "t", "--out", "FRESH", "FRESH"],
        "bfte init",
        false,
    ),
    (
        &["run", "--data-dir", "NODE", "--relay", "bogus"],
        "--relay",
        false,
    ),
    (
        &[
            "run",
            "--data-dir",
            "NODE",
            "--genesis",
            "/nonexistent/genesis.json",
        ],
        "/nonexistent/genesis.json",
        false,
    ),
    (&["status", "--json"], "--data-dir", true),
    (&["submit", "--data-dir", "NODE"], "<PAYLOADS>", false),
    (
        &["blocks", "--data-dir", "NODE", "--from", "abc", "--json"],
        "--from",
        true,
    ),
    (
        &[
            "blocks",
            "--data-dir",
            "NODE",
            "--limit",
            "99999999999",
            "--json",
        ],
        "--limit",
        true,
    ),
    (
        &["block", "--data-dir", "NODE", "x", "--json"],
        "<HEIGHT>",
        true,
    ),
    (
        &[
            "block",
            "--data-dir",
            "NODE",
            "99999999999999999999999",
            "--json",
        ],
        "<HEIGHT>",
        true,
    ),
    (
        &["outcome", "--data-dir", "NODE", "-1", "--json"],
        "-1",
        true,
    ),
    (
        &["peers", "--data-dir", "NODE", "--bogus", "--json"],
        "--bogus",
        true,
    ),
    (
        &["meta", "--data-dir", "NODE", "set", "key"],
        "<VALUE>",
        false,
    ),
    (&["meta", "--data-dir", "NODE", "frob"], "frob", false),
    (
        &["attest", "--data-dir", "NODE", "subject"],
        "<CLAIM>",
        false,
    ),
    (
        &["attestations", "--data-dir", "NODE", "--subject", "--json"],
        "--subject",
        true,
    ),
    (
        &["evidence", "--data-dir", "NODE", "--bogus", "--json"],
        "--bogus",
        true,
    ),
    (
        &["proposals", "--data-dir", "NODE", "--bogus", "--json"],
        "--bogus",
        true,
    ),
    (
        &["propose", "--data-dir", "NODE", "remove-peer", "nope"],
        "<ID>",
        false,
    ),
    (
        &[
            "propose",
            "--data-dir",
            "NODE",
            "params",
            "--round-timeout-ms",
            "0",
        ],
        "--round-timeout-ms",
        false,
    ),
    (
        &[
            "propose",
            "--data-dir",
            "NODE",
            "params",
            "--resend-interval-ms",
            "1",
        ],
        "--resend-interval-ms",
        false,
    ),
    (
        &[
            "propose",
            "--data-dir",
            "NODE",
            "params",
            "--max-backoff-doublings",
            "17",
        ],
        "--max-backoff-doublings",
        false,
    ),
    (
        &[
            "propose",
            "--data-dir",
            "NODE",
            "params",
            "--max-block-bytes",
            "10",
        ],
        "--max-block-bytes",
        false,
    ),
    (
        &[
            "propose",
            "--data-dir",
            "NODE",
            "params",
            "--max-block-items",
            "0",
        ],
        "--max-block-items",
        false,
    ),
    (
        &["vote", "--data-dir", "NODE", "1", "maybe"],
        "<BALLOT>",
        false,
    ),
    (
        &["vote", "--data-dir", "NODE", "one", "yes"],
        "<PROPOSAL>",
        false,
    ),
    (
        &["epoch", "--data-dir", "NODE", "--bogus", "--json"],
        "--bogus",
        true,
    ),
    (
        &["invite", "--data-dir", "NODE", "--relay", "not a url"],
        "--relay",
        false,
    ),
    (
        &["join", "--data-dir", "FRESH", "bfte-invite-x"],
        "--name",
        false,
    ),
    (
        &["join", "--data-dir", "FRESH", "--name", "j", "garbage"],
        "invite",
        false,
    ),
    (
        &["replicate", "--data-dir", "FRESH", "garbage"],
        "invite",
        false,
    ),
    (&["relay", "--listen", "nowhere"], "--listen", false),
    (
        &[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ],
        "/nonexistent/c.pem",
        false,
    ),
    (
        &["joins", "--data-dir", "NODE", "--bogus", "--json"],
        "--bogus",
        true,
    ),
    (
        &["approve", "--data-dir", "NODE", "notapeer"],
        "<PEER>",
        false,
    ),
    (&["reject", "--data-dir", "NODE", "zz"], "<PEER>", false),
    (&["tui", "--data-dir", "NODE", "--bogus"], "--bogus", false),
    (&["sim", "--seeds", "0", "--json"], "--seeds", true),
    (
        &["sim", "--seeds", "1", "--peers", "0", "--json"],
        "--peers",
        true,
    ),
    (
        &[
            "sim",
            "--seeds",
            "1",
            "--peers",
            "4",
            "--byzantine",
            "5",
            "--json",
        ],
        "--byzantine",
        true,
    ),
    (
        &["sim", "--seeds", "1", "--threads", "0", "--json"],
        "--threads",
        true,
    ),
    (
        &["bench", "core", "--peers", "x", "--json"],
        "--peers",
        true,
    ),
    (&["bench", "net", "--peers", "0", "--json"], "--peers", true),
    (
        &["bench", "replicate", "--empty-blocks", "0", "--json"],
        "--empty-blocks",
        true,
    ),
    (
        &["history", "verify", "/nonexistent/h.cbor", "--json"],
        "/nonexistent/h.cbor",
        true,
    ),
    (&["history", "export"], "--data-dir", false),
    (&["backup", "--data-dir", "NODE"], "<OUT>", false),
    (
        &[
            "backup",
            "--data-dir",
            "NODE",
            "/nonexistent/dir/out.redb",
            "--json",
        ],
        "/nonexistent/dir",
        true,
    ),
];

#[test]
fn every_command_refuses_bad_arguments_by_name_with_exit_2_and_json_under_json() {
    let temp = tempfile::tempdir().expect("tempdir");
    let node = temp.path().join("node");
    let init = run(
        &["init", "--data-dir", p(&node), "--listen", "127.0.0.1:4997"],
        None,
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let fresh = temp.path().join("fresh");
    for (args, names, takes_json) in BAD_ARGUMENTS {
        let args: Vec<&str> = args
            .iter()
            .map(|arg| match *arg {
                "NODE" => p(&node),
                "FRESH" => p(&fresh),
                other => other,
            })
            .collect();
        let as_text: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
        let output = run(&as_text, None);
        assert_refused(&as_text, &output, 2, names);
        assert!(output.stdout.is_empty(), "{as_text:?}: errors go to stderr");

        let mut as_json = as_text.clone();
        as_json.push("--json");
        let error = assert_json_refused(&as_json, &run(&as_json, None), 2);
        if *takes_json {
            assert!(
                error.contains(names),
                "{as_json:?} does not name {names}: {error}"
            );
        }
    }
    assert!(!fresh.exists(), "no refused command created anything");
}

/// One connection to the node's admin socket, talking raw frames.
fn raw_connection(socket: &Path) -> UnixStream {
    let stream = UnixStream::connect(socket).expect("connect to the admin socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
}

fn hello(stream: &mut UnixStream) {
    write_frame(
        &mut *stream,
        &AdminRequest::Hello {
            version: ADMIN_PROTOCOL_VERSION,
        },
    )
    .expect("hello");
    let answer: AdminResponse = read_frame(&mut *stream).expect("hello answer");
    assert!(matches!(answer, AdminResponse::Hello { .. }), "{answer:?}");
}

/// After bad input the node either answered with an error or closed the connection: never
/// anything else, never a hang.
fn assert_error_or_closed(stream: &mut UnixStream, what: &str) {
    let mut len = [0u8; 4];
    match stream.read(&mut len) {
        Ok(0) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(_) => {
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).expect("the rest");
            let mut frame = len.to_vec();
            frame.extend(rest);
            let answer: AdminResponse = read_frame(frame.as_slice()).expect("a whole frame");
            assert!(
                matches!(answer, AdminResponse::Error(_)),
                "{what}: {answer:?}"
            );
        }
        Err(error) => panic!("{what}: the node neither answered nor closed: {error}"),
    }
}

#[test]
fn a_running_node_survives_bad_admin_frames_and_bad_requests_and_keeps_finalizing() {
    let fed = Federation::new(1);
    fed.wait_for("the node answering", WAIT, |f| f.status(0).is_some());
    let dir = &fed.dirs[0];
    let socket = dir.join("admin.sock");

    // Frames that are not frames.
    let length = |n: u32| n.to_be_bytes().to_vec();
    let garbage = [length(5), vec![0xff; 5]].concat();
    let oversized = length(u32::MAX);
    let truncated = [length(100), vec![0xa1; 10]].concat();
    for (what, bytes, after_hello) in [
        ("garbage", &garbage, false),
        ("oversized length", &oversized, false),
        ("truncated frame", &truncated, false),
        ("garbage after hello", &garbage, true),
        ("oversized after hello", &oversized, true),
        ("truncated after hello", &truncated, true),
    ] {
        let mut stream = raw_connection(&socket);
        if after_hello {
            hello(&mut stream);
        }
        stream.write_all(bytes).expect("send");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
        assert_error_or_closed(&mut stream, what);
    }

    // Requests that are frames, but wrong.
    for (what, request) in [
        (
            "another protocol version",
            AdminRequest::Hello { version: u32::MAX },
        ),
        ("no hello first", AdminRequest::Status),
    ] {
        let mut stream = raw_connection(&socket);
        write_frame(&mut stream, &request).expect("send");
        let answer: AdminResponse = read_frame(&mut stream).expect("an answer");
        let AdminResponse::Error(message) = answer else {
            panic!("{what}: {answer:?}");
        };
        assert!(message.contains("admin protocol"), "{what}: {message}");
    }

    // Out-of-range reads are answered, not fatal.
    let mut stream = raw_connection(&socket);
    hello(&mut stream);
    for request in [
        AdminRequest::Blocks {
            from: bfte_shared::round::Height(u64::MAX),
            limit: u32::MAX,
        },
        AdminRequest::Block {
            height: bfte_shared::round::Height(u64::MAX),
        },
        AdminRequest::Outcome {
            height: bfte_shared::round::Height(u64::MAX),
        },
        AdminRequest::ModuleEntries {
            module: bfte_shared::item::ModuleId(u16::MAX),
            table: "no/such/table".into(),
        },
    ] {
        write_frame(&mut stream, &request).expect("send");
        let answer: AdminResponse = read_frame(&mut stream).expect("an answer");
        assert!(
            matches!(
                answer,
                AdminResponse::Blocks(ref b) if b.is_empty()
            ) || matches!(
                answer,
                AdminResponse::Block(None)
                    | AdminResponse::Outcome(None)
                    | AdminResponse::ModuleEntries(_)
                    | AdminResponse::Error(_)
            ),
            "{request:?}: {answer:?}"
        );
    }
    // A write on the read-only socket.
    let mut read_only = raw_connection(&dir.join("admin-ro.sock"));
    hello(&mut read_only);
    write_frame(&mut read_only, &AdminRequest::Submit { data: vec![1] }).expect("send");
    let answer: AdminResponse = read_frame(&mut read_only).expect("an answer");
    assert!(matches!(answer, AdminResponse::Error(_)), "{answer:?}");

    // The same through the CLI: out of range is "not there" (1), oversized is "not done" (2).
    let d = p(dir);
    let max = u64::MAX.to_string();
    for args in [
        vec!["block", "--data-dir", d, &max],
        vec!["outcome", "--data-dir", d, &max],
    ] {
        assert_refused(&args, &run(&args, None), 1, &max);
    }
    let blocks = run(&["blocks", "--data-dir", d, "--from", &max, "--json"], None);
    assert!(blocks.status.success(), "{}", text(&blocks.stderr));
    assert!(blocks.stdout.is_empty(), "no blocks up there");
    let huge_line = vec![b'a'; bfte_shared::admin::MAX_ADMIN_FRAME + 1];
    let args = ["submit", "--data-dir", d, "--lines"];
    let oversized = run(&args, Some(&huge_line));
    assert_refused(&args, &oversized, 2, "send less at once");

    // It still answers and finalizes.
    let before = fed.height(0).expect("height");
    assert!(fed.submit(0, "after the garbage"), "submit");
    fed.wait_for("a block after the bad input", WAIT, |f| {
        f.height(0).is_some_and(|h| h > before)
    });
    let log = std::fs::read_to_string(dir.join("node.log")).expect("log");
    assert!(!log.contains("panicked"), "{log}");
}

/// A copy of a stopped node's data directory, to break one file of.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn file_hash(path: &Path) -> Option<blake3::Hash> {
    std::fs::read(path).ok().map(|bytes| blake3::hash(&bytes))
}

/// `bfte run` on `dir`, which must refuse to start: killed (and failed) if it is still running
/// after a generous while.
fn run_refused(dir: &Path) -> Output {
    let mut child = Command::new(BFTE)
        .args(["run", "--relay", "off", "--data-dir", p(dir)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bfte run");
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > WAIT {
            child.kill().expect("kill");
            let output = child.wait_with_output().expect("reap");
            panic!(
                "bfte run started on a broken {}: {}",
                dir.display(),
                text(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// What a broken file looks like: the file, how it is broken, and what the error must say.
type Breakage = (&'static str, fn(&Path), &'static str);

fn truncate_to(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .expect("truncate");
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.seek(SeekFrom::Start(at)).expect("seek");
    file.write_all(bytes).expect("write");
}

const BREAKAGES: &[Breakage] = &[
    ("bfte.redb", |f| truncate_to(f, 0), "check the path"),
    (
        "bfte.redb",
        |f| truncate_to(f, 1000),
        "restore it from a backup",
    ),
    (
        "bfte.redb",
        |f| overwrite(f, 0, &[0x5a; 512]),
        "check the path",
    ),
    (
        "bfte.redb",
        |f| overwrite(f, 4096, &[0xe1; 8192]),
        "restore it from a backup",
    ),
    (
        "secret.key",
        |f| truncate_to(f, 10),
        "restore it from your backup",
    ),
    (
        "secret.key",
        |f| truncate_to(f, 0),
        "restore it from your backup",
    ),
    (
        "genesis.json",
        |f| truncate_to(f, 100),
        "not a valid genesis file",
    ),
    (
        "genesis.json",
        |f| {
            let text = std::fs::read_to_string(f).expect("genesis");
            let broken = text.replace("\"round_timeout_ms\": 500", "\"round_timeout_ms\": 0");
            assert_ne!(text, broken, "the genesis names its timeout");
            std::fs::write(f, broken).expect("write");
        },
        "at least 10 ms",
    ),
    ("node.json", |f| truncate_to(f, 10), "fix it by hand"),
    (
        "node.json",
        |f| std::fs::remove_file(f).expect("rm"),
        "restore it from a backup",
    ),
    (
        "blobs",
        |f| {
            std::fs::remove_dir_all(f).expect("rm blobs");
            std::fs::write(f, "not a directory").expect("write");
        },
        "move it out of the way",
    ),
];

#[test]
fn broken_files_of_a_stopped_node_are_refused_by_name_and_change_nothing() {
    let mut fed = Federation::new(1);
    fed.wait_for("the node answering", WAIT, |f| f.status(0).is_some());
    assert!(fed.submit(0, "something stored"), "submit");
    fed.wait_for("a block", WAIT, |f| f.height(0).is_some_and(|h| h > 0));
    fed.stop(0);
    let good = fed.dirs[0].clone();
    let database = |dir: &Path| dir.join("bfte.redb");

    // Refused commands against the intact, stopped node leave its database as it was.
    let before = file_hash(&database(&good)).expect("database");
    let other_genesis = fed.spare_dir("other-genesis.json");
    let other = run(
        &[
            "genesis",
            "--name",
            "other",
            "--out",
            p(&other_genesis),
            p(&good),
        ],
        None,
    );
    assert!(other.status.success(), "{}", text(&other.stderr));
    let d = p(&good);
    for (args, code, names) in [
        (
            vec!["init", "--data-dir", d],
            2,
            "already holds a peer identity",
        ),
        (
            vec![
                "run",
                "--relay",
                "off",
                "--data-dir",
                d,
                "--genesis",
                p(&other_genesis),
            ],
            2,
            "another federation",
        ),
        (vec!["status", "--data-dir", d], 2, "bfte run --data-dir"),
        (vec!["submit", "--data-dir", d, "x"], 2, "admin.sock"),
        (
            vec!["history", "export", "--data-dir", d, "--from", "999"],
            2,
            "999",
        ),
    ] {
        assert_refused(&args, &run(&args, None), code, names);
    }
    assert_eq!(
        file_hash(&database(&good)),
        Some(before),
        "the database changed"
    );

    for (i, (file, break_it, says)) in BREAKAGES.iter().enumerate() {
        let dir: PathBuf = fed.spare_dir(&format!("broken{i}"));
        copy_dir(&good, &dir);
        break_it(&dir.join(file));
        let database_before = file_hash(&database(&dir));
        let output = run_refused(&dir);
        let what = format!("{file} broken ({i})");
        assert_refused(&[&what], &output, 2, file);
        assert_refused(&[&what], &output, 2, says);
        let args = ["status", "--data-dir", p(&dir)];
        let status = run(&args, None);
        assert_eq!(
            status.status.code(),
            Some(2),
            "{what}: {}",
            text(&status.stderr)
        );
        assert!(!text(&status.stderr).contains("panicked"), "{what}");
        assert_eq!(
            file_hash(&database(&dir)),
            database_before,
            "{what}: the database changed"
        );
    }
}

/// The encodings a seed could leak in.
fn encodings(seed: &[u8]) -> Vec<String> {
    let hex = data_encoding::HEXLOWER.encode(seed);
    let base32 = data_encoding::BASE32_NOPAD.encode(seed);
    let base64 = data_encoding::BASE64.encode(seed);
    vec![
        hex.clone(),
        hex.to_uppercase(),
        hex[..16].to_string(),
        base32.to_lowercase(),
        base32,
        base64,
    ]
}

#[test]
fn the_secret_seed_never_shows_in_logs_stderr_or_json() {
    let mut fed = Federation::new(1);
    fed.wait_for("the node answering", WAIT, |f| f.status(0).is_some());
    assert!(fed.submit(0, "an item"), "submit");
    fed.wait_for("a block", WAIT, |f| f.height(0).is_some_and(|h| h > 0));
    let dir = fed.dirs[0].clone();
    let d = p(&dir);
    let hex = std::fs::read_to_string(dir.join("secret.key")).expect("secret");
    let seed = data_encoding::HEXLOWER
        .decode(hex.trim().as_bytes())
        .expect("hex seed");
    let leaks = encodings(&seed);

    let mut seen = String::new();
    for args in [
        vec!["status", "--data-dir", d, "--json"],
        vec!["blocks", "--data-dir", d, "--json"],
        vec!["block", "--data-dir", d, "1", "--json"],
        vec!["peers", "--data-dir", d, "--json"],
        vec!["outcome", "--data-dir", d, "1", "--json"],
        vec!["attestations", "--data-dir", d, "--json"],
        vec!["evidence", "--data-dir", d, "--json"],
        vec!["proposals", "--data-dir", d, "--json"],
        vec!["epoch", "--data-dir", d, "--json"],
        vec!["joins", "--data-dir", d, "--json"],
        vec!["meta", "--data-dir", d, "get", "--json"],
        vec!["invite", "--data-dir", d],
        vec!["block", "--data-dir", d, "999999", "--json"],
    ] {
        let output = run(&args, None);
        seen.push_str(&text(&output.stdout));
        seen.push_str(&text(&output.stderr));
    }
    fed.stop(0);
    // A key file that is almost right must not be echoed back either.
    std::fs::write(dir.join("secret.key"), &hex[..63]).expect("damage the key");
    let damaged = run_refused(&dir);
    seen.push_str(&text(&damaged.stderr));
    seen.push_str(&std::fs::read_to_string(dir.join("node.log")).expect("log"));
    assert!(seen.contains("secret.key"), "the damaged key was reported");
    for leak in &leaks {
        assert!(!seen.contains(leak.as_str()), "the seed leaked as {leak}");
    }
}
