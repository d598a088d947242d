//! Where a command's log lines go. A node (`bfte run`, `bfte replicate`, and so each node
//! that `bfte demo` starts) writes them to a file in `<data-dir>/logs/` (or `--log-dir`), a
//! file a day, the newest [`KEPT_LOG_FILES`] kept. Other commands write them to stderr, so
//! stdout carries only results; a command that draws on the terminal (the console) gets
//! none there, since a line on its screen would tear it. A node also forwards its lines to
//! admin subscribers (the console's Log screen), whatever the destination.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

use super::Cli;

/// Log files a node keeps: a week of daily files.
pub const KEPT_LOG_FILES: usize = 7;
const PREFIX: &str = "bfte";
const SUFFIX: &str = "log";

/// Installs the process's tracing subscriber for `cli`'s command.
pub fn init(cli: &Cli) -> anyhow::Result<()> {
    let default_level = if cli.simulates() {
        LevelFilter::ERROR
    } else {
        LevelFilter::WARN
    };
    let filter = EnvFilter::builder()
        .with_default_directive(default_level.into())
        .from_env_lossy();
    let file_logs = match cli.node_log_dir() {
        Some(dir) => {
            let file = open_log_files(&dir)?;
            // A node's stderr is a terminal or a supervisor's log (`bfte demo` keeps each
            // node's in DIR/peerN/node.log): it gets this one line, saying where the log is,
            // and the error a node exits with. Log lines would repeat the file there, and in
            // the console's case reach its screen.
            eprintln!(
                "bfte: logging to {}/{PREFIX}.YYYY-MM-DD.{SUFFIX} (RUST_LOG sets the detail)",
                dir.display()
            );
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(file)
                    .with_ansi(false),
            )
        }
        None => None,
    };
    let stderr_logs = (file_logs.is_none() && !cli.draws_on_terminal()).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(file_logs)
        .with(stderr_logs)
        .with(bfte_node::daemon::LogTap)
        .init();
    Ok(())
}

/// A node's log directory: `log_dir` if given, else `<data_dir>/logs`.
pub fn node_log_dir(data_dir: &Path, log_dir: Option<&Path>) -> PathBuf {
    log_dir.map_or_else(|| data_dir.join("logs"), Path::to_path_buf)
}

/// The daily log files in `dir` (made if missing), oldest ones beyond [`KEPT_LOG_FILES`]
/// removed now and at each new day. Each line is written straight to the file, without a
/// buffer or a writer thread, so a node that is killed loses none.
fn open_log_files(dir: &Path) -> anyhow::Result<RollingFileAppender> {
    let unwritable = || {
        format!(
            "cannot write logs in {} (pass --log-dir DIR for another directory)",
            dir.display()
        )
    };
    // Made here, before the appender looks for old files to remove: it would complain about
    // a missing directory on stderr.
    std::fs::create_dir_all(dir).with_context(unwritable)?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(PREFIX)
        .filename_suffix(SUFFIX)
        .max_log_files(KEPT_LOG_FILES)
        .build(dir)
        .with_context(unwritable)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tracing_subscriber::fmt::MakeWriter;

    use super::{KEPT_LOG_FILES, open_log_files};

    fn log_files(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read the log directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_node_logs_to_a_daily_file_and_keeps_only_the_newest_ones() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("logs");
        std::fs::create_dir_all(&dir).expect("mkdir");
        for day in 1..=10 {
            std::fs::write(dir.join(format!("bfte.2020-01-{day:02}.log")), "old\n")
                .expect("an old log");
        }
        std::fs::write(dir.join("notes.txt"), "not a log").expect("another file");
        let appender = open_log_files(&dir).expect("open the log files");
        appender
            .make_writer()
            .write_all(b"a line\n")
            .expect("write a line");
        let names = log_files(&dir);
        let logs: Vec<&String> = names.iter().filter(|n| n.ends_with(".log")).collect();
        // Which old files go follows their creation times, which files made in one test
        // may share: the count is what this test can hold the appender to.
        assert_eq!(logs.len(), KEPT_LOG_FILES, "{names:?}");
        assert!(
            names.contains(&"notes.txt".to_string()),
            "only logs are removed"
        );
        let today = logs
            .iter()
            .find(|n| !n.starts_with("bfte.2020-"))
            .expect("today's file");
        let written = std::fs::read_to_string(dir.join(today)).expect("read today's log");
        assert_eq!(written, "a line\n");
    }

    #[test]
    fn a_missing_log_directory_is_made() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("a").join("logs");
        open_log_files(&dir).expect("open the log files");
        assert_eq!(log_files(&dir).len(), 1, "today's file");
    }

    #[test]
    fn an_unwritable_log_directory_is_an_error_naming_it_and_the_way_out() {
        let temp = tempfile::tempdir().expect("tempdir");
        let file = temp.path().join("a-file");
        std::fs::write(&file, "").expect("a file where the directory would be");
        let error = open_log_files(&file).expect_err("a file is no log directory");
        let text = format!("{error:#}");
        assert!(
            text.contains("a-file") && text.contains("--log-dir"),
            "{text}"
        );
    }
}
