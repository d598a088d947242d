//! The `bfte` binary: parses the command line, sets up logging, runs the command.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

fn main() -> ExitCode {
    let cli = cli::Cli::from_command_line();
    if !cli.serves() {
        // A report piped into `head` ends quietly when the reader leaves, as Unix tools do,
        // instead of panicking on the broken pipe.
        sigpipe::reset();
    }
    // Logs go to stderr so stdout carries only results (tables, summaries, JSON); a command
    // that draws on the terminal gets none, which would tear its screen. A node also forwards
    // its log lines to admin subscribers (the console's log screen).
    let stderr_logs = (!cli.draws_on_terminal()).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
    });
    let default_level = if cli.simulates() {
        LevelFilter::ERROR
    } else {
        LevelFilter::WARN
    };
    tracing_subscriber::registry()
        .with(
            EnvFilter::builder()
                .with_default_directive(default_level.into())
                .from_env_lossy(),
        )
        .with(stderr_logs)
        .with(bfte_node::daemon::LogTap)
        .init();
    cli.run()
}
