//! Applying finalized blocks to the modules, one transaction per block.

use std::collections::VecDeque;

use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::federation::{FederationId, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::ledger::{BlockOutcome, ItemOutcome};
use bfte_shared::modules::Effect;
use bfte_shared::round::Height;
use redb::{Database, Durability, ReadableTable, WriteTransaction};

use super::error::LedgerError;
use super::lthash::LtHash;
use super::overlay::Overlay;
use super::read;
use super::tables::{APPLIED_HEIGHT_KEY, LEDGER_META, LTHASH_KEY, OUTCOMES, STATE_ROOTS};
use crate::modules::{self, ApplyError, Context, Module, Rejected};
use crate::store::Store;

/// Most effects one item may cause, counting those caused by its effects: a cycle of modules
/// reacting to each other is cut off here, the same way on every peer, and the item rejected.
pub const MAX_EFFECTS_PER_ITEM: usize = 64;
/// Finalized blocks read from the store at a time while catching up.
const BLOCKS_PER_READ: usize = 64;

/// The modules and the peer set they apply blocks under.
pub struct Ledger {
    modules: Vec<Box<dyn Module>>,
    federation: FederationId,
    peers: PeerSet,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<_> = self.modules.iter().map(|m| m.info()).collect();
        f.debug_struct("Ledger")
            .field("modules", &kinds)
            .finish_non_exhaustive()
    }
}

/// The root committed to for a lattice hash of all module state.
pub(super) fn state_root(lthash: &LtHash) -> Hash {
    Hash::tagged(b"bfte/v1/state-root\0", &lthash.to_bytes())
}

impl Ledger {
    /// The built-in modules (`modules::built_in`) of the federation of `genesis`.
    pub fn new(genesis: &Genesis) -> Ledger {
        let mut modules = modules::built_in();
        modules.sort_by_key(|module| module.id());
        Ledger {
            modules,
            federation: genesis.federation_id(),
            peers: genesis.peers.clone(),
        }
    }

    /// Whether `module` is one this ledger applies items of.
    pub fn runs(&self, module: ModuleId) -> bool {
        self.modules.iter().any(|m| m.id() == module)
    }

    /// Applies every finalized block the store holds above the applied height, in order, and
    /// returns the state root after each. Stops at the first error; what was applied before it
    /// stays applied.
    pub fn catch_up(&self, store: &Store) -> Result<Vec<(Height, Hash)>, LedgerError> {
        let db = store.database();
        let mut applied = Vec::new();
        loop {
            let next = self.applied_height(db)?.next();
            let blocks = store
                .finalized_blocks(next, BLOCKS_PER_READ)
                .map_err(|e| LedgerError::corrupt("finalized", e))?;
            if blocks.is_empty() {
                return Ok(applied);
            }
            for (block, _) in blocks {
                if block.header.height != Height(next.0 + applied.len() as u64) {
                    return Err(LedgerError::MissingBlock(Height(
                        next.0 + applied.len() as u64,
                    )));
                }
                let root = self.apply_block(db, &block)?;
                applied.push((block.header.height, root));
            }
        }
    }

