//! A node's data directory: its secret, its settings, the federation's genesis file, the
//! database and the admin socket, each with errors that say which file and what to do.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::modules::ctrl::Member;
use bfte_shared::peer::{PeerId, PeerSecret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

/// What `bfte init` records besides the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeSettings {
    pub name: String,
    /// UDP address the iroh endpoint binds.
    pub listen: SocketAddr,
}

/// One founding peer as the genesis file lists it. Addresses are not part of the federation
/// id: they may change without changing the federation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenesisPeer {
    pub name: String,
    pub id: PeerId,
    pub addrs: Vec<SocketAddr>,
}

/// The file every founding peer loads: `bfte genesis` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenesisFile {
    pub name: String,
    pub timestamp_ms: u64,
    pub params: ConsensusParams,
    pub peers: Vec<GenesisPeer>,
}

impl GenesisFile {
    pub fn genesis(&self) -> anyhow::Result<Genesis> {
        let peers = PeerSet::new(self.peers.iter().map(|p| p.id).collect())
            .context("the genesis file's peer list is not a valid peer set")?;
        crate::modules::ctrl::validate_params(&self.params)
            .map_err(|reason| anyhow::anyhow!("the genesis file's parameters: {reason}"))?;
        Ok(Genesis {
            name: self.name.clone(),
            peers,
            params: self.params.clone(),
            timestamp_ms: self.timestamp_ms,
        })
    }

    pub fn load(path: &Path) -> anyhow::Result<GenesisFile> {
        let text = fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the genesis file {}: create it with `bfte genesis`",
                path.display()
            )
        })?;
        let file: GenesisFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid genesis file", path.display()))?;
        file.genesis()
            .with_context(|| format!("{} is not a valid genesis file", path.display()))?;
        Ok(file)
    }

    /// The genesis file of a node that learnt the genesis from the federation: its founders
    /// named and addressed as `founders` lists them (where it does).
    pub fn from_genesis(genesis: &Genesis, founders: &[Member]) -> anyhow::Result<GenesisFile> {
        let peers = genesis
            .peers
            .iter()
            .map(|id| {
                let founder = founders.iter().find(|m| m.id == *id);
                GenesisPeer {
                    name: founder.map(|m| m.name.clone()).unwrap_or_default(),
                    id: *id,
                    addrs: founder
                        .map(|m| m.addrs.iter().filter_map(|a| a.parse().ok()).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        let file = GenesisFile {
            name: genesis.name.clone(),
            timestamp_ms: genesis.timestamp_ms,
            params: genesis.params.clone(),
            peers,
        };
        anyhow::ensure!(
            file.genesis()? == *genesis,
            "the genesis the federation sent does not round-trip through a genesis file"
        );
        Ok(file)
    }

    /// Writes the file whole or not at all (a temporary file renamed over it): a crash never
    /// leaves half a genesis behind.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).context("encoding the genesis file")?;
        write_atomically(path, (text + "\n").as_bytes())
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> DataDir {
        DataDir(path.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn secret_path(&self) -> PathBuf {
        self.0.join("secret.key")
    }

    pub fn settings_path(&self) -> PathBuf {
        self.0.join("node.json")
    }

    pub fn genesis_path(&self) -> PathBuf {
        self.0.join("genesis.json")
    }

    pub fn database_path(&self) -> PathBuf {
        self.0.join("bfte.redb")
    }

    /// The segment blobs the node serves its history from; rebuilt from the database if lost.
    pub fn blobs_path(&self) -> PathBuf {
        self.0.join("blobs")
    }

    /// The invite a replica follows the federation from (`bfte replicate`).
    pub fn invite_path(&self) -> PathBuf {
        self.0.join("invite.txt")
    }

    pub fn admin_socket_path(&self) -> PathBuf {
        self.0.join(bfte_shared::admin::ADMIN_SOCKET)
    }

    /// The admin socket that refuses every write.
    pub fn admin_read_only_socket_path(&self) -> PathBuf {
        self.0.join(bfte_shared::admin::ADMIN_READ_ONLY_SOCKET)
    }

    /// Creates the directory (owner-only) with a fresh secret and the settings; refuses to
    /// overwrite an existing identity.
    pub fn init(&self, name: &str, listen: SocketAddr) -> anyhow::Result<PeerId> {
        fs::create_dir_all(&self.0)
            .with_context(|| format!("cannot create the data directory {}", self.0.display()))?;
        fs::set_permissions(&self.0, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {} to its owner", self.0.display()))?;
        let secret_path = self.secret_path();
        if secret_path.exists() {
            bail!(
                "{} already holds a peer identity; use another --data-dir, or delete it to start over",
                self.0.display()
            );
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        let secret = PeerSecret::from_seed(seed);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&secret_path)
            .with_context(|| format!("cannot create {}", secret_path.display()))?;
        writeln!(file, "{}", data_encoding::HEXLOWER.encode(&seed))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", secret_path.display()))?;
        let settings = NodeSettings {
            name: name.to_string(),
            listen,
        };
        let text = serde_json::to_string_pretty(&settings).context("encoding node settings")?;
        fs::write(self.settings_path(), text + "\n")
            .with_context(|| format!("cannot write {}", self.settings_path().display()))?;
        Ok(secret.peer_id())
    }

    pub fn secret(&self) -> anyhow::Result<PeerSecret> {
        let path = self.secret_path();
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "no peer secret at {}: run `bfte init --data-dir {}` first",
                path.display(),
                self.0.display()
            )
        })?;
        let bytes = data_encoding::HEXLOWER
            .decode(text.trim().as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| {
                format!(
                    "{} is corrupt: it must hold 64 hex characters; restore it from your \
                     backup of this node's key (a new key is a new peer, which the federation \
                     would have to add)",
                    path.display()
                )
            })?;
        Ok(PeerSecret::from_seed(bytes))
    }

    pub fn settings(&self) -> anyhow::Result<NodeSettings> {
        let path = self.settings_path();
        let text = fs::read_to_string(&path).with_context(|| {
            if self.secret_path().exists() {
                format!(
                    "no node settings at {}: restore it from a backup, or write it by hand: \
                     {{\"name\": NAME, \"listen\": \"IP:PORT\"}}",
                    path.display()
                )
            } else {
                format!(
                    "no node settings at {}: run `bfte init --data-dir {}` first",
                    path.display(),
                    self.0.display()
                )
            }
        })?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is corrupt: fix it by hand (JSON with the node's \"name\" and \"listen\" \
                 address) or restore it from a backup",
                path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_an_owner_only_secret_and_refuses_to_overwrite_it() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(temp.path().join("peer"));
        let listen: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        let id = dir.init("alice", listen).expect("init");
        assert_eq!(dir.secret().expect("secret").peer_id(), id);
        let mode = fs::metadata(dir.secret_path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(dir.settings().expect("settings").name, "alice");
        let again = dir.init("alice", listen).expect_err("second init");
        assert!(again.to_string().contains("already holds a peer identity"));
    }

    #[test]
    fn a_corrupt_secret_or_missing_directory_says_what_to_do() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(temp.path());
        let missing = dir.secret().expect_err("no secret");
        assert!(format!("{missing:#}").contains("bfte init"));
        fs::write(dir.secret_path(), "not hex").expect("write");
        let corrupt = dir.secret().expect_err("corrupt");
        assert!(format!("{corrupt:#}").contains("corrupt"));
    }
}
