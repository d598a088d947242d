//! What a simulated peer's database holds: it survives a crash, exactly as a redb commit
//! survives one, and nothing the peer held only in memory does.

use std::collections::BTreeMap;

use bfte_consensus::Restored;
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::item::ConsensusItem;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::vote::Vote;

use super::ledger::genesis_root;
use super::membership::EpochEnds;

/// What survives a crash: exactly what the core asked to persist, and the finalized chain.
#[derive(Debug)]
pub(super) struct Disk {
    pub(super) votes: Vec<Vote>,
    pub(super) own_items: Vec<ConsensusItem>,
    pub(super) certificates: Vec<Certificate>,
    pub(super) blocks: Vec<Block>,
    /// Finalized blocks from genesis, each with its finalization if it had its own.
    pub(super) chain: Vec<(Block, Option<Certificate>)>,
    pub(super) nonces: BTreeMap<PeerId, u64>,
    /// The ledger's state root after each applied height, from the genesis block's.
    pub(super) roots: Vec<Hash>,
    /// The epoch the peer is in, and where earlier epochs ended.
    pub(super) epoch: EpochConfig,
    pub(super) ends: EpochEnds,
}

impl Disk {
    /// A fresh peer's disk: the genesis block finalized and applied, in the genesis epoch.
    pub(super) fn new(genesis: &Block, epoch: EpochConfig) -> Disk {
        Disk {
            votes: Vec::new(),
            own_items: Vec::new(),
            certificates: Vec::new(),
            blocks: Vec::new(),
            chain: vec![(genesis.clone(), None)],
            nonces: BTreeMap::new(),
            roots: vec![genesis_root(genesis)],
            epoch,
            ends: EpochEnds::new(),
        }
    }

    /// What a restarting core is handed, as `Store::restored` reads it: the finalized tip and
    /// nonces, and whatever was persisted above the tip.
    pub(super) fn restored(&self) -> Restored {
        let (tip, _) = self
            .chain
            .last()
            .expect("a chain starts at genesis or at an epoch's start block");
        let tip_round = tip.header.round;
        Restored {
            finalized_tip: tip.clone(),
            finalized_nonces: self.nonces.clone(),
            votes: self
                .votes
                .iter()
                .filter(|v| v.round > tip_round)
                .cloned()
                .collect(),
            own_items: self
                .own_items
                .iter()
                .filter(|i| self.nonces.get(&i.author).is_none_or(|n| i.nonce > *n))
                .cloned()
                .collect(),
            certificates: self
                .certificates
                .iter()
                .filter(|c| c.round > tip_round)
                .cloned()
                .collect(),
            blocks: self
                .blocks
                .iter()
                .filter(|b| b.header.round > tip_round)
                .cloned()
                .collect(),
        }
    }
}
