//! Applying finalized blocks to the modules: each batch of blocks read from the store in one
//! transaction, so a replica catching up pays one commit per batch, not per block.

use std::collections::VecDeque;

use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::federation::{FederationId, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{Entry, ModuleId};
use bfte_shared::ledger::{BlockOutcome, ItemOutcome};
use bfte_shared::modules::ctrl::{EpochConfig, ModuleVersion, Proposal};
use bfte_shared::modules::{CONSENSUS_CTRL, Effect};
use bfte_shared::round::Height;
use redb::{Database, Durability, WriteTransaction};

use super::batch::Batch;
use super::error::LedgerError;
use super::lthash::LtHash;
use super::overlay::Overlay;
use super::read;
use crate::modules::{self, ApplyError, Context, Module, Rejected, ctrl};
use crate::store::Store;

/// Most effects one entry may cause, counting those caused by its effects: a cycle of modules
/// reacting to each other is cut off here, the same way on every peer, and the entry rejected.
pub const MAX_EFFECTS_PER_ITEM: usize = 64;
/// Finalized blocks read from the store, and applied in one transaction, at a time.
const BLOCKS_PER_BATCH: usize = 64;

/// The configuration in force and what applying items under it needs.
struct InForce {
    config: EpochConfig,
    peers: PeerSet,
    /// What the epoch's votes and proposals are signed over (evidence checks them).
    signing: FederationId,
    /// The enabled modules in id order, the order effects are routed in.
    modules: Vec<(ModuleId, Box<dyn Module>)>,
}

impl InForce {
    /// Applies one entry and routes its effects; any refusal rejects the entry as a whole (the
    /// other entries of its item are applied on their own).
    fn apply_entry(
        &self,
        context: &Context<'_>,
        entry: &Entry,
        overlay: &mut Overlay<'_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let Some((id, module)) = self.modules.iter().find(|(id, _)| *id == entry.module) else {
            return Err(Rejected(format!("module {} is not enabled", entry.module.0)).into());
        };
        let mut routed = Vec::new();
        let mut queue: VecDeque<Effect> = module
            .apply(context, &entry.data, &mut overlay.module(*id))?
            .into();
        while let Some(effect) = queue.pop_front() {
            for (id, module) in self.modules.iter().filter(|(id, _)| *id != effect.from) {
                let caused = module.on_effect(context, &effect, &mut overlay.module(*id))?;
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
}

/// What one call of [`Ledger::catch_up`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// The state root after each block applied, in height order.
    pub applied: Vec<(Height, Hash)>,
    /// The configuration of a new epoch that the last applied block started: applying stopped
    /// there, so that the blocks above it, which the old epoch finalized, are never applied.
    pub epoch: Option<EpochConfig>,
    /// The consensus_ctrl proposals the applied blocks touched (made, voted on, passed or
    /// rejected), each as it stands after them, in id order: what consoles are told.
    pub proposals_changed: Vec<Proposal>,
}

/// Applies finalized blocks under the configuration the federation put in force. A ledger
/// applies to one database: it keeps that database's configuration in force in memory.
pub struct Ledger {
    federation: FederationId,
    /// The genesis epoch's configuration; block 1 records it in the state.
    pub(super) genesis: EpochConfig,
    /// Read from the database on the first `catch_up`, then replaced as blocks change it.
    in_force: Option<InForce>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("federation", &self.federation)
            .field("epoch", &self.in_force.as_ref().map(|f| f.config.number))
            .finish_non_exhaustive()
    }
}

/// The root committed to for a lattice hash of all module state.
pub(super) fn state_root(lthash: &LtHash) -> Hash {
    Hash::tagged(b"bfte/v1/state-root\0", &lthash.to_bytes())
}

impl Ledger {
    /// The ledger of the federation of `genesis`, which starts with the founding peers and the
    /// built-in modules (`modules::built_in`). Names and addresses are not part of the hashed
    /// genesis, so the genesis configuration leaves them empty: every peer's state agrees.
    pub fn new(genesis: &Genesis) -> Ledger {
        let mut modules: Vec<ModuleVersion> = modules::built_in()
            .iter()
            .map(|module| {
                let info = module.info();
                ModuleVersion {
                    id: info.id,
                    kind: info.kind.into(),
                    version: info.version,
                }
            })
            .collect();
        modules.sort_by_key(|module| module.id);
        Ledger {
            federation: genesis.federation_id(),
            genesis: EpochConfig::genesis(genesis, modules),
            in_force: None,
        }
    }

    /// Whether `module` is enabled in the configuration in force (as of the last `catch_up`;
    /// the genesis one before it).
    pub fn runs(&self, module: ModuleId) -> bool {
        match &self.in_force {
            Some(in_force) => in_force.modules.iter().any(|(id, _)| *id == module),
            None => self.genesis.modules.iter().any(|m| m.id == module),
        }
    }

    /// Applies the finalized blocks the store holds above the applied height, in order, and
    /// returns the state root after each. Stops right after a block that starts a new epoch,
    /// and at the first error, which undoes the batch it happened in (at most
    /// [`BLOCKS_PER_BATCH`] blocks): the next call applies those again.
    pub fn catch_up(&mut self, store: &Store) -> Result<CatchUp, LedgerError> {
        self.catch_up_with(store, &[])
    }

    /// As [`Ledger::catch_up`], taking the blocks in `committed` (just committed to `store`,
    /// consecutive heights in order) from there instead of reading them back.
    pub fn catch_up_with(
        &mut self,
        store: &Store,
        committed: &[Block],
    ) -> Result<CatchUp, LedgerError> {
        let db = store.database();
        let mut in_force = match self.in_force.take() {
            Some(in_force) => in_force,
            None => self.load(db)?,
        };
        let result = self.apply_all(store, committed, &mut in_force);
        // A failed batch may have changed `in_force` for blocks it then undid: the next call
        // reads the configuration in force again from what was committed.
        if result.is_ok() {
            self.in_force = Some(in_force);
        }
        result
    }

    /// The configuration in force in `db`, with the modules that run it.
    fn load(&self, db: &Database) -> Result<InForce, LedgerError> {
        match read::current_config(db)? {
            Some(config) => self.resolve(config, read::applied_height(db)?.next()),
            None => self.resolve(self.genesis.clone(), Height(0)),
        }
    }

    /// Finds this binary's implementation of every module `config` enables, which the ledger
    /// needs to apply `height`.
    fn resolve(&self, config: EpochConfig, height: Height) -> Result<InForce, LedgerError> {
        let peers = config.peer_set().map_err(|e| {
            LedgerError::corrupt(format!("module/{}/{}", CONSENSUS_CTRL.0, ctrl::CONFIG), e)
        })?;
        let mut enabled = Vec::with_capacity(config.modules.len());
        for module in &config.modules {
            let Some(implementation) = modules::implementation(&module.kind, module.version) else {
                return Err(LedgerError::UnknownModule {
                    height,
                    kind: module.kind.clone(),
                    version: module.version,
                });
            };
            enabled.push((module.id, implementation));
        }
        Ok(InForce {
            signing: config.signing_domain(&self.federation),
            config,
            peers,
            modules: enabled,
        })
    }

    fn apply_all(
        &self,
        store: &Store,
        committed: &[Block],
        in_force: &mut InForce,
    ) -> Result<CatchUp, LedgerError> {
        let db = store.database();
        let mut done = CatchUp::default();
        loop {
            let next = self.applied_height(db)?.next();
            let read;
            let blocks: Vec<&Block> = match in_hand(committed, next) {
                Some(blocks) => blocks.iter().take(BLOCKS_PER_BATCH).collect(),
                None => {
                    read = store
                        .finalized_blocks(next, BLOCKS_PER_BATCH)
                        .map_err(|e| LedgerError::corrupt("finalized", e))?;
                    read.iter().map(|(block, _)| block).collect()
                }
            };
            if blocks.is_empty() {
                return Ok(done);
            }
            let mut txn = db
                .begin_write()
                .map_err(LedgerError::failed("starting a ledger transaction"))?;
            // Applying is deterministic and resumes from the applied height it finds: a crash
            // that loses these transactions costs only applying them again.
            txn.set_durability(Durability::None)
                .map_err(LedgerError::failed("relaxing durability"))?;
            let mut batch = CatchUp::default();
            let mut tables = Batch::open(&txn)?;
            for (offset, block) in blocks.into_iter().enumerate() {
                let expected = Height(next.0 + offset as u64);
                if block.header.height != expected {
                    return Err(LedgerError::MissingBlock(expected));
                }
                let (root, changed, proposals) =
                    self.apply_block(&txn, &mut tables, block, in_force)?;
                batch.applied.push((expected, root));
                for proposal in proposals {
                    batch.proposals_changed.retain(|p| p.id != proposal.id);
                    batch.proposals_changed.push(proposal);
                }
                if let Some(changed) = changed {
                    let new_epoch = changed.config.number != in_force.config.number;
                    *in_force = changed;
                    if new_epoch {
                        batch.epoch = Some(in_force.config.clone());
                        break;
                    }
                }
            }
            tables.finish(&txn)?;
            txn.commit()
                .map_err(LedgerError::failed("committing a ledger transaction"))?;
            done.applied.append(&mut batch.applied);
            for proposal in batch.proposals_changed {
                done.proposals_changed.retain(|p| p.id != proposal.id);
                done.proposals_changed.push(proposal);
            }
            done.proposals_changed.sort_by_key(|p| p.id);
            if batch.epoch.is_some() {
                done.epoch = batch.epoch;
                return Ok(done);
            }
        }
    }

    /// Applies one block in `txn`; returns its state root, the configuration it put in force
    /// if it changed one, and the proposals it touched as they stand after it.
    fn apply_block(
        &self,
        txn: &WriteTransaction,
        tables: &mut Batch,
        block: &Block,
        in_force: &InForce,
    ) -> Result<(Hash, Option<InForce>, Vec<Proposal>), LedgerError> {
        let height = block.header.height;
        let hash = block.hash();
        check_commitment(tables, block)?;
        let lthash = &mut tables.lthash;
        let mut outcome = BlockOutcome {
            entries: Vec::with_capacity(block.payload.entry_count()),
            changes: Vec::new(),
            state_root: Hash::ZERO,
        };
        // The genesis configuration enters the state with the first block, so that it counts
        // in the state root the same way on every peer.
        let mut overlay = Overlay::new(txn);
        {
            let mut state = overlay.module(CONSENSUS_CTRL);
            if !ctrl::installed(&state)? {
                ctrl::install(&mut state, &self.genesis);
            }
        }
        outcome.changes.extend(overlay.flush(lthash)?);
        for item in &block.payload.items {
            let context = Context {
                height,
                block: hash,
                author: item.author,
                peers: &in_force.peers,
                federation: &in_force.signing,
            };
            for entry in &item.entries {
                let mut overlay = Overlay::new(txn);
                match in_force.apply_entry(&context, entry, &mut overlay) {
                    Ok(effects) => {
                        outcome.changes.extend(overlay.flush(lthash)?);
                        outcome.entries.push(ItemOutcome::Applied { effects });
                    }
                    Err(ApplyError::Rejected(Rejected(reason))) => {
                        outcome.entries.push(ItemOutcome::Rejected { reason });
                    }
                    Err(ApplyError::Ledger(error)) => return Err(error),
                }
            }
        }
        let mut overlay = Overlay::new(txn);
        let changed = ctrl::finish_block(&mut overlay.module(CONSENSUS_CTRL))?;
        outcome.changes.extend(overlay.flush(lthash)?);
        // A module this binary lacks stops the ledger here, before the block commits.
        let changed = changed
            .map(|config| self.resolve(config, height))
            .transpose()?;
        let root = tables.state_root(!outcome.changes.is_empty());
        outcome.state_root = root;
        tables.record(height, root, &outcome)?;
        // The module wrote these values itself this very block: one that does not decode
        // would be a bug in this binary, and the state is the record, so it is only logged.
        let proposals = outcome
            .changes
            .iter()
            .filter(|c| c.module == CONSENSUS_CTRL && c.table == ctrl::PROPOSALS)
            .filter_map(|c| c.value.as_deref())
            .filter_map(|value| {
                codec::decode::<Proposal>(value, usize::MAX)
                    .inspect_err(|error| tracing::error!(%height, %error, "a proposal just written does not decode"))
                    .ok()
            })
            .collect();
        Ok((root, changed, proposals))
    }

    /// The last applied height; 0 (the genesis block, which carries no items) before any.
    pub fn applied_height(&self, db: &Database) -> Result<Height, LedgerError> {
        read::applied_height(db)
    }
}

/// The block's state commitment must match our root at its height, which we applied.
fn check_commitment(tables: &Batch, block: &Block) -> Result<(), LedgerError> {
    let header = &block.header;
    if header.state_height == Height(0) && header.state_root == Hash::ZERO {
        // The genesis header commits to nothing.
        return Ok(());
    }
    match tables.root_at(header.state_height)? {
        Some(ours) if ours != header.state_root => Err(LedgerError::Divergence {
            block: header.height,
            height: header.state_height,
            ours,
            theirs: header.state_root,
        }),
        _ => Ok(()),
    }
}

/// The blocks of `committed` from height `next` on, if it holds that height.
fn in_hand(committed: &[Block], next: Height) -> Option<&[Block]> {
    let first = committed.first()?.header.height;
    let at = usize::try_from(next.0.checked_sub(first.0)?).ok()?;
    let rest = committed.get(at..)?;
    (rest.first()?.header.height == next).then_some(rest)
}
