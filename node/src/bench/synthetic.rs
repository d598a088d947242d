//! A synthetic finalized history, written as a node writes its own: blocks that commit to the
//! ledger's state roots and to the epoch's configuration, items signed by a member, a
//! finalization certificate of a quorum over every batch, each batch committed and applied.

use std::path::Path;

use anyhow::Context;
use bfte_consensus::Finalized;
use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ConsensusItem;
use bfte_shared::modules::DATA;
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::Height;
use bfte_shared::vote::{Vote, VoteKind};

use crate::ledger::Ledger;
use crate::store::Store;

/// Blocks finalized by one certificate, as a node finalizes them after a short pause.
const BATCH: u64 = 100;

/// What the history holds.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub blocks: u64,
    pub items_per_block: usize,
    pub item_bytes: usize,
}

/// Writes `shape`'s history of a four-peer federation to a new store at `path`.
pub fn write_history(path: &Path, shape: Shape) -> anyhow::Result<Store> {
    let mut secrets: Vec<PeerSecret> = (1..=4u8).map(|i| PeerSecret::from_seed([i; 32])).collect();
    secrets.sort_by_key(PeerSecret::peer_id);
    let genesis = Genesis {
        name: "bench".into(),
        peers: PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect())?,
        params: ConsensusParams::default(),
        timestamp_ms: 0,
    };
    let federation = genesis.federation_id();
    let store = Store::create(path, &genesis)?;
    let mut ledger = Ledger::new(&genesis);
    let epoch = ledger.epoch(store.database())?;
    let (peers, config_hash) = epoch.peers_and_config_hash()?;
    let domain = epoch.signing_domain(&federation);
    let mut tip = Block::genesis(&genesis);
    let mut nonce = 0;
    while tip.header.height.0 < shape.blocks {
        let (state_height, state_root) = ledger
            .recent_roots(store.database(), 1)?
            .pop()
            .context("the ledger holds no state root")?;
        let count = BATCH.min(shape.blocks - tip.header.height.0);
        let mut blocks: Vec<Block> = Vec::new();
        for _ in 0..count {
            let items = (0..shape.items_per_block)
                .map(|_| {
                    nonce += 1;
                    let data = vec![0xb7; shape.item_bytes];
                    ConsensusItem::single(&federation, &secrets[0], nonce, DATA, data)
                })
                .collect();
            let parent = blocks.last().unwrap_or(&tip);
            let state = (state_height, state_root);
            let block = child_block(parent, items, config_hash, state, secrets[0].peer_id());
            blocks.push(block);
        }
        let last = blocks.last().context("a batch of blocks")?.clone();
        let kind = VoteKind::Finalize(last.hash());
        let signatures = secrets.iter().take(peers.quorum()).map(|secret| {
            let index = peers.index_of(&secret.peer_id()).unwrap_or_default();
            let vote = Vote::new(&domain, secret, last.header.round, kind);
            (index, vote.signature)
        });
        let certificate =
            Certificate::from_signatures(last.header.round, kind, peers.len(), signatures);
        store.commit(
            &[],
            &[Finalized {
                blocks,
                certificate,
            }],
        )?;
        ledger.catch_up(&store)?;
        tip = last;
    }
    Ok(store)
}

/// The block after `parent` holding `items`, one round later (a second per round), committing
/// to `config_hash` and to the state root `state` (its height and root).
pub fn child_block(
    parent: &Block,
    items: Vec<ConsensusItem>,
    config_hash: Hash,
    state: (Height, Hash),
    proposer: PeerId,
) -> Block {
    let payload = Payload { items };
    let round = parent.header.round.next();
    let header = BlockHeader {
        round,
        height: parent.header.height.next(),
        parent: parent.hash(),
        payload_hash: payload.hash(),
        timestamp_ms: 1_000 * round.0,
        config_hash,
        state_root: state.1,
        state_height: state.0,
        proposer,
    };
    Block { header, payload }
}
