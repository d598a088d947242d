//! What a simulated peer's database holds, behind the driver step's store trait, with the real
//! store's crash semantics (`store/journal.rs`): a synced commit survives a crash with every
//! commit before it (the journal's replay rebuilds exactly that state); unsynced commits after
//! the last synced one are lost, and so is everything the peer held only in memory. The
//! ledger's writes survive only as of the last checkpoint (a durable redb commit).

use std::cell::Cell;
use std::collections::BTreeMap;

use bfte_consensus::{Durable, Output, Restored};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use bfte_shared::vote::Vote;

use crate::driver::DurableStore;

/// Blocks an ended epoch finalized above its last block, and the certificate of the last one
/// (or of that block itself).
pub(super) type EpochEnds = BTreeMap<u64, (Vec<Block>, Certificate)>;

/// Commits between two checkpoints. The node checkpoints by time (with the received votes,
/// every 250 ms while rounds run) and by the journal's size; a count puts a few in every seed.
const COMMITS_PER_CHECKPOINT: u64 = 24;

/// A commit the real store would refuse: the node would stop.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

/// What the core asked to persist, above the finalized tip.
#[derive(Debug, Clone, Default)]
struct Entries {
    votes: Vec<Vote>,
    own_items: Vec<ConsensusItem>,
    certificates: Vec<Certificate>,
    blocks: Vec<Block>,
    nonces: BTreeMap<PeerId, u64>,
}

/// What the last synced commit covered: a crash comes back to it.
#[derive(Debug, Clone)]
struct Synced {
    entries: Entries,
    chain_len: usize,
}

/// What survives a crash: exactly what the core asked to persist, and the finalized chain, as
/// of the last synced commit.
#[derive(Debug)]
pub(super) struct Disk {
    entries: Entries,
    /// Finalized blocks from genesis, each with its finalization if it had its own.
    pub(super) chain: Vec<(Block, Option<Certificate>)>,
    /// The epoch the peer is in, and where earlier epochs ended. Only an epoch switch changes
    /// them, and it syncs.
    pub(super) epoch: EpochConfig,
    ends: EpochEnds,
    /// The finalized blocks the last epoch switch dropped (the old epoch's, above its end).
    pub(super) dropped: Vec<Block>,
    synced: Synced,
    /// A copy of the disk as of its `backup_at`th sync (the empty disk before), as
    /// `bfte backup` makes: a restore comes back to it.
    backup: Synced,
    backup_at: Option<u64>,
    /// Restored from the backup and not yet past the restored core's floor (the store's
    /// restored-from-backup mark): every start sits out.
    pub(super) restored_from_backup: Cell<bool>,
    /// Synced commits so far.
    pub(super) syncs: u64,
    /// Checkpoints so far: the model ledger's writes before the last one are durable.
    pub(super) checkpoints: u64,
    /// Commits that wrote anything since the last checkpoint.
    since_checkpoint: u64,
    /// Commits that wrote anything, synced or not.
    pub(super) writes: u64,
}

impl Disk {
    /// A fresh peer's disk: the genesis block finalized, in the genesis epoch.
    pub(super) fn new(genesis: &Block, epoch: EpochConfig) -> Disk {
        Disk {
            entries: Entries::default(),
            chain: vec![(genesis.clone(), None)],
            epoch,
            ends: EpochEnds::new(),
            dropped: Vec::new(),
            synced: Synced {
                entries: Entries::default(),
                chain_len: 1,
            },
            backup: Synced {
                entries: Entries::default(),
                chain_len: 1,
            },
            backup_at: None,
            restored_from_backup: Cell::new(false),
            syncs: 0,
            checkpoints: 0,
            since_checkpoint: 0,
            writes: 0,
        }
    }

    /// Everything written so far survives.
    fn sync(&mut self) {
        self.synced = Synced {
            entries: self.entries.clone(),
            chain_len: self.chain.len(),
        };
        self.syncs += 1;
        if self.backup_at == Some(self.syncs) {
            self.backup = self.synced.clone();
        }
    }

    /// A durable redb commit: the ledger's writes so far survive too.
    fn checkpoint(&mut self) {
        self.sync();
        self.checkpoints += 1;
        self.since_checkpoint = 0;
    }

