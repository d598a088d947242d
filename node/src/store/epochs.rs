//! Epoch boundaries in the finalized chain. When the ledger starts a new epoch at block `B`
//! (a membership or parameter change passed there), the old epoch may already have finalized
//! blocks above `B`. They leave the chain (their items were never applied and go back to their
//! authors' outboxes), and with them the old epoch's round state; what proves `B` final to a
//! peer still in the old epoch (those blocks and the certificate that finalized the last of
//! them) is kept, so that peer can still be served up to `B`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use redb::{Durability, ReadTransaction, ReadableTable, TableDefinition, TableError};

use super::Store;
use super::codec;
use super::error::StoreError;
use super::tables::{
    BLOCKS, CERTIFICATES, FINALIZED, FINALIZED_NONCES, META, OWN_ITEMS, OWN_VOTES, name,
};

/// Where epochs ended. Key: the height of the last block of the ended epoch (the block the
/// next one starts from). Value: `Certificate`, the ended epoch's finalization of that block
/// or of the last block of its tail. Never pruned.
pub(super) const EPOCH_ENDS: TableDefinition<u64, &[u8]> = TableDefinition::new("epoch_ends");
const EPOCH_ENDS_NAME: &str = "epoch_ends";
/// The blocks an ended epoch finalized above its last block, one per entry (a block may be as
/// large as a value may be). Key: (the epoch end's height, the block's height). Value: `Block`.
pub(super) const EPOCH_TAILS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("epoch_tails");
const EPOCH_TAILS_NAME: &str = "epoch_tails";
/// Key in [`META`]: the epoch the round state belongs to (`u64`; absent: 0).
const EPOCH_KEY: &str = "epoch";

/// The proof that an epoch's last block is final in that epoch: the blocks its epoch finalized
/// above it (possibly none) and the certificate of the last of them, or of the block itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EpochEnd {
    pub(super) tail: Vec<Block>,
    pub(super) finalization: Certificate,
}

