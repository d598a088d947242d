//! A replica behind NAT, knowing only the invite, follows a federation behind another NAT: first
//! through the federation's relay (`bfte relay`), then directly once hole punching opened both
//! NATs. Real processes in network namespaces (see `common/netns.rs`); needs root, and is
//! skipped with one line where the machine cannot create namespaces.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bfte_shared::join::Invite;
use common::netns::{FEDERATION_HOST, Nat, RELAY_HOST};
use common::{BFTE, Federation, Launch, bfte, ok, p, status_of};
use serde_json::Value;

/// How long the replica may take from its start to a direct path.
const DIRECT_WITHIN: Duration = Duration::from_secs(20);

/// A child process killed (and reaped) on drop, so a failing test leaves none behind.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for the relay's address, which the nodes trust through
/// SSL_CERT_FILE: what a federation with a private CA does.
fn relay_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec![RELAY_HOST.to_string()]).expect("a certificate");
    let (cert, key) = (dir.join("relay.pem"), dir.join("relay-key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
    (cert, key)
}

/// `bfte relay` in the public namespace; returns it and the URL it printed.
fn start_relay(nat: &Nat, dir: &Path, cert: &Path, key: &Path) -> (Process, String) {
    let log = dir.join("relay.log");
    let listen = format!("{RELAY_HOST}:3340");
    let mut child = nat
        .command(&nat.public, BFTE)
        .args([
            "relay",
            "--listen",
            &listen,
            "--tls-cert",
            p(cert),
            "--tls-key",
            p(key),
        ])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("relay log"))
        .spawn()
        .expect("spawn the relay");
    let stdout = child.stdout.take().expect("the relay's stdout");
    let relay = Process { child, log };
    let mut url = String::new();
    BufReader::new(stdout)
        .read_line(&mut url)
        .expect("read the relay's URL");
    assert_eq!(
        url.trim(),
        format!("http://{listen}"),
        "the relay printed no URL: {}",
        relay.log()
    );
    (relay, url.trim().to_string())
}

/// `bfte replicate CODE` in the home namespace, with no `--relay`: the invite is all it knows.
fn start_replica(nat: &Nat, dir: &Path, code: &str, cert: &Path) -> Process {
    let log = dir.with_extension("log");
    let child = nat
        .command(&nat.home, BFTE)
        .args(["replicate", code, "--data-dir", p(dir)])
        .env("RUST_LOG", "bfte_node=info")
        .env("SSL_CERT_FILE", cert)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("replica log"))
        .spawn()
        .expect("spawn the replica");
    Process { child, log }
}

/// What the replica's status says over time: the paths its source connection took, in order.
struct Watch<'a> {
    dir: &'a Path,
    replica: &'a Process,
    started: Instant,
    paths: Vec<(String, Duration)>,
}