    /// A backup will be taken at the `syncs`th sync.
    pub(super) fn back_up_at(&mut self, syncs: u64) {
        self.backup_at = Some(syncs);
    }

    /// The process died: the unsynced commits are gone. Only ever appended to between syncs,
    /// the chain goes back by truncation.
    pub(super) fn crash(&mut self) {
        self.entries = self.synced.entries.clone();
        self.chain.truncate(self.synced.chain_len);
    }

    /// The database is replaced by the backup, marked (the process is down). Valid while no
    /// epoch switch came after the backup: only fixed-membership scenarios restore.
    pub(super) fn restore_backup(&mut self) {
        self.synced = self.backup.clone();
        self.crash();
        self.restored_from_backup.set(true);
    }

    pub(super) fn tip_height(&self) -> u64 {
        self.chain.len() as u64 - 1
    }

    /// As `Store::commit_outputs` writes: finalized blocks appended (refused unless they
    /// extend the tip), nonces raised, entries at or below the new tip's round dropped.
    fn write(&mut self, output: &Output) -> Result<(), Refused> {
        for finalized in &output.finalized {
            for (i, block) in finalized.blocks.iter().enumerate() {
                let (tip, _) = &self.chain[self.chain.len() - 1];
                if block.header.height != tip.header.height.next()
                    || block.header.parent != tip.hash()
                {
                    return Err(Refused(format!(
                        "finalized block {} does not extend the tip at {}",
                        block.header.height, tip.header.height
                    )));
                }
                for item in &block.payload.items {
                    let nonce = self.entries.nonces.entry(item.author).or_insert(0);
                    *nonce = (*nonce).max(item.nonce);
                }
                let last = i + 1 == finalized.blocks.len();
                let certificate = last.then(|| finalized.certificate.clone());
                self.chain.push((block.clone(), certificate));
            }
        }
        for durable in &output.persist {
            match durable {
                Durable::Vote(vote) => {
                    let clash = self.entries.votes.iter().any(|v| {
                        v.round == vote.round && v.kind != vote.kind && same_slot(v, vote)
                    });
                    if clash {
                        return Err(Refused(format!("a conflicting own vote in {}", vote.round)));
                    }
                    self.entries.votes.push(vote.clone());
                }
                Durable::OwnItem(item) => self.entries.own_items.push(item.clone()),
                Durable::Certificate(certificate) => {
                    self.entries.certificates.push(certificate.clone())
                }
                Durable::Block(block) => self.entries.blocks.push(block.clone()),
            }
        }
        let tip_round = self.chain[self.chain.len() - 1].0.header.round;
        self.entries.votes.retain(|v| v.round > tip_round);
        self.entries.certificates.retain(|c| c.round > tip_round);
        self.entries.blocks.retain(|b| b.header.round > tip_round);
        let entries = &mut self.entries;
        let nonces = &entries.nonces;
        entries
            .own_items
            .retain(|i| nonces.get(&i.author).is_none_or(|n| i.nonce > *n));
        Ok(())
    }
}

/// Two own votes under one key of the store's votes table: the same round and the same kind
/// of vote (notarize, dummy or finalize), whatever block they name.
fn same_slot(a: &Vote, b: &Vote) -> bool {
    std::mem::discriminant(&a.kind) == std::mem::discriminant(&b.kind)
}

impl DurableStore for Disk {
    type Error = Refused;

