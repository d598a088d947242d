//! The `bfte` binary: parses the command line, sets up logging, runs the command.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::from_command_line();
    if !cli.serves() {
        // A report piped into `head` ends quietly when the reader leaves, as Unix tools do,
        // instead of panicking on the broken pipe.
        sigpipe::reset();
    }
    if let Err(error) = cli::logging::init(&cli) {
        return cli.report(&error);
    }
    cli.run()
}
