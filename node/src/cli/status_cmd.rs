//! `bfte status`: a running node's view of consensus, of the history it follows (a replica)
//! and of the replicas it serves, as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse, PeerPath, ServedReplica, Status};
use clap::Args;
use serde_json::{Value, json};

use super::EXIT_REFUSED;
use super::admin_client::AdminClient;
use super::replicate_cmd::megabytes;
use bfte_node::daemon::{DataDir, wall_ms};

#[derive(Debug, Args)]
#[command(
    about = "Show a running node's view of consensus",
    after_help = "Example:\n  bfte status --data-dir ./alice --json\n\n\
        Exits 0, or 1 when finality is stalled: work (items, or rounds above the finalized\n\
        tip's) has waited 10 s or more without a finalized block. 2 means no answer."
)]
pub struct StatusArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Exits with [`EXIT_REFUSED`] when finality is stalled, so scripts can alert on it.
pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let AdminResponse::Status(status) = client.call(&AdminRequest::Status)? else {
        bail!("the node answered something else than a status");
    };
    if args.json {
        println!("{:#}", to_json(&status));
    } else {
        print_text(&status, wall_ms());
    }
    Ok(stall_code(&status))
}

fn to_json(status: &Status) -> Value {
    let peers: Vec<_> = status
        .peers
        .iter()
        .map(|p| json!({ "id": p.id.to_string(), "name": p.name, "connected": p.connected }))
        .collect();
    let serving: Vec<_> = status.serving.iter().map(served_json).collect();
    json!({
        "federation_id": status.federation_id.0.to_string(),
        "federation_name": status.federation_name,
        "peer_id": status.peer_id.to_string(),
        "role": status.role,
        "round": status.round.0,
        "leader": status.leader.to_string(),
        "finalized_height": status.finalized_height.0,
        "pending_items": status.pending_items,
        "finality_wait_ms": status.finality_wait_ms,
        "stalled": status.stalled(),
        "peers": peers,
        "replication": status.replication.as_ref().map(|r| json!({
            "source": r.source,
            "target_height": r.target_height.0,
            "lag_heights": r.lag_heights(status.finalized_height),
            "lag_ms": r.lag_ms,
            "following": r.following,
            "bytes_in": r.bytes_in,
            "source_path": r.source_path.map(PeerPath::as_str),
            "bytes_out": r.bytes_out,
        })),
        "serving": serving,
        "bytes_out": status.bytes_out,
    })
}

fn served_json(replica: &ServedReplica) -> Value {
    json!({
        "peer_id": replica.peer_id.to_string(),
        "remote": replica.remote,
        "path": replica.path.map(|p| p.as_str()),
        "rtt_us": replica.rtt_us,
        "following": replica.following,
        "height": replica.height.0,
        "bytes_out": replica.bytes_out,
        "since_ms": replica.since_ms,
    })
}

fn print_text(status: &Status, now_ms: u64) {
    println!(
        "federation  {} ({})",
        status.federation_name,
        status.federation_id.0.short()
    );
    println!("peer        {} ({})", status.peer_id.short(), status.role);
    println!(
        "round       {}  leader {}",
        status.round,
        status.leader.short()
    );
    println!("finalized   height {}", status.finalized_height);
    if let Some(replication) = &status.replication {
        let state = if replication.following {
            "following"
        } else {
            "catching up"
        };
        let path = replication
            .source_path
            .map_or(String::new(), |path| format!(" ({})", path.as_str()));
        println!(
            "replica     {state} from {}{path}: {} heights ({:.1} s) behind, {} in",
            replication.source.as_deref().unwrap_or("no source yet"),
            replication.lag_heights(status.finalized_height),
            replication.lag_ms as f64 / 1000.0,
            megabytes(replication.bytes_in)
        );
    }
    println!("pending     {} items", status.pending_items);
    if status.finality_wait_ms > 0 {
        let stalled = if status.stalled() { " (stalled)" } else { "" };
        println!(
            "finality    waiting {:.1} s{stalled}",
            status.finality_wait_ms as f64 / 1000.0
        );
    }
    let count = status.serving.len();
    println!(
        "serving     {count} replica{} ({} out)",
        if count == 1 { "" } else { "s" },
        megabytes(status.bytes_out)
    );
    for replica in &status.serving {
        println!("  {}", served_line(replica, now_ms));
    }
    for peer in &status.peers {
        let state = if peer.connected {
            "connected"
        } else {
            "not connected"
        };
        println!("  {} {:<12} {state}", peer.id.short(), peer.name);
    }
}

/// `qe4xodvi following   height 1234  direct ip:10.0.0.2:4000  1.2 MB out  for 3 min`
fn served_line(replica: &ServedReplica, now_ms: u64) -> String {
    let state = if replica.following {
        "following"
    } else {
        "catching up"
    };
    let path = replica.path.map_or("-", |p| p.as_str());
    let remote = replica.remote.as_deref().unwrap_or("-");
    let secs = now_ms.saturating_sub(replica.since_ms) / 1000;
    format!(
        "{} {state:<11} height {:<8} {path:<6} {remote}  {} out  for {}",
        replica.peer_id.short(),
        replica.height.0,
        megabytes(replica.bytes_out),
        duration(secs)
    )
}

fn duration(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

fn stall_code(status: &Status) -> ExitCode {
    if status.stalled() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::admin::PeerPath;
    use bfte_shared::peer::PeerSecret;
    use bfte_shared::round::Height;

    use super::*;

    #[test]
    fn a_served_replica_reads_in_one_line() {
        let replica = ServedReplica {
            peer_id: PeerSecret::from_seed([2; 32]).peer_id(),
            remote: Some("ip:10.0.0.2:4000".into()),
            path: Some(PeerPath::Direct),
            rtt_us: Some(400),
            following: true,
            height: Height(1234),
            bytes_out: 1_260_000,
            since_ms: 1_000,
        };
        let line = served_line(&replica, 1_000 + 180_000);
        assert!(
            line.ends_with(
                "following   height 1234     direct ip:10.0.0.2:4000  1.3 MB out  for 3 min"
            ),
            "{line}"
        );
        let value = served_json(&replica);
        assert_eq!(value["path"], "direct");
        assert_eq!(value["following"], true);
        assert_eq!(value["bytes_out"], 1_260_000);
    }
}
