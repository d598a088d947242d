//! `bfte chaos`: a local federation of `bfte run` processes under load and seeded faults,
//! checked at the end from the nodes' own records (`bfte_node::chaos`).

#[cfg(feature = "chaos")]
mod links;
mod membership;
mod nodes;
mod runner;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use bfte_node::chaos::byzantine::{self, NAMES, leaves_evidence};
use bfte_node::chaos::{Byzantine, FaultKind, NodeRecord, Options, Schedule, Verdict, check};
use bfte_node::store::Store;
use clap::Args;
use serde_json::json;

use self::nodes::Nodes;
use self::runner::{Observed, Runner};
use super::EXIT_VIOLATION;

#[derive(Debug, Args)]
#[command(
    about = "Run a local federation under seeded faults and check safety and liveness",
    after_help = "Examples:\n  \
        bfte chaos                                  4 peers for 2 minutes, a random seed\n  \
        bfte chaos --peers 7 --seconds 3600         an hour\n  \
        bfte chaos --peers 4 --seconds 120 --seed 42   replay a run: same faults, same times\n\n\
        Each peer is a `bfte run` process on loopback (data and log in DIR/peerN). While the\n\
        run lasts, items are submitted round-robin to the nodes that are up, and nodes are\n\
        killed with SIGKILL and restarted, or paused with SIGSTOP and resumed, at most f at a\n\
        time, as the seed says; a bfte built with `--features chaos` also cuts links, slows\n\
        them (delay and loss), and can run one node Byzantine (--byzantine). Then the nodes are stopped and their databases checked: every\n\
        finalized chain is a prefix of the longest, every accepted item is final exactly once,\n\
        no peer signed conflicting votes (received-votes audit trail), state roots agree at\n\
        every height. A failed run keeps DIR and prints the command that replays its faults."
)]
pub struct ChaosArgs {
    /// How many peers (4 to 7).
    #[arg(long, default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(4..=7))]
    peers: u64,
    /// How long faults are injected, in seconds (the final checks come after).
    #[arg(long, default_value_t = 120, value_name = "S",
          value_parser = clap::value_parser!(u64).range(10..))]
    seconds: u64,
    /// The seed of the fault schedule; random when absent (the run prints it).
    #[arg(long)]
    seed: Option<u64>,
    /// Run the last peer Byzantine, with this behaviour (needs a bfte built with
    /// `--features chaos`): equivocate, double-vote, dummy-and-finalize, bad-signatures,
    /// malformed, withhold, stale-spam or false-state.
    #[arg(long, value_name = "BEHAVIOUR")]
    byzantine: Option<String>,
    /// Leave out the membership change (by default a peer is voted out at 30% of the run and
    /// back in at 60%).
    #[arg(long)]
    no_membership: bool,
    /// Items submitted per second across the nodes that are up.
    #[arg(long, default_value_t = 20.0, value_name = "N")]
    load: f64,
    /// Where the peers' data directories go; a temporary directory, removed after a passing
    /// run, when absent. Must not hold a federation already.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.load.is_finite() && args.load > 0.0,
        "--load must be a positive number of items a second, not {}",
        args.load
    );
    let peers = usize::try_from(args.peers)?;
    let byzantine = match &args.byzantine {
        None => None,
        Some(name) => {
            anyhow::ensure!(
                cfg!(feature = "chaos"),
                "--byzantine needs a bfte built with the chaos feature: \
                 `cargo build -p bfte-node --features chaos`"
            );
            anyhow::ensure!(
                peers >= 7,
                "--byzantine needs --peers 7: with fewer, the Byzantine node takes the one \
                 fault the federation tolerates and no other fault could be injected"
            );
            let Some(behavior) = byzantine::behavior(name) else {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                anyhow::bail!("unknown --byzantine {name}: one of {}", names.join(", "));
            };
            Some((peers - 1, name.as_str(), behavior))
        }
    };
    let seed = match args.seed {
        Some(seed) => seed,
        None => getrandom::u64().map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?,
    };
    let mut replay = format!(
        "bfte chaos --peers {peers} --seconds {} --seed {seed}",
        args.seconds
    );
    if let Some((_, name, _)) = byzantine {
        replay.push_str(&format!(" --byzantine {name}"));
    }
    if args.no_membership {
        replay.push_str(" --no-membership");
    }
    if cfg!(feature = "chaos") {
        replay = format!(
            "cargo run -p bfte-node --features chaos -- {}",
            &replay[5..]
        );
    }
    let root = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("bfte-chaos-{}-{seed}", std::process::id()))
    });
    anyhow::ensure!(
        !root.join("peer0").exists(),
        "{} already holds a federation; pick another --dir",
        root.display()
    );
    let run = Duration::from_secs(args.seconds);
    let options = Options {
        links: cfg!(feature = "chaos"),
        byzantine: byzantine.map(|(peer, _, _)| peer),
        membership: !args.no_membership,
    };
    let schedule = Schedule::generate(seed, peers, run, options);
    eprintln!(
        "chaos: seed {seed}, {peers} peers for {} s, {} kills, {} pauses, {} link faults \
         scheduled{}, data in {}",
        args.seconds,
        schedule.count(|k| *k == FaultKind::Kill),
        schedule.count(|k| *k == FaultKind::Pause),
        schedule.count(FaultKind::is_link),
        byzantine.map_or(String::new(), |(p, name, _)| format!(
            ", peer{p} Byzantine ({name})"
        )),
        root.display()
    );

    let setup = Setup {
        peers,
        schedule: &schedule,
        run,
        load: args.load,
        seed,
        byzantine: byzantine.map(|(peer, name, behavior)| (peer, name, leaves_evidence(behavior))),
    };
    let outcome = run_and_check(&root, &setup);
    let (observed, verdict) = match outcome {
        Ok(found) => found,
        Err(error) => {
            eprintln!("chaos: the run failed; replay it with `{replay}`");
            eprintln!("chaos: node data and logs kept in {}", root.display());
            return Err(error);
        }
    };
    let mut violations = observed.violations.clone();
    violations.extend(verdict.violations.iter().cloned());
    if args.json {
        println!(
            "{}",
            report_json(peers, args.seconds, seed, &observed, &verdict, &violations)
        );
    } else {
        print_report(&observed, &verdict);
    }
    if violations.is_empty() {
        if args.dir.is_none() {
            let _ = std::fs::remove_dir_all(&root);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for violation in &violations {
        eprintln!("chaos: VIOLATION: {violation}");
    }
    eprintln!("chaos: replay this schedule with `{replay}`");
    eprintln!("chaos: node data and logs kept in {}", root.display());
    Ok(ExitCode::from(EXIT_VIOLATION))
}

/// What one run is made of.
struct Setup<'a> {
    peers: usize,
    schedule: &'a Schedule,
    run: Duration,
    load: f64,
    seed: u64,
    /// The Byzantine node, its behaviour, and whether that leaves evidence.
    byzantine: Option<(usize, &'a str, bool)>,
}

fn run_and_check(root: &std::path::Path, setup: &Setup) -> anyhow::Result<(Observed, Verdict)> {
    let peers = setup.peers;
    let mut nodes = Nodes::start(root, peers, setup.byzantine.map(|(p, name, _)| (p, name)))?;
    let byzantine = setup.byzantine.map(|(p, _, _)| p);
    let runner = Runner::new(&mut nodes, setup.schedule, setup.seed, byzantine);
    let observed = runner.run(setup.schedule, setup.run, setup.load, &|line| {
        eprintln!("chaos: {line}");
    })?;
    let killed = nodes.stop();
    let mut records = Vec::with_capacity(peers);
    for (peer, dir) in nodes.dirs.iter().enumerate() {
        records.push(NodeRecord::read(&format!("peer{peer}"), dir)?);
    }
    let genesis = Store::open(nodes.dirs[0].database_path())
        .context("cannot open peer0's database")?
        .genesis()
        .clone();
    let byzantine = setup.byzantine.map(|(peer, _, leaves_evidence)| Byzantine {
        peer: nodes.ids[peer],
        leaves_evidence,
    });
    let mut verdict = check(
        &records,
        &observed.accepted,
        &genesis.federation_id(),
        byzantine,
    );
    for peer in killed {
        verdict
            .violations
            .push(format!("peer{peer} did not stop when asked and was killed"));
    }
    Ok((observed, verdict))
}

fn print_report(observed: &Observed, verdict: &Verdict) {
    println!(
        "faults     {} kills, {} pauses, {} link cuts, {} slow links",
        observed.kills, observed.pauses, observed.cuts, observed.slow_links
    );
    println!(
        "items      {} submitted, {} accepted, {} of them final exactly once; {} items final in all",
        observed.submitted,
        observed.accepted.len(),
        verdict.accepted_final,
        verdict.items_final
    );
    println!("chain      {} blocks finalized", verdict.longest);
    println!(
        "membership {} changes passed by vote, the longest in {:.1} s",
        observed.membership_changes,
        observed.longest_vote.as_secs_f64()
    );
    println!(
        "recovery   longest {:.1} s over {} recoveries; all final {} after the last fault",
        observed.longest_recovery.as_secs_f64(),
        observed.recoveries,
        observed
            .final_recovery
            .map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64()))
    );
    println!(
        "votes      {} audited, {} (signer, round) with conflicting votes",
        verdict.audited_votes,
        verdict.conflicts.len()
    );
    println!(
        "evidence   {} honest nodes hold evidence against the Byzantine node, {} its removal",
        verdict.evidence_at, verdict.removal_at
    );
}

fn report_json(
    peers: usize,
    seconds: u64,
    seed: u64,
    observed: &Observed,
    verdict: &Verdict,
    violations: &[String],
) -> serde_json::Value {
    json!({
        "peers": peers,
        "seconds": seconds,
        "seed": seed,
        "kills": observed.kills,
        "pauses": observed.pauses,
        "link_cuts": observed.cuts,
        "slow_links": observed.slow_links,
        "membership_changes": observed.membership_changes,
        "longest_vote_s": observed.longest_vote.as_secs_f64(),
        "submitted": observed.submitted,
        "accepted": observed.accepted.len(),
        "accepted_final": verdict.accepted_final,
        "items_final": verdict.items_final,
        "height": verdict.longest,
        "recoveries": observed.recoveries,
        "longest_recovery_s": observed.longest_recovery.as_secs_f64(),
        "final_recovery_s": observed.final_recovery.map(|d| d.as_secs_f64()),
        "audited_votes": verdict.audited_votes,
        "conflicts": verdict.conflicts.len(),
        "evidence_at": verdict.evidence_at,
        "removal_at": verdict.removal_at,
        "violations": violations,
    })
}
