//! Reading: what a restarting core needs, and the finalized chain for peers and the CLI.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::Genesis;
use bfte_shared::item::ConsensusItem;
use bfte_shared::message::FinalizedChain;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use bfte_shared::vote::Vote;
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable};

use super::Store;
use super::codec;
use super::error::StoreError;
use super::tables::{
    BLOCKS, CERTIFICATES, FINALIZED, FINALIZED_NONCES, FinalizedEntry, GENESIS_KEY, META,
    OWN_ITEMS, OWN_VOTES, name,
};
use bfte_consensus::Restored;

/// Reads the genesis from `meta`.
pub(super) fn genesis(db: &Database, path: &Path) -> Result<Genesis, StoreError> {
    let txn = db
        .begin_read()
        .map_err(StoreError::failed(path, "starting a read transaction"))?;
    let meta = txn
        .open_table(META)
        .map_err(StoreError::failed(path, "opening table `meta`"))?;
    let read = meta
        .get(GENESIS_KEY)
        .map_err(StoreError::failed(path, "reading the genesis"))?;
    let Some(bytes) = read else {
        return Err(StoreError::corrupt(path, name::META, "no genesis"));
    };
    codec::decode(path, name::META, bytes.value())
}

impl Store {
    /// What `Core::start` needs: the finalized tip and nonces, and every own vote, own item not
    /// final yet, certificate and block above the tip, from one snapshot. Votes and certificates
    /// come in round order, items in nonce order, blocks by round then hash.
    pub fn restored(&self) -> Result<Restored, StoreError> {
        self.write_out_unwritten()?;
        let txn = self.begin_read()?;
        let tip = self.tip(&txn)?;
        let tip_round = tip.block.header.round.0;
        let above_tip = (Bound::Excluded((tip_round, u8::MAX)), Bound::Unbounded);

        let finalized_nonces = self.nonces(&txn)?;

        let open = |table| StoreError::failed(&self.path, format!("opening table `{table}`"));
        let read = |table| StoreError::failed(&self.path, format!("reading table `{table}`"));
        let votes_table = txn.open_table(OWN_VOTES).map_err(open(name::OWN_VOTES))?;
        let votes: Vec<Vote> = self.decode_all(
            votes_table
                .range(above_tip)
                .map_err(read(name::OWN_VOTES))?,
            name::OWN_VOTES,
        )?;

        let items_table = txn.open_table(OWN_ITEMS).map_err(open(name::OWN_ITEMS))?;
        let mut own_items: Vec<ConsensusItem> = self.decode_all(
            items_table.iter().map_err(read(name::OWN_ITEMS))?,
            name::OWN_ITEMS,
        )?;
        own_items.retain(|item| {
            finalized_nonces
                .get(&item.author)
                .is_none_or(|final_nonce| item.nonce > *final_nonce)
        });

        let certificates_table = txn
            .open_table(CERTIFICATES)
            .map_err(open(name::CERTIFICATES))?;
        let certificates: Vec<Certificate> = self.decode_all(
            certificates_table
                .range(above_tip)
                .map_err(read(name::CERTIFICATES))?,
            name::CERTIFICATES,
        )?;

        let blocks_table = txn.open_table(BLOCKS).map_err(open(name::BLOCKS))?;
        let mut blocks: Vec<Block> = self.decode_all(
            blocks_table.iter().map_err(read(name::BLOCKS))?,
            name::BLOCKS,
        )?;
        blocks.retain(|block| block.header.round.0 > tip_round);
        blocks.sort_by_cached_key(|block| (block.header.round, block.hash()));

        Ok(Restored {
            finalized_tip: tip.block,
            tip_finalization: tip.certificate,
            finalized_nonces,
            votes,
            own_items,
            certificates,
            blocks,
        })
    }