impl Store {
    /// The epoch whose round state the database holds.
    pub fn epoch_number(&self) -> Result<u64, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn
            .open_table(META)
            .map_err(self.failed("opening table `meta`"))?;
        let value = meta
            .get(EPOCH_KEY)
            .map_err(self.failed("reading table `meta`"))?;
        value.map_or(Ok(0), |v| codec::decode(&self.path, name::META, v.value()))
    }

    /// Moves the database into `epoch`, in one durable transaction: the finalized chain ends
    /// at the epoch's start block (what lay above is kept only as the old epoch's end proof),
    /// finalized nonces go back to what they were there, this peer's (`me`) items in the
    /// dropped blocks return to its outbox, and the old epoch's votes, certificates and blocks
    /// go (nothing signed in one epoch counts in another). Doing it again changes nothing.
    pub fn switch_epoch(&self, epoch: &EpochConfig, me: &PeerId) -> Result<(), StoreError> {
        if self.epoch_number()? >= epoch.number {
            return Ok(());
        }
        let start = epoch.start_height.0;
        // Locked first: the switch's durable commit covers every journaled commit, and the
        // journal's records of the old epoch must never be replayed into the new one.
        let mut journal = self.journal();
        let mut txn = self
            .db
            .begin_write()
            .map_err(self.failed("starting a write transaction"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(self.failed("setting durability"))?;
        // Before the round state goes: the held own items stay, as stored ones do.
        let written = self.write_unwritten(&txn, &mut journal)?;
        {
            let mut finalized = txn
                .open_table(FINALIZED)
                .map_err(self.failed("opening table `finalized`"))?;
            let mut chain = Vec::new();
            for entry in finalized
                .range(start..)
                .map_err(self.failed("reading table `finalized`"))?
            {
                let (_, value) = entry.map_err(self.failed("reading table `finalized`"))?;
                let entry = codec::decode_finalized(&self.path, value.value())?;
                chain.push(entry);
            }
            let Some((boundary, tail)) = chain.split_first() else {
                return Err(StoreError::corrupt(
                    &self.path,
                    name::FINALIZED,
                    format!(
                        "epoch {} starts at height {start}, which is not finalized here",
                        epoch.number
                    ),
                ));
            };
            if boundary.block.hash() != epoch.start_block {
                return Err(StoreError::corrupt(
                    &self.path,
                    name::FINALIZED,
                    format!(
                        "epoch {} starts from block {} at height {start}, but the chain has {} there",
                        epoch.number,
                        epoch.start_block,
                        boundary.block.hash()
                    ),
                ));
            }
            let end = match (&boundary.certificate, tail.last()) {
                (Some(own), _) => EpochEnd {
                    tail: Vec::new(),
                    finalization: own.clone(),
                },
                (None, Some(last)) => EpochEnd {
                    tail: tail.iter().map(|e| e.block.clone()).collect(),
                    finalization: last.certificate.clone().ok_or_else(|| {
                        StoreError::corrupt(
                            &self.path,
                            name::FINALIZED,
                            "the finalized tip has no finalization certificate",
                        )
                    })?,
                },
                (None, None) => {
                    return Err(StoreError::corrupt(
                        &self.path,
                        name::FINALIZED,
                        "the finalized tip has no finalization certificate",
                    ));
                }
            };
            let finalization = codec::encode(&self.path, EPOCH_ENDS_NAME, &end.finalization)?;
            txn.open_table(EPOCH_ENDS)
                .map_err(self.failed("opening table `epoch_ends`"))?
                .insert(start, finalization.as_slice())
                .map_err(self.failed("writing table `epoch_ends`"))?;
            let mut tails = txn
                .open_table(EPOCH_TAILS)
                .map_err(self.failed("opening table `epoch_tails`"))?;
            for block in &end.tail {
                let bytes = codec::encode(&self.path, EPOCH_TAILS_NAME, block)?;
                tails
                    .insert((start, block.header.height.0), bytes.as_slice())
                    .map_err(self.failed("writing table `epoch_tails`"))?;
            }
            for entry in tail {
                finalized
                    .remove(entry.block.header.height.0)
                    .map_err(self.failed("truncating table `finalized`"))?;
            }
            self.roll_back_nonces(&txn, tail.iter().map(|e| &e.block), me)?;
            for table in [OWN_VOTES, CERTIFICATES] {
                txn.open_table(table)
                    .map_err(self.failed("opening the round state"))?
                    .retain(|_, _| false)
                    .map_err(self.failed("clearing the round state"))?;
            }
            txn.open_table(BLOCKS)
                .map_err(self.failed("opening table `blocks`"))?
                .retain(|_, _| false)
                .map_err(self.failed("clearing table `blocks`"))?;
            txn.open_table(META)
                .map_err(self.failed("opening table `meta`"))?
                .insert(
                    EPOCH_KEY,
                    codec::encode(&self.path, name::META, &epoch.number)?.as_slice(),
                )
                .map_err(self.failed("writing table `meta`"))?;
        }
        txn.commit()
            .map_err(self.failed("committing the epoch switch"))?;
        *self.cached_tip() = None;
        self.epoch.store(epoch.number, Ordering::Relaxed);
        // A crash before this leaves old-epoch records, which a replay skips.
        journal.clear(written)
    }

    /// Each author's finalized nonce goes back to what it was before `dropped` (nonces follow
    /// each other, so that is one below the author's first dropped item); this peer's dropped
    /// items become pending again.
    fn roll_back_nonces<'a>(
        &self,
        txn: &redb::WriteTransaction,
        dropped: impl Iterator<Item = &'a Block>,
        me: &PeerId,
    ) -> Result<(), StoreError> {
        let mut first: BTreeMap<PeerId, u64> = BTreeMap::new();
        let mut mine: Vec<&ConsensusItem> = Vec::new();
        for block in dropped {
            for item in &block.payload.items {
                first.entry(item.author).or_insert(item.nonce);
                if item.author == *me {
                    mine.push(item);
                }
            }
        }
        let mut nonces = txn
            .open_table(FINALIZED_NONCES)
            .map_err(self.failed("opening table `finalized_nonces`"))?;
        for (author, nonce) in first {
            let before = nonce.saturating_sub(1);
            if before == 0 {
                nonces.remove(author.as_bytes())
            } else {
                let bytes = codec::encode(&self.path, name::FINALIZED_NONCES, &before)?;
                nonces.insert(author.as_bytes(), bytes.as_slice())
            }
            .map_err(self.failed("writing table `finalized_nonces`"))?;
        }
        let mut items = txn
            .open_table(OWN_ITEMS)
            .map_err(self.failed("opening table `own_items`"))?;
        for item in mine {
            let bytes = codec::encode(&self.path, name::OWN_ITEMS, item)?;
            items
                .insert(item.nonce, bytes.as_slice())
                .map_err(self.failed("writing table `own_items`"))?;
        }
        Ok(())
    }

    /// The end proof of the first epoch that ended at or above `height`, with its height.
    pub(super) fn epoch_end_from(
        &self,
        txn: &ReadTransaction,
        height: Height,
    ) -> Result<Option<(Height, EpochEnd)>, StoreError> {
        let table = match txn.open_table(EPOCH_ENDS) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => {
                return Err(StoreError::database(
                    &self.path,
                    "opening table `epoch_ends`",
                    e,
                ));
            }
        };
        let mut range = table
            .range(height.0..)
            .map_err(self.failed("reading table `epoch_ends`"))?;
        let Some(entry) = range.next() else {
            return Ok(None);
        };
        let (at, value) = entry.map_err(self.failed("reading table `epoch_ends`"))?;
        let at = at.value();
        let finalization = codec::decode(&self.path, EPOCH_ENDS_NAME, value.value())?;
        let tails = txn
            .open_table(EPOCH_TAILS)
            .map_err(self.failed("opening table `epoch_tails`"))?;
        let mut tail = Vec::new();
        for entry in tails
            .range((at, 0)..=(at, u64::MAX))
            .map_err(self.failed("reading table `epoch_tails`"))?
        {
            let (_, value) = entry.map_err(self.failed("reading table `epoch_tails`"))?;
            tail.push(codec::decode(&self.path, EPOCH_TAILS_NAME, value.value())?);
        }
        Ok(Some((Height(at), EpochEnd { tail, finalization })))
    }
}
