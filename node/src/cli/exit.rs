//! How a `bfte` command ends: one rule for every exit code, and errors printed in the shape
//! the command's output has (text, or JSON under `--json`).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::ArgMatches;
use serde_json::json;

/// The rule, as `bfte --help` shows it (a macro, so that it joins the help text at compile
/// time); the README repeats it, and a test keeps the two the same.
macro_rules! exit_rule {
    () => {
        "Exit codes, the same for every command:\n  \
            0  done, and all is well\n  \
            1  done, and the answer is no: the node or the federation refused the request, a check\n     \
               found a problem (`sim`: a broken invariant, `history verify`: a file that does not\n     \
               verify, `status`: finality stalled), or what was asked for is not there yet\n     \
               (`block`, `outcome`: a height not final)\n  \
            2  not done: a usage error, a data directory without a node or a node that does not\n     \
               answer, a file that cannot be read, a network failure\n\
            Under --json an error, a usage error too, is one line of JSON on stdout instead:\n\
            {\"code\": N, \"error\": MESSAGE}, with N the exit code."
    };
}
pub(crate) use exit_rule;

/// The command did its job and the answer is no.
pub const EXIT_NO: u8 = 1;
/// The command could not do its job.
pub const EXIT_ERROR: u8 = 2;

/// An answer of no, raised as an error so that it ends the command with [`EXIT_NO`] rather
/// than [`EXIT_ERROR`]. The message is the whole explanation for the user.
#[derive(Debug, thiserror::Error)]
pub enum Negative {
    /// The node, or the federation, refused the request.
    #[error("{0}")]
    Refused(String),
    /// What was asked for is not there (yet).
    #[error("{0}")]
    Missing(String),
}

/// The exit code an error ends the command with.
fn code_of(error: &anyhow::Error) -> u8 {
    if error.chain().any(|cause| cause.is::<Negative>()) {
        EXIT_NO
    } else {
        EXIT_ERROR
    }
}

/// Prints `error` where the command's output goes (JSON on stdout under `--json`, text on
/// stderr otherwise) and returns the exit code it ends with.
pub fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    let code = code_of(error);
    if json {
        println!("{}", json!({ "code": code, "error": format!("{error:#}") }));
    } else {
        eprintln!("error: {error:#}");
    }
    ExitCode::from(code)
}

/// Ends the process on a command line clap refused: as clap would (help and version are
/// not errors), or as one JSON line when the line holds `--json`, since a command that would
/// have printed JSON cannot be known from a line that did not parse.
pub fn usage_error(error: clap::Error, args: &[OsString]) -> ! {
    let asked_json = args
        .iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--json");
    if !error.use_stderr() || !asked_json {
        error.exit()
    }
    let text = error.to_string();
    let message = text.trim().trim_start_matches("error: ");
    println!("{}", json!({ "code": EXIT_ERROR, "error": message }));
    std::process::exit(EXIT_ERROR.into())
}

/// Whether the command line asked for JSON: a `--json` flag given at any level of
/// subcommands, so a command that gains the flag needs nothing here.
pub fn wants_json(matches: &ArgMatches) -> bool {
    let mut level = Some(matches);
    while let Some(matches) = level {
        if matches.try_get_one::<bool>("json").ok().flatten() == Some(&true) {
            return true;
        }
        level = matches.subcommand().map(|(_, sub)| sub);
    }
    false
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn a_refusal_exits_1_through_any_context_and_every_other_error_2() {
        let refused = anyhow::Error::from(Negative::Refused("no join request".into()))
            .context("rejecting erin");
        assert_eq!(code_of(&refused), EXIT_NO);
        let missing: anyhow::Result<()> =
            Err(Negative::Missing("no block at height 9".into()).into());
        assert_eq!(
            code_of(&missing.context("block").expect_err("an error")),
            EXIT_NO
        );
        let failed = anyhow::anyhow!("no node answers").context("status");
        assert_eq!(code_of(&failed), EXIT_ERROR);
    }
}
