//! `bfte evidence`: the committed proofs of misbehaviour, each a suggested removal.

use std::path::PathBuf;

use bfte_node::modules::evidence::PROOFS;
use bfte_shared::modules::EVIDENCE;
use bfte_shared::modules::evidence::Proof;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use clap::Args;
use serde_json::json;

use super::module_cmds::{connect, decoded, entries};
use super::node_dir::DATA_DIR_ENV;

#[derive(Debug, Args)]
#[command(
    about = "List peers proven to have signed conflicting messages",
    after_help = "Example:\n  bfte evidence --data-dir ./alice --json\n\n\
        Each proof (two validly signed conflicting votes or proposals) was committed to the\n\
        federation's history, so every peer holds it. A proven peer is Byzantine: consensus\n\
        opened a proposal to remove it, with no votes yet; `bfte proposals` lists it and\n\
        `bfte vote ID yes` supports it."
)]
pub struct EvidenceArgs {
    /// The node's data directory.
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn evidence(args: EvidenceArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.data_dir)?;
    let mut proofs = Vec::new();
    for entry in entries(&mut client, EVIDENCE, PROOFS)? {
        let (offender, round): (PeerId, Round) = decoded(&entry.key, "evidence key")?;
        let proof: Proof = decoded(&entry.value, "proof")?;
        let what = match proof {
            Proof::Votes { .. } => "two conflicting votes",
            Proof::Proposals { .. } => "two proposals",
        };
        proofs.push((offender, round, what));
    }
    if args.json {
        for (offender, round, what) in &proofs {
            let value = json!({
                "offender": offender.to_string(),
                "round": round.0,
                "proof": what,
                "suggested": "remove",
            });
            println!("{value}");
        }
        return Ok(());
    }
    if proofs.is_empty() {
        println!("no misbehaviour proven");
    }
    for (offender, round, what) in &proofs {
        println!(
            "{offender} signed {what} in round {round}: suggested action, vote to remove it \
             (`bfte proposals` has the removal proposal)"
        );
    }
    Ok(())
}
