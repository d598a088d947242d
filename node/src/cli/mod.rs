//! The `bfte` command line: one file per command.

mod admin_client;
mod admin_cmds;
mod backup_cmd;
mod bench;
mod chaos;
mod demo;
mod evidence_cmds;
mod exit;
mod governance_cmds;
mod heap;
mod history_cmds;
mod inspect_cmds;
mod join_cmds;
pub mod logging;
mod module_cmds;
mod node_cmds;
mod node_dir;
#[cfg(test)]
mod parse_tests;
mod relay_cmd;
mod replicate_cmd;
mod sim;
mod status_cmd;
mod tui;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use self::exit::exit_rule;

/// What `sim` and `history verify` exit with when they found a violation: the rule's "no"
/// (see [`exit_rule`]).
pub const EXIT_VIOLATION: u8 = exit::EXIT_NO;

#[derive(Debug, Parser)]
#[command(
    name = "bfte",
    version,
    about = "BFTE: a Byzantine fault tolerant consensus engine",
    after_help = concat!(
        "Examples:\n  \
        bfte demo                          a local federation of 4 nodes, watched in the console\n  \
        bfte tui --data-dir D              the console on a running node\n  \
        bfte status --data-dir D --json    a running node's view of consensus\n  \
        bfte meta --data-dir D get         the federation's agreed metadata\n  \
        bfte invite --data-dir D           an invite code for a new node (`bfte join CODE`)\n  \
        bfte replicate CODE --data-dir R   follow and verify the history, never vote\n  \
        bfte relay --listen 0.0.0.0:3340   a relay of the federation's own, for nodes behind NAT\n  \
        bfte sim --seeds 2000              check 2000 simulated runs for safety and liveness\n  \
        bfte bench core --peers 4,7,16     measure the consensus core alone\n\n\
        Every command that works on a node takes --data-dir DIR after its name (after a\n\
        subcommand too: `bfte meta set --data-dir D k v`), or BFTE_DATA_DIR from the environment.\n\
        Logs go to stderr, a node's to DATA_DIR/logs/; set RUST_LOG (e.g.\n\
        RUST_LOG=bfte_node=debug) to see more.\n\n",
        exit_rule!()
    )
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The command line asked for JSON, so errors are JSON too.
    #[arg(skip)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Init(node_cmds::InitArgs),
    Genesis(node_cmds::GenesisArgs),
    Run(node_cmds::RunArgs),
    Status(status_cmd::StatusArgs),
    Submit(admin_cmds::SubmitArgs),
    Blocks(admin_cmds::BlocksArgs),
    History(history_cmds::HistoryArgs),
    Block(inspect_cmds::BlockArgs),
    Peers(inspect_cmds::PeersArgs),
    Outcome(module_cmds::OutcomeArgs),
    Meta(module_cmds::MetaArgs),
    Attest(module_cmds::AttestArgs),
    Attestations(module_cmds::AttestationsArgs),
    Evidence(evidence_cmds::EvidenceArgs),
    Backup(backup_cmd::BackupArgs),
    Proposals(governance_cmds::ProposalsArgs),
    Propose(governance_cmds::ProposeArgs),
    Vote(governance_cmds::VoteArgs),
    Epoch(governance_cmds::EpochArgs),
    Invite(join_cmds::InviteArgs),
    Join(join_cmds::JoinArgs),
    Replicate(replicate_cmd::ReplicateArgs),
    Relay(relay_cmd::RelayArgs),
    Joins(join_cmds::JoinsArgs),
    Approve(join_cmds::ApproveArgs),
    Reject(join_cmds::RejectArgs),
    Tui(tui::TuiArgs),
    Sim(sim::SimArgs),
    Bench(bench::BenchArgs),
    Chaos(chaos::ChaosArgs),
}

impl Cli {
    /// Parses the process's command line, exiting on a usage error as clap does (as JSON if
    /// the line asked for it).
    pub fn from_command_line() -> Cli {
        let args: Vec<OsString> = std::env::args_os().collect();
        let parsed = Cli::command()
            .try_get_matches_from(&args)
            .and_then(|matches| Cli::from_matches(&matches));
        match parsed {
            Ok(cli) => cli,
            Err(error) => exit::usage_error(error, &args),
        }
    }

    fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli =
            Cli::from_arg_matches(matches).map_err(|error| error.format(&mut Cli::command()))?;
        cli.json = exit::wants_json(matches);
        Ok(cli)
    }

    /// Whether the command takes over the terminal (so logs must not go to stderr).
    pub fn draws_on_terminal(&self) -> bool {
        match &self.command {
            Command::Tui(_) => true,
            Command::Demo(args) => !args.no_tui,
            _ => false,
        }
    }

    /// Where a node command writes its log (see `logging.rs`); `None` for other commands,
    /// and for a `bfte run` or `bfte replicate` that will be refused at once (no node in the
    /// directory, an unusable invite): a refused command leaves nothing behind, not even a
    /// log directory.
    pub fn node_log_dir(&self) -> Option<PathBuf> {
        match &self.command {
            Command::Run(args) => (args.log_dir.is_some()
                || bfte_node::daemon::DataDir::new(&args.data_dir)
                    .secret_path()
                    .exists())
            .then(|| logging::node_log_dir(&args.data_dir, args.log_dir.as_deref())),
            Command::Replicate(args) => {
                let usable = match args.code.as_deref() {
                    Some(code) => bfte_shared::join::Invite::decode(code.trim()).is_ok(),
                    None => bfte_node::daemon::DataDir::new(&args.data_dir)
                        .genesis_path()
                        .exists(),
                };
                (args.log_dir.is_some() || usable)
                    .then(|| logging::node_log_dir(&args.data_dir, args.log_dir.as_deref()))
            }
            _ => None,
        }
    }

    /// Reports an error from before the command ran, as [`Cli::run`] reports its errors.
    pub fn report(&self, error: &anyhow::Error) -> ExitCode {
        exit::report(error, self.json)
    }

    /// Whether the command serves others over sockets (a node, or a client of one that lives
    /// on): a peer that goes away must be an error it handles, never a signal that kills it.
    pub fn serves(&self) -> bool {
        matches!(
            self.command,
            Command::Run(_)
                | Command::Replicate(_)
                | Command::Relay(_)
                | Command::Demo(_)
                | Command::Tui(_)
                | Command::Chaos(_)
        )
    }

    /// Whether the command runs many simulated peers in this process, whose warnings about
    /// each other (Byzantine peers are simulated on purpose) would drown its report.
    pub fn simulates(&self) -> bool {
        matches!(self.command, Command::Sim(_) | Command::Bench(_))
    }

    /// Runs the command; an error is printed as [`exit_rule`] says and sets the exit code.
    pub fn run(self) -> ExitCode {
        let json = self.json;
        self.command
            .run()
            .unwrap_or_else(|error| exit::report(&error, json))
    }
}

impl Command {
    fn run(self) -> anyhow::Result<ExitCode> {
        let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
        match self {
            Command::Demo(args) => done(demo::demo(args)),
            Command::Init(args) => done(node_cmds::init(args)),
            Command::Genesis(args) => done(node_cmds::genesis(args)),
            Command::Run(args) => done(node_cmds::run(args)),
            Command::Status(args) => status_cmd::status(args),
            Command::Submit(args) => done(admin_cmds::submit(args)),
            Command::Blocks(args) => done(admin_cmds::blocks(args)),
            Command::History(args) => history_cmds::run(args),
            Command::Block(args) => done(inspect_cmds::block(args)),
            Command::Peers(args) => done(inspect_cmds::peers(args)),
            Command::Outcome(args) => done(module_cmds::outcome(args)),
            Command::Meta(args) => done(module_cmds::meta(args)),
            Command::Attest(args) => done(module_cmds::attest(args)),
            Command::Attestations(args) => done(module_cmds::attestations(args)),
            Command::Evidence(args) => done(evidence_cmds::evidence(args)),
            Command::Backup(args) => done(backup_cmd::backup(args)),
            Command::Proposals(args) => done(governance_cmds::proposals(args)),
            Command::Propose(args) => done(governance_cmds::propose(args)),
            Command::Vote(args) => done(governance_cmds::vote(args)),
            Command::Epoch(args) => done(governance_cmds::epoch(args)),
            Command::Invite(args) => done(join_cmds::invite(args)),
            Command::Join(args) => done(join_cmds::join(args)),
            Command::Replicate(args) => done(replicate_cmd::replicate(args)),
            Command::Relay(args) => done(relay_cmd::relay(args)),
            Command::Joins(args) => done(join_cmds::joins(args)),
            Command::Approve(args) => done(join_cmds::approve(args)),
            Command::Reject(args) => done(join_cmds::reject(args)),
            Command::Tui(args) => done(tui::tui(args)),
            Command::Sim(args) => sim::run(args),
            Command::Bench(args) => bench::run(args),
            Command::Chaos(args) => chaos::run(args),
        }
    }
}