impl Watch<'_> {
    /// Polls the replica's status until `done` holds, recording each new source path.
    fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        let mut last = None;
        loop {
            if let Some(status) = status_of(self.dir) {
                if let Some(path) = status["replication"]["source_path"].as_str()
                    && self.paths.last().is_none_or(|(seen, _)| seen != path)
                {
                    self.paths.push((path.to_string(), self.started.elapsed()));
                }
                if done(&status) {
                    return status;
                }
                last = Some(status);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; paths {:?}; last status {last:?}\n{}",
                self.paths,
                self.replica.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn at_height(&mut self, height: u64, limit: Duration) -> Value {
        self.until(&format!("the replica at height {height}"), limit, |s| {
            s["finalized_height"].as_u64() >= Some(height)
                && s["replication"]["following"] == Value::Bool(true)
        })
    }
}

#[test]
fn a_replica_behind_nat_follows_through_the_relay_then_hole_punched() {
    let nat = match Nat::build() {
        Ok(nat) => nat,
        Err(why) => {
            println!("skipped: cannot create network namespaces: {why}");
            return;
        }
    };
    let temp = tempfile::tempdir().expect("tempdir");
    let (cert, key) = relay_certificate(temp.path());
    let (_relay, url) = start_relay(&nat, temp.path(), &cert, &key);
    let federation = Federation::launch(
        4,
        Launch {
            wrapper: ["ip", "netns", "exec", nat.federation.as_str()]
                .map(String::from)
                .to_vec(),
            host: FEDERATION_HOST.into(),
            relay: url.clone(),
            env: vec![("SSL_CERT_FILE".into(), p(&cert).into())],
        },
    );
    federation.wait_for("the nodes to answer", Duration::from_secs(20), |f| {
        (0..4).all(|i| f.height(i).is_some())
    });
    let height = federation.submit_some(12, "before", Duration::from_secs(20));

    // The invite names the relay the node runs with, and only addresses the replica cannot reach.
    let code = ok(&["invite", "--data-dir", p(&federation.dirs[0])]);
    let invite = Invite::decode(&code).expect("an invite");
    assert_eq!(invite.relay.as_deref(), Some(format!("{url}/").as_str()));
    assert!(
        invite
            .peers
            .iter()
            .flat_map(|peer| &peer.addrs)
            .all(|addr| addr.starts_with(FEDERATION_HOST)),
        "{invite:?}"
    );

    // An operator may name the relay as outsiders reach it instead.
    let public = "http://relay.example.org:3340/";
    let named = ok(&[
        "invite",
        "--data-dir",
        p(&federation.dirs[1]),
        "--relay",
        public,
    ]);
    let named = Invite::decode(&named).expect("an invite");
    assert_eq!(named.relay.as_deref(), Some(public));

    let dir = temp.path().join("replica");
    let replica = start_replica(&nat, &dir, code.trim(), &cert);
    let mut watch = Watch {
        dir: &dir,
        replica: &replica,
        started: Instant::now(),
        paths: Vec::new(),
    };
    let caught_up = watch.at_height(height, Duration::from_secs(30));
    assert_eq!(caught_up["role"], "replica", "{caught_up}");
    assert_eq!(
        watch.paths.first().map(|(path, _)| path.as_str()),
        Some("relay"),
        "the connection comes up through the relay: the federation's addresses are private"
    );

    // Live: what the federation finalizes now reaches the replica.
    let height = federation.submit_some(6, "live", Duration::from_secs(20));
    watch.at_height(height, Duration::from_secs(10));

    // Both NATs map ports independently of the destination: hole punching gets through.
    watch.until("a direct path", DIRECT_WITHIN, |s| {
        s["replication"]["source_path"] == "direct"
    });
    let height = federation.submit_some(6, "direct", Duration::from_secs(20));
    let status = watch.at_height(height, Duration::from_secs(10));
    assert_eq!(status["replication"]["source_path"], "direct", "{status}");
    println!("replica paths since its start: {:?}", watch.paths);
}

#[test]
fn the_relay_prints_its_url_refuses_a_busy_address_and_stops_on_sigterm() {
    let temp = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(BFTE)
        .args(["relay", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(temp.path().join("relay.log")).expect("log"))
        .spawn()
        .expect("spawn the relay");
    let stdout = child.stdout.take().expect("stdout");
    let mut relay = Process {
        child,
        log: temp.path().join("relay.log"),
    };
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).expect("a URL");
    let listen = url
        .trim()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not a relay URL: {url:?}: {}", relay.log()));
    assert!(!listen.ends_with(":0"), "the bound port is printed: {url}");

    let busy = bfte(&["relay", "--listen", listen]);
    assert!(!busy.status.success());
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {listen}")),
        "{stderr}"
    );

    let bad = bfte(&["relay", "--listen", "relay.example.org"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");

    let pid = relay.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "cannot signal the relay");
    let status = relay.child.wait().expect("reap");
    assert!(
        status.success(),
        "stops cleanly: {status:?}: {}",
        relay.log()
    );
}
