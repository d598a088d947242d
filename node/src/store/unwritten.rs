//! Entries the store holds back from redb: a commit that finalizes nothing (an own vote, a
//! certificate, a block) goes only into the journal and stays in memory here, and the next
//! commit that finalizes a batch writes it into redb ahead of its own parts, as one
//! transaction; a durable commit that empties the journal writes it first. Most commits finalize
//! nothing, and a redb transaction costs more than the record (8 % of a node's CPU per block in
//! `bench net`). What redb would refuse of such a commit is refused when it is made, as ever.
//!
//! Redb ends up as it did when every commit was its own transaction: `write` stores entries in
//! commit order and skips what lies at or below the tip by then, which is what a commit that
//! finalized it would have pruned.

use bfte_consensus::Durable;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::round::Round;
use bfte_shared::vote::Vote;
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, WriteTransaction};

use super::Store;
use super::codec;
use super::error::StoreError;
use super::journal::Journal;
use super::tables::{
    CERTIFICATES, FINALIZED, FINALIZED_NONCES, OWN_ITEMS, OWN_VOTES, kind_code, name,
};

/// The journal, and the entries of its records that redb does not hold yet.
#[derive(Debug)]
pub(super) struct Journaled {
    journal: Journal,
    unwritten: Vec<Durable>,
}

/// What the checks of a held commit read: the keyed tables, in one read transaction, and
/// the finalized tip's round.
struct StoredKeys {
    votes: ReadOnlyTable<(u64, u8), &'static [u8]>,
    items: ReadOnlyTable<u64, &'static [u8]>,
    certificates: ReadOnlyTable<(u64, u8), &'static [u8]>,
    nonces: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    tip_round: Round,
}

/// Proof that the unwritten entries are in a transaction that commits durably: the journal
/// can be emptied once it has.
#[derive(Debug)]
pub(super) struct Written(());

impl Journaled {
    pub(super) fn new(journal: Journal) -> Journaled {
        Journaled {
            journal,
            unwritten: Vec::new(),
        }
    }

    /// See [`Journal::append`].
    pub(super) fn append(&mut self, payload: &[u8], sync: bool) -> Result<(), StoreError> {
        self.journal.append(payload, sync)
    }

    pub(super) fn len(&self) -> u64 {
        self.journal.len()
    }

    /// Empties the journal, once redb holds the unwritten entries durably.
    pub(super) fn clear(&mut self, _written: Written) -> Result<(), StoreError> {
        self.journal.clear()
    }

    /// The entries redb does not hold yet, for the next transaction that finalizes a batch.
    pub(super) fn take_unwritten(&mut self) -> Vec<Durable> {
        std::mem::take(&mut self.unwritten)
    }
}

impl Store {
    /// Writes the unwritten entries into `txn`, which the caller commits durably before it
    /// empties the journal. An epoch switch calls this before it clears the round state.
    pub(super) fn write_unwritten(
        &self,
        txn: &WriteTransaction,
        journaled: &mut Journaled,
    ) -> Result<Written, StoreError> {
        let entries = journaled.take_unwritten();
        if !entries.is_empty() {
            self.write(txn, &[(&entries, &[])])?;
        }
        Ok(Written(()))
    }

    /// Writes the unwritten entries into redb, unsynced (the journal holds them): for readers of
    /// the round state, such as [`Store::restored`].
    pub(super) fn write_out_unwritten(&self) -> Result<(), StoreError> {
        let mut journaled = self.journal();
        if journaled.unwritten.is_empty() {
            return Ok(());
        }
        let txn = self.begin_unsynced_write()?;
        self.write_unwritten(&txn, &mut journaled)?;
        txn.commit().map_err(self.failed("committing"))
    }

    /// Holds back a commit that finalizes nothing, once it passes the checks `write` makes:
    /// an own vote, own item or certificate that conflicts with one stored or held under the
    /// same key is refused, and then nothing of the commit is held.
    pub(super) fn hold(
        &self,
        journaled: &mut Journaled,
        persist: &[&[Durable]],
    ) -> Result<(), StoreError> {
        let txn = self.begin_read()?;
        let stored = StoredKeys {
            votes: txn
                .open_table(OWN_VOTES)
                .map_err(self.failed("opening table `own_votes`"))?,
            items: txn
                .open_table(OWN_ITEMS)
                .map_err(self.failed("opening table `own_items`"))?,
            certificates: txn
                .open_table(CERTIFICATES)
                .map_err(self.failed("opening table `certificates`"))?,
            nonces: txn
                .open_table(FINALIZED_NONCES)
                .map_err(self.failed("opening table `finalized_nonces`"))?,
            tip_round: self.tip_round(&txn)?,
        };
        let start = journaled.unwritten.len();
        for durable in persist.iter().flat_map(|p| p.iter()) {
            let held = &journaled.unwritten;
            let clash = match durable {
                Durable::Vote(vote) => self.vote_clash(&stored, held, vote)?,
                Durable::OwnItem(item) => self.item_clash(&stored, held, item)?,
                Durable::Certificate(certificate) => {
                    self.certificate_clash(&stored, held, certificate)?
                }
                Durable::Block(_) => None,
            };
            if let Some((table, detail)) = clash {
                journaled.unwritten.truncate(start);
                return Err(self.conflict(table, detail));
            }
            journaled.unwritten.push(durable.clone());
        }
        Ok(())
    }

