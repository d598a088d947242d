//! The command line's shape: `--data-dir` wherever a command works on a node (in either
//! position around a subcommand, with its environment default), nowhere else, and `--json`
//! found at any depth so that errors follow it.

use std::path::Path;

use clap::{CommandFactory, Parser};

use super::exit::wants_json;
use super::node_dir::DATA_DIR_ENV;
use super::{Cli, Command, governance_cmds, module_cmds};

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("bfte").chain(args.iter().copied()))
        .unwrap_or_else(|error| panic!("bfte {args:?}: {error}"))
}

fn meta_dir(args: &[&str]) -> Option<String> {
    match parse(args).command {
        Command::Meta(module_cmds::MetaArgs { data_dir, .. }) => {
            data_dir.map(|d| d.display().to_string())
        }
        other => panic!("not meta: {other:?}"),
    }
}

#[test]
fn data_dir_goes_before_or_after_a_subcommand() {
    let before = meta_dir(&["meta", "--data-dir", "D", "set", "k", "v"]);
    let after = meta_dir(&["meta", "set", "--data-dir", "D", "k", "v"]);
    let last = meta_dir(&["meta", "set", "k", "v", "--data-dir", "D"]);
    assert_eq!(before.as_deref(), Some("D"));
    assert_eq!(after, before);
    assert_eq!(last, before);
    assert_eq!(
        meta_dir(&["meta", "get", "--json", "--data-dir", "D"]).as_deref(),
        Some("D")
    );

    let peer = bfte_shared::peer::PeerSecret::from_seed([3; 32])
        .peer_id()
        .to_string();
    for args in [
        ["propose", "--data-dir", "D", "remove-peer", &peer],
        ["propose", "remove-peer", "--data-dir", "D", &peer],
    ] {
        let Command::Propose(governance_cmds::ProposeArgs { data_dir, .. }) = parse(&args).command
        else {
            panic!("not propose");
        };
        assert_eq!(data_dir.as_deref(), Some(Path::new("D")), "{args:?}");
    }
}

/// Every command (and subcommand) that takes `--data-dir` defaults it from the environment
/// and says so in its help; the ones that work on no node do not take it.
#[test]
fn data_dir_defaults_from_the_environment_everywhere_it_is_taken() {
    fn walk(command: &clap::Command, path: String, taking: &mut Vec<String>) {
        if let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some("data-dir"))
        {
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(DATA_DIR_ENV),
                "bfte {path} --data-dir"
            );
            taking.push(path.clone());
        }
        for sub in command.get_subcommands() {
            walk(
                sub,
                format!("{path} {}", sub.get_name()).trim().into(),
                taking,
            );
        }
    }
    let mut cli = Cli::command();
    cli.build();
    let mut taking = Vec::new();
    walk(&cli, String::new(), &mut taking);
    for command in [
        "status",
        "meta set",
        "propose add-peer",
        "history export",
        "tui",
    ] {
        assert!(taking.iter().any(|t| t == command), "{command}: {taking:?}");
    }
    for command in [
        "",
        "demo",
        "genesis",
        "relay",
        "sim",
        "bench core",
        "history verify",
    ] {
        assert!(!taking.iter().any(|t| t == command), "{command:?} takes it");
    }
    let help = Cli::command()
        .find_subcommand_mut("status")
        .map(|status| status.render_help().to_string())
        .unwrap_or_default();
    assert!(help.contains("[env: BFTE_DATA_DIR"), "{help}");
}

#[test]
fn json_is_found_at_any_depth() {
    let matches = |args: &[&str]| {
        Cli::command()
            .try_get_matches_from(std::iter::once("bfte").chain(args.iter().copied()))
            .unwrap_or_else(|error| panic!("bfte {args:?}: {error}"))
    };
    assert!(wants_json(&matches(&[
        "status",
        "--data-dir",
        "D",
        "--json"
    ])));
    assert!(wants_json(&matches(&[
        "meta",
        "--data-dir",
        "D",
        "get",
        "--json"
    ])));
    assert!(wants_json(&matches(&["history", "verify", "f", "--json"])));
    assert!(!wants_json(&matches(&["status", "--data-dir", "D"])));
    assert!(!wants_json(&matches(&[
        "submit",
        "--data-dir",
        "D",
        "--",
        "--json"
    ])));
}

#[test]
fn the_exit_rule_in_the_help_is_the_readmes() {
    let readme = include_str!("../../../README.md");
    for line in super::exit_rule!().lines() {
        assert!(readme.contains(line.trim()), "README lacks: {line}");
    }
    let help = Cli::command().render_help().to_string();
    assert!(help.contains(super::exit_rule!()), "{help}");
}
