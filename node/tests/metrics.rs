//! `bfte run --metrics`: a real federation's nodes serve Prometheus text that a parser reads,
//! with figures that follow what the federation does; and a node's log goes to its log file,
//! never to its stderr.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Federation, bfte, free_tcp_addr, node_log, p};
use prometheus_parse::{Sample, Scrape, Value};

/// `GET path` on `addr`: the status code and the body; `None` while nobody answers.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The node's metrics, parsed as Prometheus text.
fn scrape(addr: &str) -> Option<Scrape> {
    let (code, body) = get(addr, "/metrics")?;
    assert_eq!(code, 200, "{body}");
    let lines = body.lines().map(|line| Ok(line.to_string()));
    Some(Scrape::parse(lines).expect("Prometheus text"))
}

fn value(sample: &Sample) -> f64 {
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{} is not a single value: {other:?}", sample.metric),
    }
}

/// The value of `metric` with `peer="<peer>"` (or without labels if `peer` is `None`).
fn figure(scrape: &Scrape, metric: &str, peer: Option<&str>) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("peer") == peer)
        .map(value)
}

fn node_figure(fed: &Federation, node: usize, metric: &str, peer: Option<&str>) -> Option<f64> {
    let addrs = fed.metrics.as_ref().expect("metrics addresses");
    figure(&scrape(&addrs[node])?, metric, peer)
}

#[test]
fn nodes_serve_metrics_that_follow_the_federation_and_log_to_a_file_only() {
    let mut fed = Federation::with_metrics(4);
    let addrs = fed.metrics.clone().expect("metrics addresses");
    fed.wait_for("every node's metrics", Duration::from_secs(30), |f| {
        (0..4).all(|i| node_figure(f, i, "bfte_round", None).is_some())
    });
    // The metrics are served from the start; the admin socket opens a moment later.
    fed.wait_for("every node's admin socket", Duration::from_secs(30), |f| {
        (0..4).all(|i| f.status(i).is_some())
    });
    assert!(fed.submit(0, "first"), "submit");
    fed.wait_for(
        "a finalized block in the metrics",
        Duration::from_secs(60),
        |f| node_figure(f, 0, "bfte_finalized_height", None).is_some_and(|h| h >= 1.0),
    );
    let first = node_figure(&fed, 0, "bfte_finalized_height", None).expect("height");
    assert!(fed.submit(1, "second"), "submit");
    fed.wait_for(
        "the finalized height to grow",
        Duration::from_secs(60),
        |f| node_figure(f, 0, "bfte_finalized_height", None).is_some_and(|h| h > first),
    );

    // A quorum finalizes without every link up: wait for the slowest connection to node 0.
    fed.wait_for(
        "every peer connected to node 0",
        Duration::from_secs(60),
        |f| {
            (1..4).all(|i| {
                node_figure(f, 0, "bfte_peer_connected", Some(&format!("peer{i}"))) == Some(1.0)
            })
        },
    );
    let metrics = scrape(&addrs[0]).expect("node 0 answers");
    for family in [
        "bfte_round",
        "bfte_finalized_height",
        "bfte_finality_latency_seconds",
        "bfte_dummy_rounds",
        "bfte_missed_votes",
        "bfte_peer_connected",
        "bfte_peer_rtt_seconds",
        "bfte_peer_send_queue_frames",
        "bfte_pending_items",
        "bfte_consensus_bytes_received",
        "bfte_consensus_bytes_sent",
        "bfte_history_bytes_served",
    ] {
        assert!(
            metrics.docs.get(family).is_some_and(|doc| !doc.is_empty()),
            "{family} has no HELP: {:?}",
            metrics.docs.keys()
        );
    }
    let latency = metrics
        .samples
        .iter()
        .find_map(|s| match &s.value {
            Value::Histogram(buckets) if s.metric == "bfte_finality_latency_seconds" => {
                buckets.iter().map(|b| b.count).reduce(f64::max)
            }
            _ => None,
        })
        .expect("the latency histogram");
    assert!(latency >= 1.0, "no latency observed");
    assert_eq!(
        figure(&metrics, "bfte_finality_latency_seconds_count", None),
        Some(latency),
        "the +Inf bucket holds every observation"
    );
    assert!(figure(&metrics, "bfte_finalized_items_total", None).is_some_and(|n| n >= 1.0));
    for direction in ["received", "sent"] {
        let bytes = figure(
            &metrics,
            &format!("bfte_consensus_bytes_{direction}_total"),
            None,
        );
        assert!(
            bytes.is_some_and(|b| b > 0.0),
            "bytes {direction}: {bytes:?}"
        );
    }
    let status = fed.status(0).expect("status");
    for peer in status["peers"].as_array().expect("peers") {
        let name = peer["name"].as_str().expect("name");
        let id = peer["id"].as_str().expect("id");
        let connected = metrics
            .samples
            .iter()
            .find(|s| s.metric == "bfte_peer_connected" && s.labels.get("peer") == Some(name))
            .unwrap_or_else(|| panic!("no connection series for {name}"));
        assert_eq!(connected.labels.get("id"), Some(id));
        assert_eq!(value(connected), 1.0, "{name} connected");
        if name != "peer0" {
            assert!(
                figure(&metrics, "bfte_peer_send_queue_frames", Some(name)).is_some(),
                "no send queue series for {name}"
            );
        }
    }

    // A dead peer shows as disconnected, and misses the votes of the rounds it sits out.
    fed.kill(3);
    assert!(fed.submit(1, "third"), "submit");
    fed.wait_for(
        "peer3 disconnected in the metrics",
        Duration::from_secs(60),
        |f| node_figure(f, 0, "bfte_peer_connected", Some("peer3")) == Some(0.0),
    );
    fed.wait_for("peer3's missed votes", Duration::from_secs(60), |f| {
        node_figure(f, 0, "bfte_missed_votes_total", Some("peer3")).is_some_and(|n| n >= 1.0)
    });
    assert!(
        node_figure(&fed, 0, "bfte_peer_rtt_seconds", Some("peer3")).is_none(),
        "no round-trip time without a connection"
    );

    // Anything but /metrics is not found.
    assert_eq!(get(&addrs[0], "/").map(|(code, _)| code), Some(404));

    // The node logged to its file; its stderr got only the line that says where.
    let log = node_log(&fed.dirs[0]);
    assert!(log.contains("node running"), "{log}");
    let stderr = std::fs::read_to_string(fed.dirs[0].join("node.log")).expect("stderr");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("bfte: logging to ") && lines[0].contains("logs"),
        "{stderr}"
    );
    let files: Vec<_> = std::fs::read_dir(fed.dirs[0].join("logs"))
        .expect("the log directory")
        .collect();
    assert_eq!(files.len(), 1, "one log file today");
}