    /// Decodes every value of `range`, read from `table`, in key order.
    fn decode_all<K: redb::Key + 'static, T: serde::de::DeserializeOwned>(
        &self,
        range: redb::Range<'_, K, &'static [u8]>,
        table: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        range
            .map(|entry| {
                let (_, value) = entry.map_err(StoreError::failed(
                    &self.path,
                    format!("reading table `{table}`"),
                ))?;
                codec::decode(&self.path, table, value.value())
            })
            .collect()
    }

    /// The finalized blocks to answer a peer's pull from `from` with: from `from` up to the first
    /// block at or after `from + limit` (capped at the tip) that carries its own finalization,
    /// and that finalization. An answer never crosses an epoch boundary: one that reaches the
    /// last block of an ended epoch ends there, with that epoch's end proof (the blocks it
    /// finalized above and their certificate), since a peer still in that epoch can only check
    /// that epoch's certificates. `None` if there is nothing to serve: `from` is 0 (every peer
    /// has the genesis block) or above the tip, or no block from the cap on has a certificate.
    pub fn finalized_chain(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Option<FinalizedChain>, StoreError> {
        let txn = self.begin_read()?;
        let tip = self.height(&txn)?;
        if from.0 == 0 || from > tip {
            return Ok(None);
        }
        let epoch_end = self.epoch_end_from(&txn, from)?;
        let last = epoch_end.as_ref().map_or(tip.0, |(at, _)| at.0);
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        let want_end = from.0.saturating_add(limit).min(last);
        let table = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        let mut blocks = Vec::new();
        for entry in table
            .range(from.0..=last)
            .map_err(self.failed("reading table `finalized`"))?
        {
            let (height, value) = entry.map_err(self.failed("reading table `finalized`"))?;
            let entry = codec::decode_finalized(&self.path, value.value())?;
            blocks.push(entry.block);
            if height.value() >= want_end
                && let Some(finalization) = entry.certificate
            {
                return Ok(Some(FinalizedChain {
                    blocks,
                    finalization,
                }));
            }
        }
        Ok(epoch_end.map(|(_, end)| {
            blocks.extend(end.tail);
            FinalizedChain {
                blocks,
                finalization: end.finalization,
            }
        }))
    }

    /// Height of the finalized tip (0 before anything was finalized).
    /// The finalized height of the database at `path`, read without writing to the file
    /// (redb rewrites its header whenever it opens a file for writing): for a command that may
    /// still refuse, so that a refusal leaves the file as it was.
    pub fn peek_finalized_height(path: &Path) -> Result<Height, StoreError> {
        let db = redb::ReadOnlyDatabase::open(path).map_err(|e| StoreError::opening(path, e))?;
        let txn = db
            .begin_read()
            .map_err(StoreError::failed(path, "starting a read transaction"))?;
        let table = txn
            .open_table(FINALIZED)
            .map_err(StoreError::failed(path, "opening table `finalized`"))?;
        let last = table
            .last()
            .map_err(StoreError::failed(path, "reading the finalized tip"))?;
        Ok(Height(last.map_or(0, |(height, _)| height.value())))
    }

    pub fn finalized_height(&self) -> Result<Height, StoreError> {
        let txn = self.begin_read()?;
        self.height(&txn)
    }

    /// The finalized block at `height`, with its own finalization certificate if it has one.
    pub fn finalized_block(
        &self,
        height: Height,
    ) -> Result<Option<(Block, Option<Certificate>)>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        let read = table
            .get(height.0)
            .map_err(self.failed("reading table `finalized`"))?;
        let Some(value) = read else {
            return Ok(None);
        };
        let entry = codec::decode_finalized(&self.path, value.value())?;
        Ok(Some((entry.block, entry.certificate)))
    }

    /// Up to `limit` finalized blocks from `from` on, in height order, each with its own
    /// finalization certificate if it has one.
    pub fn finalized_blocks(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Vec<(Block, Option<Certificate>)>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        let mut blocks = Vec::new();
        for entry in table
            .range(from.0..)
            .map_err(self.failed("reading table `finalized`"))?
            .take(limit)
        {
            let (_, value) = entry.map_err(self.failed("reading table `finalized`"))?;
            let entry = codec::decode_finalized(&self.path, value.value())?;
            blocks.push((entry.block, entry.certificate));
        }
        Ok(blocks)
    }

    pub(super) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        self.db
            .begin_read()
            .map_err(self.failed("starting a read transaction"))
    }

    /// The finalized tip's entry.
    fn tip(&self, txn: &ReadTransaction) -> Result<FinalizedEntry, StoreError> {
        let table = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        let last = table
            .last()
            .map_err(self.failed("reading table `finalized`"))?;
        let Some((_, value)) = last else {
            return Err(StoreError::corrupt(
                &self.path,
                name::FINALIZED,
                "empty: not even the genesis block",
            ));
        };
        codec::decode_finalized(&self.path, value.value())
    }

    fn height(&self, txn: &ReadTransaction) -> Result<Height, StoreError> {
        let table = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        let last = table
            .last()
            .map_err(self.failed("reading table `finalized`"))?;
        match last {
            Some((height, _)) => Ok(Height(height.value())),
            None => Err(StoreError::corrupt(
                &self.path,
                name::FINALIZED,
                "empty: not even the genesis block",
            )),
        }
    }

    fn nonces(&self, txn: &ReadTransaction) -> Result<BTreeMap<PeerId, u64>, StoreError> {
        let table = txn
            .open_table(FINALIZED_NONCES)
            .map_err(self.failed("opening table `finalized_nonces`"))?;
        let mut nonces = BTreeMap::new();
        for entry in table
            .iter()
            .map_err(self.failed("reading table `finalized_nonces`"))?
        {
            let (author, value) = entry.map_err(self.failed("reading table `finalized_nonces`"))?;
            let nonce: u64 = codec::decode(&self.path, name::FINALIZED_NONCES, value.value())?;
            nonces.insert(PeerId(*author.value()), nonce);
        }
        Ok(nonces)
    }
}
