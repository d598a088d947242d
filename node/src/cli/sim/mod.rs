//! `bfte sim`: runs the deterministic simulator over a range of seeds, in parallel.

mod report;

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use bfte_node::sim::{CryptoMode, MAX_PEERS, RunStats, Scenario, SimOptions, run_seed};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use self::report::Summary;
use super::EXIT_VIOLATION;

/// Check many simulated runs for safety and liveness violations.
///
/// Each seed fixes one scenario: the peers, Byzantine behaviours, lossy links, partitions,
/// crashes, the time the network heals, and the load. The run is deterministic, so a failing
/// seed replays exactly with the command printed beside it, whatever --threads was.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bfte sim                                  seeds 0..1000, peers and faults drawn per seed\n  \
    bfte sim --seeds 2000 --real-crypto       real ed25519 signatures (slower)\n  \
    bfte sim --seeds 2000 --membership        grow 4 -> 5 -> 7 peers and back to 4 by consensus\n  \
    bfte sim --peers 7 --byzantine 2          fix the federation size and fault count\n  \
    bfte sim --seed 1234 --seeds 1            replay one seed\n\n\
    Exit code: 0 when every seed is clean, 1 when any seed broke an invariant, 2 on error.")]
pub struct SimArgs {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// First seed; the run covers START..START+N.
    #[arg(long = "seed", default_value_t = 0, value_name = "START")]
    start: u64,
    /// Rounds of load: correct peers submit items until the federation reaches this round.
    #[arg(long, default_value_t = SimOptions::default().rounds, value_name = "R")]
    rounds: u64,
    /// Federation size; drawn per seed from {1, 4, 7, 10} when absent.
    #[arg(long, value_name = "P", value_parser = clap::value_parser!(u64).range(1..=MAX_PEERS as u64))]
    peers: Option<u64>,
    /// Byzantine peers; drawn per seed from 0..=f when absent, and capped at f = (P-1)/3.
    #[arg(long, value_name = "B")]
    byzantine: Option<u64>,
    /// Sign and verify with real ed25519 instead of a keyed-hash stand-in.
    #[arg(long)]
    real_crypto: bool,
    /// Change the peer set during each run: 4 founders grow to 5 and 7 peers by consensus
    /// and shrink back to 4 (seven peers, at most one Byzantine founder; ignores --peers and
    /// --byzantine).
    #[arg(long)]
    membership: bool,
    /// Worker threads [default: available parallelism].
    #[arg(long, value_name = "T")]
    threads: Option<NonZeroUsize>,
    /// Print the summary as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
}

impl SimArgs {
    fn options(&self) -> anyhow::Result<SimOptions> {
        let peers = self.peers.map(usize::try_from).transpose()?;
        let byzantine = self.byzantine.map(usize::try_from).transpose()?;
        if let (Some(peers), Some(byzantine)) = (peers, byzantine) {
            let f = (peers - 1) / 3;
            anyhow::ensure!(
                byzantine <= f,
                "{peers} peers tolerate at most {f} Byzantine peers, not {byzantine}; \
                 lower --byzantine or raise --peers"
            );
        }
        Ok(SimOptions {
            peers,
            byzantine,
            rounds: self.rounds,
            crypto: if self.real_crypto {
                CryptoMode::Real
            } else {
                CryptoMode::Fast
            },
            membership: self.membership,
        })
    }

    fn seeds(&self) -> anyhow::Result<Range<u64>> {
        let end = self.start.checked_add(self.seeds).with_context(|| {
            format!(
                "--seed {} plus --seeds {} is past the last seed",
                self.start, self.seeds
            )
        })?;
        Ok(self.start..end)
    }

