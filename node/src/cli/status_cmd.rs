//! `bfte status`: a running node's view of consensus, of the history it follows (a replica)
//! and of the replicas it serves, as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use bfte_shared::admin::{AdminRequest, AdminResponse, PeerPath, ServedReplica, Status};
use bfte_shared::round::Round;
use bfte_tui::state::STALL_ROUNDS;
use clap::Args;
use serde_json::{Value, json};

use super::admin_client::AdminClient;
use super::exit::EXIT_NO;
use super::node_dir::DATA_DIR_ENV;
use super::replicate_cmd::megabytes;
use bfte_node::daemon::{DataDir, wall_ms};

#[derive(Debug, Args)]
#[command(
    about = "Show a running node's view of consensus",
    after_help = "Example:\n  bfte status --data-dir ./alice --json\n\n\
        Exits 0, or 1 when finality is stalled, by the measure of the console's alert: rounds\n\
        ran 5 or more past the finalized block's, or work (items, or rounds above the finalized\n\
        block's) has waited 10 s or more without a finalized block. 2: no answer."
)]
pub struct StatusArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Exits with [`EXIT_NO`] when finality is stalled, so scripts can alert on it.
pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut client = AdminClient::connect(&DataDir::new(&args.data_dir))?;
    let AdminResponse::Status(status) = client.call(&AdminRequest::Status)? else {
        bail!("the node answered something else than a status");
    };
    let finality = Finality::of(&status, tip_round(&mut client, &status)?);
    if args.json {
        println!("{:#}", to_json(&status, &finality));
    } else {
        print_text(&status, &finality, wall_ms());
    }
    Ok(if finality.stalled {
        ExitCode::from(EXIT_NO)
    } else {
        ExitCode::SUCCESS
    })
}

/// The round of the finalized tip block; `None` while no block is final.
fn tip_round(client: &mut AdminClient, status: &Status) -> anyhow::Result<Option<Round>> {
    let request = AdminRequest::Block {
        height: status.finalized_height,
    };
    let AdminResponse::Block(tip) = client.call(&request)? else {
        bail!("the node answered something else than its finalized tip block");
    };
    Ok(tip.map(|tip| tip.block.header.round))
}

/// Whether finality keeps up, judged as the console judges it for its alert.
#[derive(Debug, PartialEq, Eq)]
struct Finality {
    /// Rounds the node is past the finalized tip block's round.
    lag_rounds: Option<u64>,
    stalled: bool,
}

impl Finality {
    fn of(status: &Status, tip_round: Option<Round>) -> Finality {
        let lag_rounds = tip_round.map(|tip| status.round.0.saturating_sub(tip.0));
        Finality {
            lag_rounds,
            stalled: status.stalled() || lag_rounds.is_some_and(|lag| lag >= STALL_ROUNDS),
        }
    }
}

fn to_json(status: &Status, finality: &Finality) -> Value {
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
        "finality_lag_rounds": finality.lag_rounds,
        "stalled": finality.stalled,
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

fn print_text(status: &Status, finality: &Finality, now_ms: u64) {
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
    match finality.lag_rounds {
        Some(lag) => println!(
            "finalized   height {}, {lag} round{} ago",
            status.finalized_height,
            if lag == 1 { "" } else { "s" }
        ),
        None => println!("finalized   height {}", status.finalized_height),
    }
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
    if status.finality_wait_ms > 0 || finality.stalled {
        let stalled = if finality.stalled { " (stalled)" } else { "" };
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

#[cfg(test)]
mod tests {
    use bfte_shared::admin::{FINALITY_STALL_MS, PeerPath};
    use bfte_shared::federation::FederationId;
    use bfte_shared::hash::Hash;
    use bfte_shared::peer::{PeerId, PeerSecret};
    use bfte_shared::round::Height;

    use super::*;

    fn status(round: u64, finality_wait_ms: u64) -> Status {
        Status {
            federation_id: FederationId(Hash::ZERO),
            federation_name: "test".into(),
            peer_id: PeerId([1; 32]),
            role: "voter".into(),
            round: Round(round),
            leader: PeerId([1; 32]),
            finalized_height: Height(7),
            pending_items: 1,
            finality_wait_ms,
            quorum: 1,
            peers: Vec::new(),
            replication: None,
            serving: Vec::new(),
            bytes_out: 0,
        }
    }

    #[test]
    fn finality_stalls_by_the_consoles_measure_rounds_past_the_tip_or_time_waited() {
        let keeping_up = Finality::of(&status(12, 800), Some(Round(11)));
        assert_eq!(
            keeping_up,
            Finality {
                lag_rounds: Some(1),
                stalled: false
            }
        );
        let rounds_past = Finality::of(&status(11 + STALL_ROUNDS, 800), Some(Round(11)));
        assert!(rounds_past.stalled, "{rounds_past:?}");
        let one_short = Finality::of(&status(10 + STALL_ROUNDS, 800), Some(Round(11)));
        assert!(!one_short.stalled, "{one_short:?}");
        let waited = Finality::of(&status(12, FINALITY_STALL_MS), Some(Round(11)));
        assert!(waited.stalled, "{waited:?}");
        let nothing_final = Finality::of(&status(40, 0), None);
        assert_eq!(
            nothing_final,
            Finality {
                lag_rounds: None,
                stalled: false
            }
        );
    }

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
