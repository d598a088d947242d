//! The consensus_ctrl module: the federation governs itself through its own history. Peers
//! propose changes (add or remove a peer, new consensus parameters, enable or upgrade a module)
//! and vote on them; a change passes when a quorum of the peers in force voted yes.
//!
//! A change to the peer set or the parameters ends the epoch at the block whose application
//! passed it: every correct peer applies the same blocks in the same order, so every one finds
//! the same boundary. The next epoch starts from that block with the new configuration.

use serde::{Deserialize, Serialize};

use crate::federation::{ConsensusParams, FederationId, Genesis, InvalidPeerSet, PeerSet};
use crate::hash::Hash;
use crate::item::ModuleId;
use crate::peer::PeerId;
use crate::round::Height;

/// Longest peer name an `AddPeer` may carry.
pub const MAX_PEER_NAME_BYTES: usize = 64;
/// Most addresses an `AddPeer` may carry, and the longest one.
pub const MAX_PEER_ADDRS: usize = 8;
pub const MAX_ADDR_BYTES: usize = 128;

/// Sequential number of a proposal, assigned when the proposal is applied.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct ProposalId(pub u64);

impl std::fmt::Display for ProposalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One member of the federation as consensus records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: PeerId,
    pub name: String,
    /// Where the peer listens (`ip:port`); a hint for dialing, not part of its identity.
    pub addrs: Vec<String>,
}

/// A module and the version the federation runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVersion {
    pub id: ModuleId,
    pub kind: String,
    pub version: u32,
}

/// A change to the federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    AddPeer(Member),
    RemovePeer {
        id: PeerId,
    },
    SetParams(ConsensusParams),
    /// Start applying items of a module (`kind` at `version`) under `id`.
    EnableModule(ModuleVersion),
    /// Move an enabled module to another version.
    UpgradeModule {
        id: ModuleId,
        version: u32,
    },
}

impl Change {
    /// Whether passing this change ends the epoch (the consensus core's configuration changes).
    pub fn ends_epoch(&self) -> bool {
        matches!(
            self,
            Change::AddPeer(_) | Change::RemovePeer { .. } | Change::SetParams(_)
        )
    }