    /// The one command that replays `seed` exactly: the options as the user gave them, since
    /// what a seed draws depends on which options were fixed.
    fn replay_command(&self, seed: u64) -> String {
        let mut command = format!("bfte sim --seed {seed} --seeds 1 --rounds {}", self.rounds);
        if let Some(peers) = self.peers {
            let _ = write!(command, " --peers {peers}");
        }
        if let Some(byzantine) = self.byzantine {
            let _ = write!(command, " --byzantine {byzantine}");
        }
        if self.real_crypto {
            command.push_str(" --real-crypto");
        }
        if self.membership {
            command.push_str(" --membership");
        }
        command
    }
}

/// What one seed left behind. Only a failing seed keeps its scenario.
#[derive(Debug)]
struct SeedOutcome {
    seed: u64,
    stats: RunStats,
    failure: Option<Failure>,
}

#[derive(Debug)]
struct Failure {
    scenario: Scenario,
    violations: Vec<String>,
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let options = args.options()?;
    let seeds = args.seeds()?;
    let threads = match args.threads {
        Some(threads) => threads,
        None => std::thread::available_parallelism()
            .context("cannot tell how many threads to use; pass --threads")?,
    };
    let started = Instant::now();
    let outcomes = run_seeds(seeds.clone(), options, threads.get());
    let wall = started.elapsed();
    let summary = Summary::of(&outcomes, wall);
    let failures: Vec<(u64, &Failure)> = outcomes
        .iter()
        .filter_map(|o| Some((o.seed, o.failure.as_ref()?)))
        .collect();
    if args.json {
        report::print_json(&args, &seeds, threads.get(), &summary, &failures)?;
    } else {
        for (seed, failure) in &failures {
            report::print_failure(&args, *seed, failure);
        }
        report::print_summary(&args, &seeds, threads.get(), &summary);
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VIOLATION)
    })
}

/// Runs every seed on `threads` workers that take the next seed from a shared counter. Each
/// seed is independent and deterministic and the outcomes are sorted, so the result does not
/// depend on the number of threads or on scheduling.
fn run_seeds(seeds: Range<u64>, options: SimOptions, threads: usize) -> Vec<SeedOutcome> {
    let progress = progress_bar(seeds.end - seeds.start);
    let next = AtomicU64::new(seeds.start);
    let violations = AtomicU64::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.min((seeds.end - seeds.start).max(1) as usize) {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end {
                        break;
                    }
                    let outcome = run_one(seed, options);
                    if let Some(failure) = &outcome.failure {
                        let found = failure.violations.len() as u64;
                        let total = violations.fetch_add(found, Ordering::Relaxed) + found;
                        progress.set_message(format!("{total} violations"));
                    }
                    mine.push(outcome);
                    progress.inc(1);
                }
                outcomes
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend(mine);
            });
        }
    });
    progress.finish_and_clear();
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    outcomes.sort_by_key(|o| o.seed);
    outcomes
}

/// Runs one seed. A panic in the core is a finding like any violation: it is caught so the
/// sweep goes on and the seed gets its replay command.
fn run_one(seed: u64, options: SimOptions) -> SeedOutcome {
    match panic::catch_unwind(AssertUnwindSafe(|| run_seed(seed, options))) {
        Ok(report) => SeedOutcome {
            seed,
            failure: (!report.violations.is_empty()).then(|| Failure {
                violations: report.violations.iter().map(ToString::to_string).collect(),
                scenario: report.scenario,
            }),
            stats: report.stats,
        },
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            SeedOutcome {
                seed,
                stats: RunStats::default(),
                failure: Some(Failure {
                    scenario: Scenario::random(seed, options),
                    violations: vec![format!("panic: {message}")],
                }),
            }
        }
    }
}

fn progress_bar(seeds: u64) -> ProgressBar {
    let progress = ProgressBar::new(seeds);
    // The template is a constant; should it ever be rejected, the bar falls back to the
    // default style rather than failing the run.
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {msg}, ETA {eta}",
    ) {
        progress.set_style(style.progress_chars("=> "));
    }
    progress.set_message("0 violations");
    progress
}
