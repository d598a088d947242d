//! Hand-built federations, blocks and stores for tests of the store and the ledger.

use std::path::PathBuf;

use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Vote, VoteKind};

use super::Store;
use bfte_consensus::Finalized;

pub(crate) struct Federation {
    pub(crate) genesis: Genesis,
    pub(crate) secrets: Vec<PeerSecret>,
}

pub(crate) fn federation(n: u8) -> Federation {
    let mut secrets: Vec<_> = (0..n).map(|i| PeerSecret::from_seed([i + 7; 32])).collect();
    secrets.sort_by_key(PeerSecret::peer_id);
    let genesis = Genesis {
        name: "store".into(),
        peers: PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect()).expect("peers"),
        params: ConsensusParams::default(),
        timestamp_ms: 0,
    };
    Federation { genesis, secrets }
}

impl Federation {
    pub(crate) fn vote(&self, peer: usize, round: u64, kind: VoteKind) -> Vote {
        let federation = self.genesis.federation_id();
        Vote::new(&federation, &self.secrets[peer], Round(round), kind)
    }

    /// An item of `module` carrying `data`, signed by `peer`.
    pub(crate) fn module_item(
        &self,
        peer: usize,
        nonce: u64,
        module: ModuleId,
        data: Vec<u8>,
    ) -> ConsensusItem {
        let federation = self.genesis.federation_id();
        ConsensusItem::single(&federation, &self.secrets[peer], nonce, module, data)
    }

    pub(crate) fn item(&self, peer: usize, nonce: u64) -> ConsensusItem {
        let federation = self.genesis.federation_id();
        let data = nonce.to_le_bytes().to_vec();
        ConsensusItem::single(&federation, &self.secrets[peer], nonce, ModuleId(0), data)
    }
}

/// A block on `parent` in `round`; the store checks links, not signatures or contents.
pub(crate) fn child(parent: &Block, round: u64, items: Vec<ConsensusItem>) -> Block {
    let payload = Payload { items };
    Block {
        header: BlockHeader {
            round: Round(round),
            height: parent.header.height.next(),
            parent: parent.hash(),
            payload_hash: payload.hash(),
            timestamp_ms: round,
            config_hash: parent.header.config_hash,
            state_root: Hash::ZERO,
            state_height: Height(0),
            proposer: PeerId([1; 32]),
        },
        payload,
    }
}

/// A finalization of `block` (signatures are not the store's business).
pub(crate) fn finalization(block: &Block) -> Certificate {
    Certificate::from_signatures(block.header.round, VoteKind::Finalize(block.hash()), 4, [])
}

pub(crate) fn finalized(blocks: &[Block]) -> Finalized {
    let last = blocks.last().expect("a batch has blocks");
    Finalized {
        certificate: finalization(last),
        blocks: blocks.to_vec(),
    }
}

pub(crate) fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("node.redb")
}

pub(crate) fn new_store(fed: &Federation) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::create(db_path(&dir), &fed.genesis).expect("create");
    (dir, store)
}