    /// One line saying exactly what changes.
    pub fn describe(&self) -> String {
        match self {
            Change::AddPeer(member) => format!(
                "add peer {} ({}) at {}",
                member.name,
                member.id,
                if member.addrs.is_empty() {
                    "no address".to_string()
                } else {
                    member.addrs.join(", ")
                }
            ),
            Change::RemovePeer { id } => format!("remove peer {id}"),
            Change::SetParams(params) => format!(
                "set parameters: round timeout {} ms, backoff ×{}, resend {} ms, blocks ≤ {} bytes and ≤ {} items, clock drift ≤ {} ms",
                params.round_timeout_ms,
                1u64 << params.max_backoff_doublings.min(63),
                params.resend_interval_ms,
                params.max_block_bytes,
                params.max_block_items,
                params.max_clock_drift_ms
            ),
            Change::EnableModule(module) => format!(
                "enable module {} v{} as id {}",
                module.kind, module.version, module.id.0
            ),
            Change::UpgradeModule { id, version } => {
                format!("upgrade module {} to v{version}", id.0)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlItem {
    /// Propose a change; the proposer's own yes vote comes with it.
    Propose(Change),
    /// Vote on an open proposal; a later vote replaces the voter's earlier one.
    Vote { proposal: ProposalId, yes: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalStatus {
    Open,
    /// A quorum voted yes while applying the block at `height`.
    Passed {
        height: Height,
    },
    /// So many peers in force voted no that a quorum of yes votes is impossible.
    Rejected {
        height: Height,
    },
}

/// A proposal and its votes, as the module stores it and the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: ProposalId,
    pub change: Change,
    pub proposer: PeerId,
    /// The height of the block that carried the proposal.
    pub height: Height,
    /// Each voter's latest vote (yes = true). Only votes of peers in force count.
    pub votes: Vec<(PeerId, bool)>,
    pub status: ProposalStatus,
}

/// Effect kind emitted when a proposal passes; the body is the `Proposal`.
pub const PASSED: &str = "ctrl/passed";

/// The configuration consensus runs under, from one epoch boundary to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochConfig {
    /// 0 for the genesis epoch, then one more per boundary.
    pub number: u64,
    /// The block the epoch starts from: the genesis block, or the block whose application
    /// passed the change.
    pub start_height: Height,
    pub start_block: Hash,
    pub members: Vec<Member>,
    pub params: ConsensusParams,
    pub modules: Vec<ModuleVersion>,
}

impl EpochConfig {
    /// The genesis epoch: the founding peers and the `modules` every federation starts with.
    /// Names and addresses are not part of the hashed genesis, so the founders have none here:
    /// every peer's state agrees.
    pub fn genesis(genesis: &Genesis, modules: Vec<ModuleVersion>) -> EpochConfig {
        let block = crate::block::Block::genesis(genesis);
        let members = genesis
            .peers
            .iter()
            .map(|id| Member {
                id: *id,
                name: String::new(),
                addrs: Vec::new(),
            })
            .collect();
        EpochConfig {
            number: 0,
            start_height: Height(0),
            start_block: block.hash(),
            members,
            params: genesis.params.clone(),
            modules,
        }
    }

    /// The voting peers of this epoch (the ledger only records valid sets; a damaged
    /// database may not hold one).
    pub fn peer_set(&self) -> Result<PeerSet, InvalidPeerSet> {
        PeerSet::new(self.members.iter().map(|m| m.id).collect())
    }

    /// What every block of this epoch commits to as its configuration: the genesis formula in
    /// the genesis epoch, and with the epoch's number and start after it.
    pub fn config_hash(&self) -> Result<Hash, InvalidPeerSet> {
        self.peers_and_config_hash().map(|(_, hash)| hash)
    }

    /// The peer set and the configuration hash, checking the members' keys once: decompressing
    /// keys was most of what starting a core cost.
    pub fn peers_and_config_hash(&self) -> Result<(PeerSet, Hash), InvalidPeerSet> {
        let peers = self.peer_set()?;
        let hash = if self.number == 0 {
            Hash::of(b"bfte/v1/config\0", &(&peers, &self.params))
        } else {
            Hash::of(
                b"bfte/v1/config\0",
                &(&peers, &self.params, self.number, &self.start_block),
            )
        };
        Ok((peers, hash))
    }

    pub fn member(&self, id: &PeerId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == *id)
    }

    /// What votes, proposals and certificates of this epoch are signed over: the federation id
    /// in the genesis epoch, a hash naming the epoch after it, so that nothing signed in one
    /// epoch counts or conflicts in another.
    pub fn signing_domain(&self, federation: &FederationId) -> FederationId {
        if self.number == 0 {
            return *federation;
        }
        FederationId(Hash::of(
            b"bfte/v1/epoch\0",
            &(federation, self.number, &self.start_block),
        ))
    }
}

// The module's tables in the node's database (`module/<id>/<table>`), with their keys and
// values: the node's module and the console decode them from these definitions.

/// Table: proposal id (8 bytes big-endian, so keys sort by id) -> [`Proposal`].
pub const PROPOSALS: &str = "proposals";
/// Table: [`CURRENT`] -> the [`EpochConfig`] in force; [`PENDING`] -> the next one while the
/// block that passed it is applied; [`NEXT_ID`] -> `u64`, the id the next proposal gets.
pub const CONFIG: &str = "config";
pub const CURRENT: &[u8] = b"current";
pub const PENDING: &[u8] = b"pending";
pub const NEXT_ID: &[u8] = b"next_id";
/// Table: epoch number (8 bytes big-endian) -> the [`EpochConfig`] it started with.
pub const EPOCHS: &str = "epochs";
/// Table: hash of an open proposal's change -> its [`ProposalId`]: a proposal of the same
/// change joins it as a yes vote instead of splitting the votes.
pub const OPEN: &str = "open";

/// The key of a proposal in [`PROPOSALS`].
pub fn proposal_key(id: ProposalId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// The key of an epoch in [`EPOCHS`].
pub fn epoch_key(number: u64) -> [u8; 8] {
    number.to_be_bytes()
}