    fn apply_block(&self, db: &Database, block: &Block) -> Result<Hash, LedgerError> {
        let height = block.header.height;
        let mut txn = db
            .begin_write()
            .map_err(LedgerError::failed("starting a ledger transaction"))?;
        txn.set_durability(Durability::None)
            .map_err(LedgerError::failed("relaxing durability"))?;
        self.check_commitment(&txn, block)?;
        let mut lthash = read_lthash(&txn)?;
        let mut outcome = BlockOutcome {
            items: Vec::with_capacity(block.payload.items.len()),
            changes: Vec::new(),
            state_root: Hash::ZERO,
        };
        for item in &block.payload.items {
            let mut overlay = Overlay::new(&txn);
            match self.apply_item(height, item, &mut overlay) {
                Ok(effects) => {
                    outcome.changes.extend(overlay.flush(&mut lthash)?);
                    outcome.items.push(ItemOutcome::Applied { effects });
                }
                Err(ApplyError::Rejected(Rejected(reason))) => {
                    outcome.items.push(ItemOutcome::Rejected { reason });
                }
                Err(ApplyError::Ledger(error)) => return Err(error),
            }
        }
        let root = state_root(&lthash);
        outcome.state_root = root;
        {
            let mut meta = txn
                .open_table(LEDGER_META)
                .map_err(LedgerError::failed("opening `ledger/meta`"))?;
            meta.insert(LTHASH_KEY, lthash.to_bytes().as_slice())
                .map_err(LedgerError::failed("writing `ledger/meta`"))?;
            meta.insert(APPLIED_HEIGHT_KEY, codec::encode(&height.0).as_slice())
                .map_err(LedgerError::failed("writing `ledger/meta`"))?;
            txn.open_table(STATE_ROOTS)
                .map_err(LedgerError::failed("opening `ledger/state_roots`"))?
                .insert(height.0, &root.0)
                .map_err(LedgerError::failed("writing `ledger/state_roots`"))?;
            txn.open_table(OUTCOMES)
                .map_err(LedgerError::failed("opening `ledger/outcomes`"))?
                .insert(height.0, codec::encode(&outcome).as_slice())
                .map_err(LedgerError::failed("writing `ledger/outcomes`"))?;
        }
        txn.commit()
            .map_err(LedgerError::failed("committing a ledger transaction"))?;
        Ok(root)
    }

    /// The block's state commitment must match our root at its height, which we applied.
    fn check_commitment(&self, txn: &WriteTransaction, block: &Block) -> Result<(), LedgerError> {
        let header = &block.header;
        if header.state_height == Height(0) && header.state_root == Hash::ZERO {
            // The genesis header commits to nothing.
            return Ok(());
        }
        let roots = txn
            .open_table(STATE_ROOTS)
            .map_err(LedgerError::failed("opening `ledger/state_roots`"))?;
        let ours = roots
            .get(header.state_height.0)
            .map_err(LedgerError::failed("reading `ledger/state_roots`"))?
            .map(|root| Hash(*root.value()));
        match ours {
            Some(ours) if ours != header.state_root => Err(LedgerError::Divergence {
                block: header.height,
                height: header.state_height,
                ours,
                theirs: header.state_root,
            }),
            _ => Ok(()),
        }
    }

    /// Applies one item and routes its effects; any refusal rejects the item as a whole.
    fn apply_item(
        &self,
        height: Height,
        item: &ConsensusItem,
        overlay: &mut Overlay<'_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let context = Context {
            height,
            author: item.author,
            peers: &self.peers,
            federation: &self.federation,
        };
        let Some(module) = self.modules.iter().find(|m| m.id() == item.module) else {
            return Err(Rejected(format!("no module with id {} is enabled", item.module.0)).into());
        };
        let mut routed = Vec::new();
        let mut queue: VecDeque<Effect> = module
            .apply(&context, &item.data, &mut overlay.module(module.id()))?
            .into();
        while let Some(effect) = queue.pop_front() {
            for module in self.modules.iter().filter(|m| m.id() != effect.from) {
                let caused =
                    module.on_effect(&context, &effect, &mut overlay.module(module.id()))?;
                queue.extend(caused);
            }
            routed.push(effect);
            if routed.len() + queue.len() > MAX_EFFECTS_PER_ITEM {
                return Err(
                    Rejected(format!("caused more than {MAX_EFFECTS_PER_ITEM} effects")).into(),
                );
            }
        }
        Ok(routed)
    }

    /// The last applied height; 0 (the genesis block, which carries no items) before any.
    pub fn applied_height(&self, db: &Database) -> Result<Height, LedgerError> {
        read::applied_height(db)
    }
}

fn read_lthash(txn: &WriteTransaction) -> Result<LtHash, LedgerError> {
    let meta = txn
        .open_table(LEDGER_META)
        .map_err(LedgerError::failed("opening `ledger/meta`"))?;
    let stored = meta
        .get(LTHASH_KEY)
        .map_err(LedgerError::failed("reading `ledger/meta`"))?;
    match stored {
        None => Ok(LtHash::default()),
        Some(bytes) => LtHash::from_bytes(bytes.value()).ok_or_else(|| {
            LedgerError::corrupt("ledger/meta", "a lattice hash of the wrong length")
        }),
    }
}
