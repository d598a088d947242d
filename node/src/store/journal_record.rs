//! What one journal record holds: the epoch the database was in, and one commit's `persist`
//! entries and finalized batches, in order.
//!
//! Uses only `bfte-consensus`, `bfte-shared` and serde: the fuzz crate compiles this file as
//! it is.

use bfte_consensus::{Durable, Finalized};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::vote::Vote;
use serde::{Deserialize, Serialize};

/// A `Durable` entry as the journal writes it.
#[derive(Debug, Serialize)]
pub enum EntryRef<'a> {
    Vote(&'a Vote),
    OwnItem(&'a ConsensusItem),
    Certificate(&'a Certificate),
    Block(&'a Block),
}

impl<'a> From<&'a Durable> for EntryRef<'a> {
    fn from(durable: &'a Durable) -> EntryRef<'a> {
        match durable {
            Durable::Vote(vote) => EntryRef::Vote(vote),
            Durable::OwnItem(item) => EntryRef::OwnItem(item),
            Durable::Certificate(certificate) => EntryRef::Certificate(certificate),
            Durable::Block(block) => EntryRef::Block(block),
        }
    }
}

/// A `Durable` entry as the journal reads it back (the same encoding as [`EntryRef`]).
#[derive(Debug, Deserialize)]
pub enum Entry {
    Vote(Vote),
    OwnItem(ConsensusItem),
    Certificate(Certificate),
    Block(Block),
}

impl From<Entry> for Durable {
    fn from(entry: Entry) -> Durable {
        match entry {
            Entry::Vote(vote) => Durable::Vote(vote),
            Entry::OwnItem(item) => Durable::OwnItem(item),
            Entry::Certificate(certificate) => Durable::Certificate(certificate),
            Entry::Block(block) => Durable::Block(block),
        }
    }
}

/// A finalized batch as the journal writes it: its blocks and the last one's finalization.
pub type BatchRef<'a> = (&'a [Block], &'a Certificate);

/// A finalized batch as the journal reads it back.
pub type Batch = (Vec<Block>, Certificate);

/// One record as written: (epoch, entries, batches).
pub type RecordRef<'a> = (u64, Vec<EntryRef<'a>>, Vec<BatchRef<'a>>);

/// One record as read back.
pub type Record = (u64, Vec<Entry>, Vec<Batch>);

pub fn batch_ref(finalized: &Finalized) -> BatchRef<'_> {
    (&finalized.blocks, &finalized.certificate)
}

pub fn finalized((blocks, certificate): Batch) -> Finalized {
    Finalized {
        blocks,
        certificate,
    }
}