#[test]
fn a_busy_or_bad_metrics_address_stops_the_node_naming_the_option() {
    let mut fed = Federation::with_metrics(4);
    let busy = fed.metrics.clone().expect("metrics addresses")[0].clone();
    fed.wait_for("node 0's metrics", Duration::from_secs(30), |f| {
        node_figure(f, 0, "bfte_round", None).is_some()
    });
    fed.kill(3);
    let dir = p(&fed.dirs[3]);
    let output = bfte(&[
        "run",
        "--data-dir",
        dir,
        "--relay",
        "off",
        "--metrics",
        &busy,
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--metrics") && stderr.contains(&busy),
        "{stderr}"
    );

    let output = bfte(&["run", "--data-dir", dir, "--metrics", "localhost"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--metrics"), "{stderr}");

    // A directory that holds no node gets no log directory from a `run` that fails.
    let empty = fed.spare_dir("empty");
    std::fs::create_dir(&empty).expect("an empty directory");
    assert!(!bfte(&["run", "--data-dir", p(&empty)]).status.success());
    assert!(
        !empty.join("logs").exists(),
        "no logs/ in a directory without a node"
    );

    // A log directory that cannot be made is an error that names it.
    let blocked = fed.spare_dir("blocked");
    std::fs::write(&blocked, "a file").expect("a file in the way");
    let free = free_tcp_addr();
    let output = bfte(&[
        "run",
        "--data-dir",
        dir,
        "--log-dir",
        p(&blocked),
        "--metrics",
        &free,
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot write logs in") && stderr.contains("blocked"),
        "{stderr}"
    );
}

#[test]
fn run_help_teaches_metrics_and_where_the_log_goes() {
    let output = bfte(&["run", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in ["--metrics <ADDR>", "/metrics", "--log-dir", "logs/bfte."] {
        assert!(help.contains(needle), "`{needle}` missing from:\n{help}");
    }
}
