//! Writing one core output: persist entries, finalized blocks, nonces and pruning, in one
//! transaction, synced when it holds an own signature.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Vote, VoteKind};
use redb::{ReadableTable, Table, WriteTransaction};

use super::Store;
use super::codec::{self, MAX_VALUE_BYTES};
use super::error::StoreError;
use super::journal;
use super::journal_record::{BatchRef, EntryRef, RecordRef, batch_ref};
use super::tables::{
    BLOCKS, CERTIFICATES, FINALIZED, FINALIZED_NONCES, FinalizedEntryRef, OWN_ITEMS, OWN_VOTES,
    StoredHeader, kind_code, name,
};
use super::unwritten::{certificate_clash, item_clash, vote_clash};
use bfte_consensus::{Durable, Finalized, Output};

type RoundKindTable<'txn> = Table<'txn, (u64, u8), &'static [u8]>;
type HashTable<'txn> = Table<'txn, &'static [u8; 32], &'static [u8]>;
type NumberTable<'txn> = Table<'txn, u64, &'static [u8]>;

/// The tables a commit writes, open in one transaction.
struct Tables<'txn> {
    votes: RoundKindTable<'txn>,
    items: NumberTable<'txn>,
    certificates: RoundKindTable<'txn>,
    blocks: HashTable<'txn>,
    finalized: NumberTable<'txn>,
    nonces: HashTable<'txn>,
}

/// What the commit needs to know about the finalized tip.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tip {
    height: Height,
    round: Round,
    hash: Hash,
}

impl Tip {
    pub(super) fn height(&self) -> Height {
        self.height
    }

    pub(super) fn round(&self) -> Round {
        self.round
    }
}

impl Store {
    /// Stores one core output's `persist` entries and `finalized` batches as one commit,
    /// synced (through the journal): on `Ok` all of it is on disk, on `Err` none of it.
    ///
    /// Finalized blocks are appended in order, the last block of each batch with the batch's
    /// certificate; each author's finalized nonce rises to its items' nonces; then votes,
    /// certificates and blocks at or below the new tip's round, and own items whose nonce is
    /// final, are deleted. Persist entries already at or below the tip are not stored. Refused
    /// as a whole: a batch that does not extend the stored tip, an empty batch or one whose
    /// certificate does not finalize its last block, and an own vote, own item or certificate
    /// that conflicts with a stored one under the same key.
    pub fn commit(&self, persist: &[Durable], finalized: &[Finalized]) -> Result<(), StoreError> {
        self.commit_parts(&[(persist, finalized)], true)
    }