    fn vote_clash(
        &self,
        stored: &StoredKeys,
        held: &[Durable],
        vote: &Vote,
    ) -> Result<Option<(&'static str, String)>, StoreError> {
        if vote.round <= stored.tip_round {
            return Ok(None);
        }
        let key = (vote.round.0, kind_code(vote.kind));
        let earlier = held.iter().find_map(|d| match d {
            Durable::Vote(v) if (v.round.0, kind_code(v.kind)) == key => Some(v.clone()),
            _ => None,
        });
        let read = || self.stored(&stored.votes, key, name::OWN_VOTES);
        clash_with(earlier, read, name::OWN_VOTES, |earlier| {
            vote_clash(earlier, vote)
        })
    }

    fn item_clash(
        &self,
        stored: &StoredKeys,
        held: &[Durable],
        item: &ConsensusItem,
    ) -> Result<Option<(&'static str, String)>, StoreError> {
        let final_nonce: Option<u64> = self.stored(
            &stored.nonces,
            item.author.as_bytes(),
            name::FINALIZED_NONCES,
        )?;
        if final_nonce.is_some_and(|nonce| item.nonce <= nonce) {
            return Ok(None);
        }
        let earlier = held.iter().find_map(|d| match d {
            Durable::OwnItem(i) if i.nonce == item.nonce => Some(i.clone()),
            _ => None,
        });
        let read = || self.stored(&stored.items, item.nonce, name::OWN_ITEMS);
        clash_with(earlier, read, name::OWN_ITEMS, |earlier| {
            item_clash(earlier, item)
        })
    }

    fn certificate_clash(
        &self,
        stored: &StoredKeys,
        held: &[Durable],
        certificate: &Certificate,
    ) -> Result<Option<(&'static str, String)>, StoreError> {
        if certificate.round <= stored.tip_round {
            return Ok(None);
        }
        let key = (certificate.round.0, kind_code(certificate.kind));
        let earlier = held.iter().find_map(|d| match d {
            Durable::Certificate(c) if (c.round.0, kind_code(c.kind)) == key => Some(c.clone()),
            _ => None,
        });
        let read = || self.stored(&stored.certificates, key, name::CERTIFICATES);
        clash_with(earlier, read, name::CERTIFICATES, |earlier| {
            certificate_clash(earlier, certificate)
        })
    }

    /// The value stored under `key` in `table`, decoded.
    fn stored<'k, K, V>(
        &self,
        table: &impl ReadableTable<K, &'static [u8]>,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
        table_name: &'static str,
    ) -> Result<Option<V>, StoreError>
    where
        K: redb::Key + 'static,
        V: serde::de::DeserializeOwned,
    {
        let read = table.get(key).map_err(self.failed("reading a table"))?;
        read.map(|value| codec::decode(&self.path, table_name, value.value()))
            .transpose()
    }

    fn tip_round(&self, txn: &ReadTransaction) -> Result<Round, StoreError> {
        let finalized = txn
            .open_table(FINALIZED)
            .map_err(self.failed("opening table `finalized`"))?;
        Ok(self.stored_tip(&finalized)?.round())
    }
}

/// Why an entry may not go into `table`, judged by `why` against the entry held under its key
/// (`held`), else the one stored there (`read`).
fn clash_with<T>(
    held: Option<T>,
    read: impl FnOnce() -> Result<Option<T>, StoreError>,
    table: &'static str,
    why: impl FnOnce(&T) -> Option<String>,
) -> Result<Option<(&'static str, String)>, StoreError> {
    let earlier = match held {
        Some(held) => Some(held),
        None => read()?,
    };
    Ok(earlier
        .and_then(|earlier| why(&earlier))
        .map(|detail| (table, detail)))
}

/// Why `vote` may not be stored where `stored` is, if it may not.
pub(super) fn vote_clash(stored: &Vote, vote: &Vote) -> Option<String> {
    (stored != vote).then(|| {
        format!(
            "round {} already has the vote {:?}, not {:?}",
            vote.round, stored.kind, vote.kind
        )
    })
}

/// Why `item` may not be stored where `stored` is, if it may not.
pub(super) fn item_clash(stored: &ConsensusItem, item: &ConsensusItem) -> Option<String> {
    (stored != item).then(|| format!("nonce {} already has a different item", item.nonce))
}

/// Why `certificate` may not be stored where `stored` is, if it may not: another quorum for
/// the same vote proves nothing new, and is not stored either.
pub(super) fn certificate_clash(stored: &Certificate, certificate: &Certificate) -> Option<String> {
    (stored.kind != certificate.kind).then(|| {
        format!(
            "round {} already has a certificate for {:?}, not {:?}",
            certificate.round, stored.kind, certificate.kind
        )
    })
}
