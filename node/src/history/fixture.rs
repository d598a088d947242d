//! A real history for tests, held as a node holds it: signed items, blocks that commit to the
//! ledger's state roots and to their epoch's configuration, finalization certificates of the
//! epoch's peers, and a membership change with an end proof.

use bfte_consensus::Finalized;
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::federation::{ConsensusParams, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::modules::ctrl::{Change, CtrlItem, EpochConfig, Member, ProposalId};
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{CONSENSUS_CTRL, META};
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::Height;
use bfte_shared::vote::{Vote, VoteKind};

use super::export::{ExportRange, export};
use crate::bench::synthetic::child_block;
use crate::ledger::Ledger;
use crate::store::Store;
use crate::store::fixtures::{federation, new_store};

pub(crate) struct History {
    _dir: tempfile::TempDir,
    pub(crate) store: std::sync::Arc<Store>,
    pub(crate) ledger: Ledger,
    /// Founders first (sorted by id), then the keys that joined.
    secrets: Vec<PeerSecret>,
    nonces: Vec<u64>,
    epoch: EpochConfig,
    tip: Block,
}

/// Small blocks, so that a record over the limit is cheap to build.
pub(crate) fn small_params() -> ConsensusParams {
    ConsensusParams {
        max_block_bytes: 4096,
        ..ConsensusParams::default()
    }
}

/// Four founders. Epoch 0: metadata, then a vote that removes founder 3 and adds a newcomer,
/// passing at height 3, finalized together with height 4, which the old epoch finalized above
/// its end (its tail). Epoch 1, from height 3: the newcomer votes with founders 0 to 2, then
/// `more` empty blocks follow in batches of `batch`.
pub(crate) fn membership_change(more: usize, batch: usize) -> History {
    let mut history = History::new(small_params());
    let (newcomer, member) = history.join(90);
    let removed = history.id(3);
    let items = vec![history.meta(0, "federation.name", "alpha")];
    history.finalize(vec![items]);
    let propose = vec![
        history.ctrl(0, CtrlItem::Propose(Change::AddPeer(member))),
        history.ctrl(1, CtrlItem::Propose(Change::RemovePeer { id: removed })),
        history.meta(1, "federation.name", "alpha"),
    ];
    let votes = vec![
        history.ctrl(
            2,
            CtrlItem::Vote {
                proposal: ProposalId(1),
                yes: true,
            },
        ),
        history.ctrl(
            1,
            CtrlItem::Vote {
                proposal: ProposalId(1),
                yes: true,
            },
        ),
        history.ctrl(
            0,
            CtrlItem::Vote {
                proposal: ProposalId(2),
                yes: true,
            },
        ),
        history.ctrl(
            2,
            CtrlItem::Vote {
                proposal: ProposalId(2),
                yes: true,
            },
        ),
    ];
    let started = history.finalize(vec![propose, votes, Vec::new()]);
    assert_eq!(
        started.map(|e| e.number),
        Some(1),
        "the change ends epoch 0"
    );
    let items = vec![
        history.meta(newcomer, "federation.name", "beta"),
        history.meta(0, "federation.name", "beta"),
        history.meta(2, "federation.name", "beta"),
    ];
    history.finalize(vec![items, Vec::new()]);
    for chunk in (0..more).collect::<Vec<_>>().chunks(batch.max(1)) {
        history.finalize(vec![Vec::new(); chunk.len()]);
    }
    history
}

impl History {
    pub(crate) fn new(params: ConsensusParams) -> History {
        let mut fed = federation(4);
        fed.genesis.params = params;
        let (dir, store) = new_store(&fed);
        let ledger = Ledger::new(&fed.genesis);
        let epoch = ledger.epoch(store.database()).expect("the genesis epoch");
        History {
            _dir: dir,
            store: std::sync::Arc::new(store),
            ledger,
            nonces: vec![0; fed.secrets.len()],
            secrets: fed.secrets,
            epoch,
            tip: Block::genesis(&fed.genesis),
        }
    }

    pub(crate) fn id(&self, key: usize) -> PeerId {
        self.secrets[key].peer_id()
    }

    /// A key outside the federation: its index and the member an `AddPeer` of it names.
    pub(crate) fn join(&mut self, seed: u8) -> (usize, Member) {
        let secret = PeerSecret::from_seed([seed; 32]);
        let member = Member {
            id: secret.peer_id(),
            name: format!("peer-{seed}"),
            addrs: vec![format!("127.0.0.1:{}", 4000 + u16::from(seed))],
        };
        self.secrets.push(secret);
        self.nonces.push(0);
        (self.secrets.len() - 1, member)
    }

    pub(crate) fn epoch(&self) -> &EpochConfig {
        &self.epoch
    }

    fn item(&mut self, key: usize, module: ModuleId, data: Vec<u8>) -> ConsensusItem {
        self.nonces[key] += 1;
        let federation = self.store.genesis().federation_id();
        ConsensusItem::single(
            &federation,
            &self.secrets[key],
            self.nonces[key],
            module,
            data,
        )
    }

    pub(crate) fn meta(&mut self, key: usize, name: &str, value: &str) -> ConsensusItem {
        let item = MetaItem::Propose {
            key: name.into(),
            value: value.into(),
        };
        self.item(key, META, codec::encode(&item))
    }

    pub(crate) fn ctrl(&mut self, key: usize, item: CtrlItem) -> ConsensusItem {
        self.item(key, CONSENSUS_CTRL, codec::encode(&item))
    }

    /// Blocks on the tip, one per list of items, finalized together by the epoch's first
    /// quorum of peers, committed and applied; the epoch applying them started, if one.
    pub(crate) fn finalize(&mut self, blocks: Vec<Vec<ConsensusItem>>) -> Option<EpochConfig> {
        let (state_height, state_root) = self.state_root();
        let mut chain: Vec<Block> = Vec::new();
        for items in blocks {
            let parent = chain.last().unwrap_or(&self.tip);
            let config_hash = self.epoch.config_hash().expect("a valid epoch");
            let state = (state_height, state_root);
            let proposer = self.epoch.members[0].id;
            chain.push(child_block(parent, items, config_hash, state, proposer));
        }
        let last = chain.last().expect("at least one block");
        let peers = self.epoch.peer_set().expect("a valid epoch");
        let signers: Vec<PeerId> = peers.iter().take(peers.quorum()).copied().collect();
        let certificate = self.sign(&self.epoch, &peers, last, &signers);
        let finalized = Finalized {
            blocks: chain,
            certificate,
        };
        self.store
            .commit(&[], std::slice::from_ref(&finalized))
            .expect("commit");
        let caught_up = self.ledger.catch_up(&self.store).expect("apply");
        let Some(epoch) = caught_up.epoch else {
            self.tip = finalized.blocks.last().expect("blocks").clone();
            return None;
        };
        self.store
            .switch_epoch(&epoch, &PeerId([0; 32]))
            .expect("switch");
        self.tip = finalized
            .blocks
            .iter()
            .find(|b| b.header.height == epoch.start_height)
            .expect("the start block")
            .clone();
        self.epoch = epoch.clone();
        Some(epoch)
    }

    /// A finalization of `block` signed by `signers` over `epoch`'s signing domain, with the
    /// signer bitmap over `bitmap`.
    pub(crate) fn sign(
        &self,
        epoch: &EpochConfig,
        bitmap: &PeerSet,
        block: &Block,
        signers: &[PeerId],
    ) -> Certificate {
        let domain = epoch.signing_domain(&self.store.genesis().federation_id());
        let kind = VoteKind::Finalize(block.hash());
        let mut signatures: Vec<(usize, _)> = signers
            .iter()
            .map(|id| {
                let secret = self
                    .secrets
                    .iter()
                    .find(|s| s.peer_id() == *id)
                    .expect("a known key");
                let index = bitmap.index_of(id).expect("in the bitmap's set");
                let vote = Vote::new(&domain, secret, block.header.round, kind);
                (index, vote.signature)
            })
            .collect();
        signatures.sort_by_key(|(index, _)| *index);
        Certificate::from_signatures(block.header.round, kind, bitmap.len(), signatures)
    }

    /// The ledger's last applied height and the state root after it.
    pub(crate) fn state_root(&self) -> (Height, Hash) {
        self.ledger
            .recent_roots(self.store.database(), 1)
            .expect("roots")
            .pop()
            .expect("a root")
    }

    pub(crate) fn export(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        export(&self.store, ExportRange::default(), &mut bytes).expect("export");
        bytes
    }
}