    /// Stores several core outputs, in order, in one transaction, as `commit` stores one: the
    /// driver's batch of inputs costs one disk sync, and nothing of it leaves before. Without
    /// `sync` the transaction is not synced: a crash before the next synced commit loses it
    /// (and every unsynced commit since the last synced one), never part of it.
    pub fn commit_outputs<'a>(
        &self,
        outputs: impl IntoIterator<Item = &'a Output>,
        sync: bool,
    ) -> Result<(), StoreError> {
        let parts: Vec<_> = outputs
            .into_iter()
            .map(|o| (o.persist.as_slice(), o.finalized.as_slice()))
            .collect();
        self.commit_parts(&parts, sync)
    }

    fn commit_parts(
        &self,
        parts: &[(&[Durable], &[Finalized])],
        sync: bool,
    ) -> Result<(), StoreError> {
        if parts.iter().all(|(p, f)| p.is_empty() && f.is_empty()) {
            return Ok(());
        }
        let entries: Vec<EntryRef<'_>> = parts
            .iter()
            .flat_map(|(persist, _)| persist.iter().map(EntryRef::from))
            .collect();
        let batches: Vec<BatchRef<'_>> = parts
            .iter()
            .flat_map(|(_, finalized)| finalized.iter().map(batch_ref))
            .collect();
        let mut journal = self.journal();
        // Checked (and, finalizing, written) first: a commit redb would refuse must not reach
        // the journal, whose replay would refuse it again.
        if parts.iter().all(|(_, finalized)| finalized.is_empty()) {
            let persist: Vec<&[Durable]> = parts.iter().map(|(persist, _)| *persist).collect();
            self.hold(&mut journal, &persist)?;
        } else {
            let txn = self.begin_unsynced_write()?;
            // The held entries first, in commit order. On an error the transaction is dropped
            // unfinished, which aborts it, and the node stops.
            let unwritten = journal.take_unwritten();
            let mut all = Vec::with_capacity(parts.len() + 1);
            all.push((unwritten.as_slice(), &[][..]));
            all.extend_from_slice(parts);
            let tip = self.write(&txn, &all)?;
            txn.commit().map_err(self.failed("committing"))?;
            *self.cached_tip() = Some(tip);
        }
        let record: RecordRef<'_> = (self.epoch.load(Ordering::Relaxed), entries, batches);
        let payload = bfte_shared::codec::encode(&record);
        if payload.len() > MAX_VALUE_BYTES {
            // Too large for one record (a long catch-up of full blocks): redb's own durable
            // commit covers it, and everything before it.
            return self.checkpoint_locked(&mut journal);
        }
        journal.append(&payload, sync)?;
        if journal.len() > journal::CHECKPOINT_BYTES {
            self.checkpoint_locked(&mut journal)?;
        }
        Ok(())
    }

    pub(super) fn cached_tip(&self) -> std::sync::MutexGuard<'_, Option<Tip>> {
        // The cache is only ever replaced whole, so a panic elsewhere cannot leave it torn.
        self.tip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes every part into `txn`, in order; returns the finalized tip it leaves.
    pub(super) fn write(
        &self,
        txn: &WriteTransaction,
        parts: &[(&[Durable], &[Finalized])],
    ) -> Result<Tip, StoreError> {
        let mut tables = Tables {
            votes: txn
                .open_table(OWN_VOTES)
                .map_err(self.failed("opening table `own_votes`"))?,
            items: txn
                .open_table(OWN_ITEMS)
                .map_err(self.failed("opening table `own_items`"))?,
            certificates: txn
                .open_table(CERTIFICATES)
                .map_err(self.failed("opening table `certificates`"))?,
            blocks: txn
                .open_table(BLOCKS)
                .map_err(self.failed("opening table `blocks`"))?,
            finalized: txn
                .open_table(FINALIZED)
                .map_err(self.failed("opening table `finalized`"))?,
            nonces: txn
                .open_table(FINALIZED_NONCES)
                .map_err(self.failed("opening table `finalized_nonces`"))?,
        };
        let mut tip = self.stored_tip(&tables.finalized)?;
        for (persist, finalized) in parts {
            for durable in *persist {
                match durable {
                    Durable::Vote(vote) => self.put_vote(&mut tables.votes, tip.round, vote)?,
                    Durable::OwnItem(item) => self.put_item(&mut tables, item)?,
                    Durable::Certificate(certificate) => {
                        self.put_certificate(&mut tables.certificates, tip.round, certificate)?;
                    }
                    Durable::Block(block) => {
                        self.put_block(&mut tables.blocks, tip.round, block)?;
                    }
                }
            }
            for batch in *finalized {
                tip = self.append(&mut tables, tip, batch)?;
            }
            if !finalized.is_empty() {
                self.prune(&mut tables, tip.round)?;
            }
        }
        Ok(tip)
    }

    pub(super) fn stored_tip(
        &self,
        finalized: &impl ReadableTable<u64, &'static [u8]>,
    ) -> Result<Tip, StoreError> {
        let last = finalized
            .last()
            .map_err(self.failed("reading table `finalized`"))?;
        if let (Some((height, _)), Some(cached)) = (&last, *self.cached_tip())
            && height.value() == cached.height.0
        {
            return Ok(cached);
        }
        let Some((_, value)) = last else {
            return Err(StoreError::corrupt(
                &self.path,
                name::FINALIZED,
                "empty: not even the genesis block",
            ));
        };
        let header = codec::decode_finalized(&self.path, value.value())?
            .block
            .header;
        Ok(Tip {
            height: header.height,
            round: header.round,
            hash: header.hash(),
        })
    }

    fn put_vote(
        &self,
        votes: &mut RoundKindTable<'_>,
        tip_round: Round,
        vote: &Vote,
    ) -> Result<(), StoreError> {
        if vote.round <= tip_round {
            return Ok(());
        }
        let key = (vote.round.0, kind_code(vote.kind));
        if let Some(stored) = votes
            .get(key)
            .map_err(self.failed("reading table `own_votes`"))?
        {
            let stored: Vote = codec::decode(&self.path, name::OWN_VOTES, stored.value())?;
            return match vote_clash(&stored, vote) {
                None => Ok(()),
                Some(detail) => Err(self.conflict(name::OWN_VOTES, detail)),
            };
        }
        let value = codec::encode(&self.path, name::OWN_VOTES, vote)?;
        votes
            .insert(key, value.as_slice())
            .map_err(self.failed("writing table `own_votes`"))?;
        Ok(())
    }

    fn put_item(&self, tables: &mut Tables<'_>, item: &ConsensusItem) -> Result<(), StoreError> {
        if self
            .final_nonce(&tables.nonces, &item.author)?
            .is_some_and(|nonce| item.nonce <= nonce)
        {
            return Ok(());
        }
        if let Some(stored) = tables
            .items
            .get(item.nonce)
            .map_err(self.failed("reading table `own_items`"))?
        {
            let stored: ConsensusItem = codec::decode(&self.path, name::OWN_ITEMS, stored.value())?;
            return match item_clash(&stored, item) {
                None => Ok(()),
                Some(detail) => Err(self.conflict(name::OWN_ITEMS, detail)),
            };
        }
        let value = codec::encode(&self.path, name::OWN_ITEMS, item)?;
        tables
            .items
            .insert(item.nonce, value.as_slice())
            .map_err(self.failed("writing table `own_items`"))?;
        Ok(())
    }

    fn put_certificate(
        &self,
        certificates: &mut RoundKindTable<'_>,
        tip_round: Round,
        certificate: &Certificate,
    ) -> Result<(), StoreError> {
        if certificate.round <= tip_round {
            return Ok(());
        }
        let key = (certificate.round.0, kind_code(certificate.kind));
        if let Some(stored) = certificates
            .get(key)
            .map_err(self.failed("reading table `certificates`"))?
        {
            let stored: Certificate =
                codec::decode(&self.path, name::CERTIFICATES, stored.value())?;
            return match certificate_clash(&stored, certificate) {
                None => Ok(()),
                Some(detail) => Err(self.conflict(name::CERTIFICATES, detail)),
            };
        }
        let value = codec::encode(&self.path, name::CERTIFICATES, certificate)?;
        certificates
            .insert(key, value.as_slice())
            .map_err(self.failed("writing table `certificates`"))?;
        Ok(())
    }

    fn put_block(
        &self,
        blocks: &mut HashTable<'_>,
        tip_round: Round,
        block: &Block,
    ) -> Result<(), StoreError> {
        if block.header.round <= tip_round {
            return Ok(());
        }
        let hash = block.hash();
        if let Some(stored) = blocks
            .get(hash.as_bytes())
            .map_err(self.failed("reading table `blocks`"))?
        {
            let stored: Block = codec::decode(&self.path, name::BLOCKS, stored.value())?;
            // Same header; keep the stored copy unless only the new one's payload matches it.
            if stored.payload_matches() || !block.payload_matches() {
                return Ok(());
            }
        }
        let value = codec::encode(&self.path, name::BLOCKS, block)?;
        blocks
            .insert(hash.as_bytes(), value.as_slice())
            .map_err(self.failed("writing table `blocks`"))?;
        Ok(())
    }

    /// Appends one finalized batch after `tip` and raises the nonces of its items; returns the
    /// new tip.
    fn append(
        &self,
        tables: &mut Tables<'_>,
        mut tip: Tip,
        batch: &Finalized,
    ) -> Result<Tip, StoreError> {
        let Some(last) = batch.blocks.last() else {
            return Err(StoreError::BadFinalization {
                path: self.path.clone(),
                detail: "the batch has no blocks".into(),
            });
        };
        let last_hash = last.hash();
        if batch.certificate.kind != VoteKind::Finalize(last_hash)
            || batch.certificate.round != last.header.round
        {
            return Err(StoreError::BadFinalization {
                path: self.path.clone(),
                detail: format!(
                    "its certificate ({:?} in round {}) does not finalize its last block ({} in \
                     round {})",
                    batch.certificate.kind, batch.certificate.round, last_hash, last.header.round
                ),
            });
        }
        let mut raised: BTreeMap<PeerId, u64> = BTreeMap::new();
        let count = batch.blocks.len();
        for (index, block) in batch.blocks.iter().enumerate() {
            let header = &block.header;
            if header.height != tip.height.next()
                || header.parent != tip.hash
                || header.round <= tip.round
            {
                return Err(StoreError::NotExtending {
                    path: self.path.clone(),
                    detail: format!(
                        "block {} (height {}, round {}, parent {}) does not follow block {} \
                         (height {}, round {})",
                        block.hash(),
                        header.height,
                        header.round,
                        header.parent,
                        tip.hash,
                        tip.height,
                        tip.round
                    ),
                });
            }
            let entry = FinalizedEntryRef {
                block,
                certificate: (index + 1 == count).then_some(&batch.certificate),
            };
            let value = codec::encode(&self.path, name::FINALIZED, &entry)?;
            tables
                .finalized
                .insert(header.height.0, value.as_slice())
                .map_err(self.failed("writing table `finalized`"))?;
            for item in &block.payload.items {
                let nonce = raised.entry(item.author).or_insert(item.nonce);
                *nonce = (*nonce).max(item.nonce);
            }
            tip = Tip {
                height: header.height,
                round: header.round,
                hash: block.hash(),
            };
        }
        for (author, nonce) in raised {
            if self
                .final_nonce(&tables.nonces, &author)?
                .is_some_and(|stored| stored >= nonce)
            {
                continue;
            }
            let value = codec::encode(&self.path, name::FINALIZED_NONCES, &nonce)?;
            tables
                .nonces
                .insert(author.as_bytes(), value.as_slice())
                .map_err(self.failed("writing table `finalized_nonces`"))?;
        }
        Ok(tip)
    }

    /// Deletes what the tip made unnecessary: votes, certificates and blocks of rounds at or
    /// below `tip_round`, and own items whose nonce is final.
    fn prune(&self, tables: &mut Tables<'_>, tip_round: Round) -> Result<(), StoreError> {
        let final_rounds = ..=(tip_round.0, u8::MAX);
        tables
            .votes
            .retain_in(final_rounds, |_, _| false)
            .map_err(self.failed("pruning table `own_votes`"))?;
        tables
            .certificates
            .retain_in(final_rounds, |_, _| false)
            .map_err(self.failed("pruning table `certificates`"))?;

        let mut final_blocks = Vec::new();
        for entry in tables
            .blocks
            .iter()
            .map_err(self.failed("reading table `blocks`"))?
        {
            let (key, value) = entry.map_err(self.failed("reading table `blocks`"))?;
            let block: StoredHeader = codec::decode(&self.path, name::BLOCKS, value.value())?;
            if block.header.round <= tip_round {
                final_blocks.push(*key.value());
            }
        }
        for hash in &final_blocks {
            tables
                .blocks
                .remove(hash)
                .map_err(self.failed("pruning table `blocks`"))?;
        }

        let mut final_items = Vec::new();
        let mut final_nonces: BTreeMap<PeerId, Option<u64>> = BTreeMap::new();
        for entry in tables
            .items
            .iter()
            .map_err(self.failed("reading table `own_items`"))?
        {
            let (nonce, value) = entry.map_err(self.failed("reading table `own_items`"))?;
            let item: ConsensusItem = codec::decode(&self.path, name::OWN_ITEMS, value.value())?;
            let final_nonce = match final_nonces.get(&item.author) {
                Some(known) => *known,
                None => {
                    let read = self.final_nonce(&tables.nonces, &item.author)?;
                    final_nonces.insert(item.author, read);
                    read
                }
            };
            if final_nonce.is_some_and(|final_nonce| item.nonce <= final_nonce) {
                final_items.push(nonce.value());
            }
        }
        for nonce in final_items {
            tables
                .items
                .remove(nonce)
                .map_err(self.failed("pruning table `own_items`"))?;
        }
        Ok(())
    }

    fn final_nonce(
        &self,
        nonces: &HashTable<'_>,
        author: &PeerId,
    ) -> Result<Option<u64>, StoreError> {
        let read = nonces
            .get(author.as_bytes())
            .map_err(self.failed("reading table `finalized_nonces`"))?;
        read.map(|value| codec::decode(&self.path, name::FINALIZED_NONCES, value.value()))
            .transpose()
    }

    pub(super) fn conflict(&self, table: &'static str, detail: String) -> StoreError {
        StoreError::Conflict {
            path: self.path.clone(),
            table,
            detail,
        }
    }
}