    /// In order; a refusal stops the peer (a violation), as the real store's stops the node.
    fn commit<'a>(
        &mut self,
        outputs: impl Iterator<Item = &'a Output>,
        sync: bool,
    ) -> Result<(), Refused> {
        let mut wrote = false;
        for output in outputs {
            wrote |= !output.persist.is_empty() || !output.finalized.is_empty();
            self.write(output)?;
        }
        self.writes += u64::from(wrote);
        self.since_checkpoint += u64::from(wrote);
        if self.since_checkpoint >= COMMITS_PER_CHECKPOINT {
            self.checkpoint();
        } else if sync {
            self.sync();
        }
        Ok(())
    }

    /// What a restarting core is handed, as `Store::restored` reads it: the finalized tip and
    /// nonces, and whatever was persisted above the tip.
    fn restored(&self) -> Result<Restored, Refused> {
        let (tip, tip_finalization) = &self.chain[self.chain.len() - 1];
        let tip_round = tip.header.round;
        let entries = &self.entries;
        Ok(Restored {
            finalized_tip: tip.clone(),
            tip_finalization: tip_finalization.clone(),
            finalized_nonces: entries.nonces.clone(),
            votes: entries
                .votes
                .iter()
                .filter(|v| v.round > tip_round)
                .cloned()
                .collect(),
            own_items: entries
                .own_items
                .iter()
                .filter(|i| entries.nonces.get(&i.author).is_none_or(|n| i.nonce > *n))
                .cloned()
                .collect(),
            certificates: entries
                .certificates
                .iter()
                .filter(|c| c.round > tip_round)
                .cloned()
                .collect(),
            blocks: entries
                .blocks
                .iter()
                .filter(|b| b.header.round > tip_round)
                .cloned()
                .collect(),
        })
    }

    /// Finalized blocks from `from` on, as the store serves them: up to the first block with
    /// its own finalization at or after the limit, never across an epoch's end (an answer
    /// that reaches one carries that epoch's end proof).
    fn finalized_chain(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Option<FinalizedChain>, Refused> {
        let chain = &self.chain;
        let start = from.0 as usize;
        if start == 0 || start >= chain.len() {
            return Ok(None);
        }
        let end_proof = self.ends.range(from.0..).next();
        let last = end_proof.map_or(chain.len() - 1, |(at, _)| *at as usize);
        let want_end = (start + limit).min(last);
        if let Some(end) = (want_end..=last).find(|&i| chain[i].1.is_some()) {
            return Ok(chain[end].1.clone().map(|finalization| FinalizedChain {
                blocks: chain[start..=end].iter().map(|(b, _)| b.clone()).collect(),
                finalization,
            }));
        }
        Ok(end_proof.map(|(_, (tail, finalization))| {
            let mut blocks: Vec<Block> =
                chain[start..=last].iter().map(|(b, _)| b.clone()).collect();
            blocks.extend(tail.iter().cloned());
            FinalizedChain {
                blocks,
                finalization: finalization.clone(),
            }
        }))
    }

    /// What the store's `switch_epoch` does: the chain ends at the start block, the rest is
    /// kept as the old epoch's end proof, nonces roll back, this peer's dropped items are
    /// pending again, and round state goes.
    fn switch_epoch(&mut self, epoch: &EpochConfig, me: &PeerId) -> Result<(), Refused> {
        if epoch.number <= self.epoch.number {
            return Ok(());
        }
        let start = epoch.start_height.0 as usize;
        if start >= self.chain.len() || self.chain[start].0.hash() != epoch.start_block {
            return Err(Refused(format!(
                "epoch {} starts at a block this disk has not finalized",
                epoch.number
            )));
        }
        let tail = self.chain.split_off(start + 1);
        let end = match (&self.chain[start].1, tail.last()) {
            (Some(own), _) => Some((Vec::new(), own.clone())),
            (None, Some((_, Some(last)))) => {
                Some((tail.iter().map(|(b, _)| b.clone()).collect(), last.clone()))
            }
            _ => None,
        };
        if let Some(end) = end {
            self.ends.insert(start as u64, end);
        }
        let mut first = BTreeMap::new();
        for (block, _) in &tail {
            for item in &block.payload.items {
                first.entry(item.author).or_insert(item.nonce);
            }
        }
        for (author, nonce) in first {
            self.entries.nonces.insert(author, nonce.saturating_sub(1));
        }
        let mine = tail.iter().flat_map(|(b, _)| &b.payload.items);
        self.entries
            .own_items
            .extend(mine.filter(|item| item.author == *me).cloned());
        self.entries.votes.clear();
        self.entries.certificates.clear();
        self.entries.blocks.clear();
        self.epoch = epoch.clone();
        self.dropped = tail.into_iter().map(|(b, _)| b).collect();
        // The real switch commits durably: a checkpoint.
        self.checkpoint();
        Ok(())
    }
}
