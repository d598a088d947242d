//! The commit journal under the store: a crash image (the database as of its last durable redb
//! commit, the journal as the crash left it) opens with every journaled entry back, and only
//! the records of the database's epoch.

use std::path::Path;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::VoteKind;
use tempfile::TempDir;

use super::Store;
use super::codec::MAX_VALUE_BYTES;
use super::fixtures::{Federation, child, federation, finalized, new_store};
use super::journal::Journal;
use super::journal_frame::{record_len, whole_records};
use bfte_consensus::{Durable, Output};

/// A federation of four, a new store of it in a temporary directory, and its genesis block.
fn fresh() -> (Federation, TempDir, Store, Block) {
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let genesis = store
        .finalized_block(Height(0))
        .expect("read")
        .expect("genesis")
        .0;
    (fed, dir, store, genesis)
}

/// Copies the database file into `crash` as it is on disk now, as after a durable commit.
fn copy_database(store: &Store, crash: &Path) {
    std::fs::copy(store.path(), crash).expect("copy the database");
}

/// Copies the journal beside `store` next to `crash`, as a crash would leave it.
fn copy_journal(store: &Store, crash: &Path) {
    std::fs::copy(
        Journal::path_beside(store.path()),
        Journal::path_beside(crash),
    )
    .expect("copy the journal");
}

fn unsynced(persist: Vec<Durable>) -> Output {
    Output {
        persist,
        ..Output::default()
    }
}

fn notarization(block: &Block) -> Certificate {
    Certificate::from_signatures(block.header.round, VoteKind::Notarize(block.hash()), 4, [])
}

/// Flips a byte in the last whole record of the journal beside `database`: a crash before
/// that record's sync, which tore it.
fn tear_last_record(database: &Path) {
    let path = Journal::path_beside(database);
    let mut bytes = std::fs::read(&path).expect("read the journal");
    let mut generation = [0u8; 8];
    generation.copy_from_slice(&bytes[40..48]);
    let generation = u64::from_le_bytes(generation);
    let records = whole_records(&bytes[48..], generation, MAX_VALUE_BYTES);
    let end: usize = 48 + records.iter().map(|r| record_len(r)).sum::<usize>();
    bytes[end - 1] ^= 1;
    std::fs::write(&path, bytes).expect("write the journal");
}

#[test]
fn a_crash_keeps_every_whole_record_and_loses_only_what_no_sync_covered() {
    let (fed, dir, store, genesis) = fresh();
    let b1 = child(&genesis, 1, Vec::new());
    let b2 = child(&b1, 2, Vec::new());
    let vote1 = fed.vote(0, 1, VoteKind::Notarize(b1.hash()));
    store
        .commit(
            &[Durable::Vote(vote1.clone()), Durable::Block(b1.clone())],
            &[],
        )
        .expect("vote 1");
    store.checkpoint().expect("checkpoint");
    let images = ["unsynced", "whole", "torn"].map(|name| dir.path().join(format!("{name}.redb")));
    for image in &images {
        copy_database(&store, image);
    }
    let [unsynced_tail, whole, torn] = images;
    // After the last durable redb commit: an unsynced commit of others' facts, then a synced
    // own vote and item, which make the earlier record durable too, then a finalized batch
    // that no sync covers yet.
    let certificate = notarization(&b1);
    let before_sync = unsynced(vec![
        Durable::Certificate(certificate.clone()),
        Durable::Block(b2.clone()),
    ]);
    store
        .commit_outputs([&before_sync], false)
        .expect("unsynced commit");
    let vote2 = fed.vote(0, 2, VoteKind::Notarize(b2.hash()));
    let item = fed.item(0, 1);
    let synced = unsynced(vec![
        Durable::Vote(vote2.clone()),
        Durable::OwnItem(item.clone()),
    ]);
    store
        .commit_outputs([&synced], true)
        .expect("synced commit");
    let final_batch = Output {
        finalized: vec![finalized(std::slice::from_ref(&b1))],
        ..Output::default()
    };
    store
        .commit_outputs([&final_batch], false)
        .expect("finalized, unsynced");
    copy_journal(&store, &unsynced_tail);
    // The next synced commit writes the finalized batch too.
    let vote3 = fed.vote(0, 3, VoteKind::Dummy);
    store
        .commit_outputs([&unsynced(vec![Durable::Vote(vote3.clone())])], true)
        .expect("second synced commit");
    copy_journal(&store, &whole);
    copy_journal(&store, &torn);
    // A crash while the second sync was written: its record tore, and the sync never returned.
    tear_last_record(&torn);

    // Before the second sync the finalized batch was not in the file: lost, as it may be.
    let reopened = Store::open(&unsynced_tail).expect("open the unsynced crash image");
    let restored = reopened.restored().expect("restored");
    assert_eq!(restored.finalized_tip, genesis);
    assert_eq!(restored.votes, vec![vote1, vote2.clone()]);
    assert_eq!(restored.own_items, vec![item.clone()]);
    assert_eq!(restored.certificates, vec![certificate]);
    assert_eq!(restored.blocks, vec![b1.clone(), b2.clone()]);

    // Every record is back: the finalized batch is replayed, and prunes.
    let reopened = Store::open(&whole).expect("open the whole crash image");
    let restored = reopened.restored().expect("restored");
    assert_eq!(restored.finalized_tip, b1);
    assert_eq!(restored.votes, vec![vote2.clone(), vote3]);
    assert_eq!(restored.own_items, vec![item.clone()]);
    assert!(restored.certificates.is_empty());
    assert_eq!(restored.blocks, vec![b2.clone()]);

    // Torn, the last record is lost; the finalized batch, written whole with it, is back.
    let reopened = Store::open(&torn).expect("open the torn crash image");
    let restored = reopened.restored().expect("restored");
    assert_eq!(restored.finalized_tip, b1);
    assert_eq!(restored.votes, vec![vote2]);
    assert_eq!(restored.own_items, vec![item]);
    assert!(restored.certificates.is_empty());
    assert_eq!(restored.blocks, vec![b2]);
    // The replay is durable and the journal empty: opening again gives the same state.
    drop(reopened);
    let again = Store::open(&torn).expect("open again");
    let twice = again.restored().expect("restored");
    assert_eq!(twice.finalized_tip, restored.finalized_tip);
    assert_eq!(twice.votes, restored.votes);
    assert_eq!(twice.own_items, restored.own_items);
    assert_eq!(twice.certificates, restored.certificates);
    assert_eq!(twice.blocks, restored.blocks);
    drop(again);
    let (_, records) = Journal::open(&torn, fed.genesis.federation_id().0).expect("journal");
    assert!(records.is_empty(), "{} records left", records.len());
}

