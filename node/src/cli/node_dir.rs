//! `--data-dir` for the commands that need a node there: its environment default, and the
//! check that the directory holds one, so a mistyped or empty directory says what to run
//! instead of failing later on a missing socket or file.

use std::path::Path;

use anyhow::{Context, bail};
use bfte_node::daemon::DataDir;

/// The environment variable `--data-dir` defaults from, wherever a command takes one.
pub const DATA_DIR_ENV: &str = "BFTE_DATA_DIR";

/// The data directory at `path`, if `bfte init` (or `join`, or `replicate`) made a node there.
pub fn existing(path: &Path) -> anyhow::Result<DataDir> {
    let dir = DataDir::new(path);
    if dir.secret_path().exists() {
        return Ok(dir);
    }
    let what = if path.is_dir() {
        format!("{} holds no node (no secret.key)", path.display())
    } else {
        format!("there is no directory {}", path.display())
    };
    bail!(
        "{what}: create a node there with `bfte init --data-dir {}` (or `bfte join` or \
         `bfte replicate` with an invite), or point --data-dir or {DATA_DIR_ENV} at a node's \
         directory",
        path.display()
    )
}

/// `--data-dir` of a command with subcommands, where it is global so that it may come before
/// or after the subcommand, and so optional to clap (a global argument cannot be required).
pub fn given(data_dir: Option<&Path>) -> anyhow::Result<&Path> {
    data_dir.with_context(|| {
        format!("which node? pass --data-dir DIR or set {DATA_DIR_ENV} to a node's directory")
    })
}

/// The command that starts the node in `dir`: a replica's, or a peer's (with the genesis file
/// its first run needs, if the directory has none yet).
pub fn start_command(dir: &DataDir) -> String {
    let path = dir.path().display();
    if dir.invite_path().exists() {
        format!("bfte replicate --data-dir {path}")
    } else if dir.genesis_path().exists() {
        format!("bfte run --data-dir {path}")
    } else {
        format!("bfte run --data-dir {path} --genesis FILE")
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn a_directory_without_a_node_points_to_bfte_init() {
        let temp = tempfile::tempdir().expect("tempdir");
        let empty = format!("{:#}", existing(temp.path()).expect_err("no node"));
        assert!(empty.contains("holds no node"), "{empty}");
        assert!(
            empty.contains(&format!("bfte init --data-dir {}", temp.path().display())),
            "{empty}"
        );
        let absent = temp.path().join("typo");
        let absent = format!("{:#}", existing(&absent).expect_err("no directory"));
        assert!(absent.contains("there is no directory"), "{absent}");
        assert!(absent.contains("bfte init"), "{absent}");

        let listen: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        DataDir::new(temp.path())
            .init("alice", listen)
            .expect("init");
        let dir = existing(temp.path()).expect("a node");
        assert_eq!(dir.path(), temp.path());
        assert!(start_command(&dir).ends_with("--genesis FILE"));
    }
}