#[test]
fn a_replay_skips_the_finalized_batches_redb_holds_already() {
    let (_, dir, store, genesis) = fresh();
    let b1 = child(&genesis, 1, Vec::new());
    let b2 = child(&b1, 2, Vec::new());
    store
        .commit(&[], &[finalized(std::slice::from_ref(&b1))])
        .expect("b1 final");
    let crash = dir.path().join("crashed.redb");
    // The journal still holds b1's record; a crash between a durable redb commit and the
    // journal's emptying leaves it so.
    copy_journal(&store, &crash);
    store.checkpoint().expect("checkpoint");
    copy_database(&store, &crash);
    let reopened = Store::open(&crash).expect("open");
    assert_eq!(reopened.restored().expect("restored").finalized_tip, b1);
    reopened
        .commit(&[], &[finalized(std::slice::from_ref(&b2))])
        .expect("the chain goes on from b1");
    assert_eq!(reopened.finalized_height().expect("height"), Height(2));
}

#[test]
fn records_of_another_epoch_than_the_databases_are_not_replayed() {
    let (fed, dir, store, genesis) = fresh();
    let b1 = child(&genesis, 1, Vec::new());
    store
        .commit(&[], &[finalized(std::slice::from_ref(&b1))])
        .expect("b1 final");
    // The journal as it was in epoch 0, with a vote of round 5.
    let old_vote = fed.vote(0, 5, VoteKind::Dummy);
    store
        .commit(&[Durable::Vote(old_vote)], &[])
        .expect("vote in epoch 0");
    let crash = dir.path().join("crashed.redb");
    copy_journal(&store, &crash);
    // The switch to epoch 1 is durable, and the crash came before the journal was emptied.
    let mut epoch = EpochConfig::genesis(&fed.genesis, Vec::new());
    epoch.number = 1;
    epoch.start_height = b1.header.height;
    epoch.start_block = b1.hash();
    store
        .switch_epoch(&epoch, &fed.secrets[0].peer_id())
        .expect("switch");
    copy_database(&store, &crash);

    let reopened = Store::open(&crash).expect("open the crash image");
    assert_eq!(reopened.epoch_number().expect("epoch"), 1);
    let restored = reopened.restored().expect("restored");
    assert!(
        restored.votes.is_empty(),
        "epoch 0's vote came back into epoch 1: {:?}",
        restored.votes
    );
    assert_eq!(restored.finalized_tip.header.round, Round(1));
}

#[test]
fn a_backup_restored_beside_a_newer_journal_opens_with_the_journal_s_votes() {
    let (fed, dir, store, genesis) = fresh();
    let backup = dir.path().join("backup.redb");
    copy_database(&store, &backup);
    let b1 = child(&genesis, 1, Vec::new());
    let b2 = child(&b1, 2, Vec::new());
    store
        .commit(&[], &[finalized(std::slice::from_ref(&b1))])
        .expect("b1 final");
    store.checkpoint().expect("checkpoint");
    let vote = fed.vote(0, 3, VoteKind::Dummy);
    store
        .commit(
            &[Durable::Vote(vote.clone())],
            &[finalized(std::slice::from_ref(&b2))],
        )
        .expect("b2 final, and a vote");
    copy_journal(&store, &backup);
    // b2 does not extend the backup's genesis tip: it is fetched again; the vote is kept.
    let restored = Store::open(&backup)
        .expect("open the restored backup")
        .restored()
        .expect("restored");
    assert_eq!(restored.finalized_tip, genesis);
    assert_eq!(restored.votes, vec![vote]);
}
