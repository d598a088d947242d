//! The store against hand-built values and against the outputs of four real cores.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, Entry, ModuleId};
use bfte_shared::message::{FinalizedChain, Message};
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Vote, VoteKind};

use super::fixtures::{Federation, child, db_path, federation, finalization, finalized, new_store};
use super::migrations::{MIGRATIONS, OLDEST_READABLE, SCHEMA_VERSION};
use super::tables::{self, kind_code};
use super::{Store, StoreError};
use bfte_consensus::{Core, CoreConfig, Destination, Durable, Finalized, Input, Output, Timer};

fn sorted_votes(mut votes: Vec<Vote>) -> Vec<Vote> {
    votes.sort_by_key(|v| (v.round, kind_code(v.kind)));
    votes.dedup();
    votes
}

#[test]
fn create_and_reopen_give_the_genesis_and_an_empty_state() {
    let fed = federation(4);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = db_path(&dir);
    let genesis_block = Block::genesis(&fed.genesis);
    {
        let store = Store::create(&path, &fed.genesis).expect("create");
        assert_eq!(store.genesis(), &fed.genesis);
        assert_eq!(store.path(), path);
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.genesis(), &fed.genesis);
    assert_eq!(store.finalized_height().expect("height"), Height(0));
    assert_eq!(
        store.finalized_block(Height(0)).expect("read"),
        Some((genesis_block.clone(), None))
    );
    assert_eq!(store.finalized_block(Height(1)).expect("read"), None);
    let restored = store.restored().expect("restored");
    assert_eq!(restored.finalized_tip, genesis_block);
    assert!(restored.finalized_nonces.is_empty());
    assert!(restored.votes.is_empty() && restored.own_items.is_empty());
    assert!(restored.certificates.is_empty() && restored.blocks.is_empty());
    assert_eq!(store.finalized_chain(Height(0), 64).expect("serve"), None);
    drop(store);

    let again = Store::create(&path, &fed.genesis).expect_err("the file exists");
    assert!(matches!(again, StoreError::AlreadyExists { .. }), "{again}");
    assert!(again.to_string().contains(&path.display().to_string()));
    Store::open(&path).expect("a refused create leaves the database alone");
}

#[test]
fn commits_restore_exactly_what_is_above_the_tip_and_finality_prunes() {
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let genesis = Block::genesis(&fed.genesis);
    let me = 0;
    let b1 = child(&genesis, 1, vec![fed.item(me, 1), fed.item(2, 1)]);
    let b2 = child(&b1, 2, vec![fed.item(me, 2)]);
    let b4 = child(&b2, 4, vec![]);
    let notarize = |b: &Block| {
        Certificate::from_signatures(b.header.round, VoteKind::Notarize(b.hash()), 4, [])
    };
    let dummy3 = Certificate::from_signatures(Round(3), VoteKind::Dummy, 4, []);

    let round1 = vec![
        Durable::OwnItem(fed.item(me, 1)),
        Durable::Block(b1.clone()),
        Durable::Vote(fed.vote(me, 1, VoteKind::Notarize(b1.hash()))),
    ];
    let round2 = vec![
        Durable::OwnItem(fed.item(me, 2)),
        Durable::OwnItem(fed.item(me, 3)),
        Durable::Certificate(notarize(&b1)),
        Durable::Vote(fed.vote(me, 1, VoteKind::Finalize(b1.hash()))),
        Durable::Block(b2.clone()),
        Durable::Vote(fed.vote(me, 2, VoteKind::Notarize(b2.hash()))),
        Durable::Certificate(notarize(&b2)),
    ];
    let round3 = vec![
        Durable::Vote(fed.vote(me, 3, VoteKind::Dummy)),
        Durable::Certificate(dummy3.clone()),
        Durable::Block(b4.clone()),
        Durable::Vote(fed.vote(me, 4, VoteKind::Notarize(b4.hash()))),
    ];
    store.commit(&round1, &[]).expect("commit");
    store.commit(&round2, &[]).expect("commit");
    store.commit(&round3, &[]).expect("commit");
    // The same entries again (a core re-persisting) change nothing.
    store
        .commit(&round1, &[])
        .expect("an identical repeat is fine");

    let all_votes: Vec<Vote> = [&round1, &round2, &round3]
        .into_iter()
        .flatten()
        .filter_map(|d| match d {
            Durable::Vote(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let restored = store.restored().expect("restored");
    assert_eq!(restored.finalized_tip, genesis);
    assert_eq!(restored.votes, sorted_votes(all_votes.clone()));
    assert_eq!(
        restored.own_items,
        vec![fed.item(me, 1), fed.item(me, 2), fed.item(me, 3)]
    );
    assert_eq!(
        restored.certificates,
        vec![notarize(&b1), notarize(&b2), dummy3.clone()]
    );
    assert_eq!(restored.blocks, vec![b1.clone(), b2.clone(), b4.clone()]);

    // b1 and b2 become final: everything of rounds 1 and 2 goes, and items 1 and 2 with them.
    let finalize2 = fed.vote(me, 2, VoteKind::Finalize(b2.hash()));
    store
        .commit(
            &[Durable::Vote(finalize2)],
            &[finalized(&[b1.clone(), b2.clone()])],
        )
        .expect("finalize");
    let check = |store: &Store| {
        let restored = store.restored().expect("restored");
        assert_eq!(restored.finalized_tip, b2);
        assert_eq!(
            restored.finalized_nonces,
            BTreeMap::from([
                (fed.secrets[me].peer_id(), 2),
                (fed.secrets[2].peer_id(), 1)
            ])
        );
        let above: Vec<Vote> = all_votes
            .iter()
            .filter(|v| v.round > Round(2))
            .cloned()
            .collect();
        assert_eq!(restored.votes, sorted_votes(above));
        assert_eq!(restored.own_items, vec![fed.item(me, 3)]);
        assert_eq!(restored.certificates, vec![dummy3.clone()]);
        assert_eq!(restored.blocks, vec![b4.clone()]);
        assert_eq!(store.finalized_height().expect("height"), Height(2));
        assert_eq!(
            store.finalized_blocks(Height(0), 10).expect("list"),
            vec![
                (genesis.clone(), None),
                (b1.clone(), None),
                (b2.clone(), Some(finalization(&b2)))
            ]
        );
    };
    check(&store);
    // Entries of final rounds that arrive late are not stored.
    store
        .commit(
            &[
                Durable::Vote(fed.vote(me, 2, VoteKind::Dummy)),
                Durable::Certificate(notarize(&b1)),
                Durable::Block(b1.clone()),
                Durable::OwnItem(fed.item(me, 2)),
            ],
            &[],
        )
        .expect("stale entries");
    check(&store);
    drop(store);
    check(&Store::open(db_path(&dir)).expect("reopen"));
}

/// The simulator's `serve`, over a chain held in memory: the reference for `finalized_chain`.
fn reference_serve(
    chain: &[(Block, Option<Certificate>)],
    from: Height,
    limit: usize,
) -> Option<FinalizedChain> {
    let start = from.0 as usize;
    if start == 0 || start >= chain.len() {
        return None;
    }
    let want_end = (start + limit).min(chain.len() - 1);
    let end = (want_end..chain.len()).find(|&i| chain[i].1.is_some())?;
    Some(FinalizedChain {
        blocks: chain[start..=end].iter().map(|(b, _)| b.clone()).collect(),
        finalization: chain[end].1.clone()?,
    })
}

#[test]
fn finalized_chain_serves_up_to_a_certified_block_at_or_after_the_cap() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let mut chain = vec![(Block::genesis(&fed.genesis), None)];
    // Batches ending at heights 3, 4, 8 and 10: only those blocks carry a certificate.
    for batch_len in [3, 1, 4, 2] {
        let mut batch = Vec::new();
        for _ in 0..batch_len {
            let parent = batch.last().unwrap_or(&chain.last().expect("genesis").0);
            let round = parent.header.round.0 + 2;
            batch.push(child(parent, round, vec![]));
        }
        let batch = finalized(&batch);
        store
            .commit(&[], std::slice::from_ref(&batch))
            .expect("commit");
        let last = batch.blocks.len() - 1;
        for (i, block) in batch.blocks.into_iter().enumerate() {
            chain.push((block, (i == last).then(|| batch.certificate.clone())));
        }
    }
    assert_eq!(store.finalized_height().expect("height"), Height(10));

    let heights = |served: &Option<FinalizedChain>| {
        served.as_ref().map(|c| {
            c.blocks
                .iter()
                .map(|b| b.header.height.0)
                .collect::<Vec<_>>()
        })
    };
    let serve = |from, limit| store.finalized_chain(Height(from), limit).expect("serve");
    assert_eq!(
        heights(&serve(0, 64)),
        None,
        "the genesis block is never served"
    );
    assert_eq!(heights(&serve(11, 64)), None, "above the tip");
    assert_eq!(heights(&serve(1, 0)), Some(vec![1, 2, 3]));
    assert_eq!(heights(&serve(1, 3)), Some(vec![1, 2, 3, 4]));
    assert_eq!(heights(&serve(2, 3)), Some((2..=8).collect()));
    assert_eq!(
        heights(&serve(9, 100)),
        Some(vec![9, 10]),
        "capped at the tip"
    );
    assert_eq!(
        serve(5, 1).map(|c| c.finalization),
        Some(finalization(&chain[8].0))
    );
    for from in 0..=12 {
        for limit in 0..=12 {
            assert_eq!(
                serve(from, limit),
                reference_serve(&chain, Height(from), limit),
                "from {from} limit {limit}"
            );
        }
    }
    assert_eq!(
        store.finalized_blocks(Height(3), 4).expect("list"),
        chain[3..7].to_vec()
    );
    assert_eq!(
        store.finalized_blocks(Height(9), 100).expect("list"),
        chain[9..].to_vec()
    );
    assert_eq!(
        store.finalized_block(Height(8)).expect("read"),
        Some(chain[8].clone())
    );
}

#[test]
fn a_batch_that_does_not_extend_the_tip_is_refused_and_nothing_is_stored() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let genesis = Block::genesis(&fed.genesis);
    let b1 = child(&genesis, 1, vec![fed.item(1, 1)]);
    store
        .commit(&[], &[finalized(std::slice::from_ref(&b1))])
        .expect("b1 extends the genesis block");
    let b2 = child(&b1, 2, vec![fed.item(1, 2)]);
    let b3 = child(&b2, 3, vec![]);
    let on_genesis = child(&genesis, 2, vec![]);
    let mut wrong_height = b2.clone();
    wrong_height.header.height = Height(5);
    let mut same_round = child(&b1, 1, vec![]);
    same_round.header.timestamp_ms = 99;
    let mut wrong_certificate = finalized(&[b2.clone(), b3.clone()]);
    wrong_certificate.certificate = finalization(&b2);
    let mut notarization = finalized(std::slice::from_ref(&b2));
    notarization.certificate.kind = VoteKind::Notarize(b2.hash());
    let empty = Finalized {
        blocks: Vec::new(),
        certificate: finalization(&b2),
    };

    let refused: Vec<(&str, Vec<Finalized>)> = vec![
        ("a gap", vec![finalized(std::slice::from_ref(&b3))]),
        ("a fork", vec![finalized(std::slice::from_ref(&on_genesis))]),
        ("a replay", vec![finalized(std::slice::from_ref(&b1))]),
        ("a wrong height", vec![finalized(&[wrong_height])]),
        ("no higher round", vec![finalized(&[same_round])]),
        ("a broken batch", vec![finalized(&[b3.clone(), b2.clone()])]),
        (
            "a good batch, then a bad one",
            vec![
                finalized(std::slice::from_ref(&b2)),
                finalized(std::slice::from_ref(&b2)),
            ],
        ),
        ("a certificate for another block", vec![wrong_certificate]),
        ("a notarization", vec![notarization]),
        ("an empty batch", vec![empty]),
    ];
    let persist = [
        Durable::Vote(fed.vote(0, 5, VoteKind::Dummy)),
        Durable::OwnItem(fed.item(0, 1)),
    ];
    for (what, batches) in refused {
        let error = store.commit(&persist, &batches).expect_err(what);
        assert!(
            matches!(
                error,
                StoreError::NotExtending { .. } | StoreError::BadFinalization { .. }
            ),
            "{what}: {error}"
        );
        assert!(
            error
                .to_string()
                .contains("nothing of this commit was stored")
        );
        assert_eq!(
            store.finalized_height().expect("height"),
            Height(1),
            "{what}"
        );
        let restored = store.restored().expect("restored");
        assert_eq!(restored.finalized_tip, b1, "{what}");
        assert!(
            restored.votes.is_empty() && restored.own_items.is_empty(),
            "{what}"
        );
        assert_eq!(
            restored.finalized_nonces,
            BTreeMap::from([(fed.secrets[1].peer_id(), 1)]),
            "{what}"
        );
    }
    store
        .commit(&persist, &[finalized(&[b2, b3])])
        .expect("the right batch is still accepted");
    assert_eq!(store.finalized_height().expect("height"), Height(3));
}

#[test]
fn a_conflicting_own_vote_item_or_certificate_is_refused() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let genesis = Block::genesis(&fed.genesis);
    let a = child(&genesis, 1, vec![]);
    let mut b = a.clone();
    b.header.timestamp_ms += 1;
    let notarize = |block: &Block| {
        Certificate::from_signatures(Round(1), VoteKind::Notarize(block.hash()), 4, [])
    };
    store
        .commit(
            &[
                Durable::Vote(fed.vote(0, 1, VoteKind::Notarize(a.hash()))),
                Durable::OwnItem(fed.item(0, 1)),
                Durable::Certificate(notarize(&a)),
            ],
            &[],
        )
        .expect("commit");
    let mut other_signers = notarize(&a);
    other_signers.signers = vec![0b111];
    store
        .commit(&[Durable::Certificate(other_signers)], &[])
        .expect("another quorum for the same vote is not a conflict");

    let mut other_item = fed.item(0, 1);
    other_item.entries[0].data = b"other".to_vec();
    let conflicts = [
        Durable::Vote(fed.vote(0, 1, VoteKind::Notarize(b.hash()))),
        Durable::OwnItem(other_item),
        Durable::Certificate(notarize(&b)),
    ];
    for conflict in conflicts {
        let error = store
            .commit(
                &[Durable::Vote(fed.vote(0, 7, VoteKind::Dummy)), conflict],
                &[],
            )
            .expect_err("a conflict");
        assert!(matches!(error, StoreError::Conflict { .. }), "{error}");
        let restored = store.restored().expect("restored");
        assert_eq!(
            restored.votes,
            vec![fed.vote(0, 1, VoteKind::Notarize(a.hash()))]
        );
        assert_eq!(restored.own_items, vec![fed.item(0, 1)]);
        assert_eq!(restored.certificates, vec![notarize(&a)]);
    }
}

fn assert_open_fails(path: &Path, want: fn(&StoreError) -> bool, words: &str) {
    let error = Store::open(path).expect_err("the open fails");
    assert!(want(&error), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(words), "{message}");
}

#[test]
fn missing_garbage_empty_and_foreign_files_are_typed_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("not-there.redb");
    assert_open_fails(
        &path,
        |e| matches!(e, StoreError::Missing { .. }),
        "no such",
    );

    let garbage = dir.path().join("garbage.redb");
    let bytes: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, bytes).expect("write");
    assert_open_fails(
        &garbage,
        |e| matches!(e, StoreError::NotADatabase { .. }),
        "not a BFTE database",
    );
    std::fs::write(&garbage, "[node]\nlisten = 1\n").expect("write");
    assert_open_fails(
        &garbage,
        |e| matches!(e, StoreError::NotADatabase { .. }),
        "not a BFTE database",
    );

    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, b"").expect("write");
    assert_open_fails(
        &empty,
        |e| matches!(e, StoreError::NotADatabase { .. }),
        "not a BFTE database",
    );

    let foreign = dir.path().join("foreign.redb");
    {
        let db = redb::Database::create(&foreign).expect("a redb database");
        let txn = db.begin_write().expect("write");
        {
            let other: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("accounts");
            let mut table = txn.open_table(other).expect("table");
            table.insert(1, 2).expect("insert");
        }
        txn.commit().expect("commit");
    }
    assert_open_fails(
        &foreign,
        |e| matches!(e, StoreError::NotBfte { .. }),
        "not a BFTE database",
    );

    let wrong_meta = dir.path().join("wrong-meta.redb");
    {
        let db = redb::Database::create(&wrong_meta).expect("a redb database");
        let txn = db.begin_write().expect("write");
        {
            let meta: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("meta");
            txn.open_table(meta).expect("table");
        }
        txn.commit().expect("commit");
    }
    assert_open_fails(
        &wrong_meta,
        |e| matches!(e, StoreError::NotBfte { .. }),
        "not a BFTE database",
    );
}

/// Writes `value` under `key` in `meta` behind the store's back.
fn poke_meta(path: &Path, key: &str, value: &[u8]) {
    let db = redb::Database::open(path).expect("open");
    let txn = db.begin_write().expect("write");
    txn.open_table(tables::META)
        .expect("meta")
        .insert(key, value)
        .expect("insert");
    txn.commit().expect("commit");
}

#[test]
fn a_newer_schema_is_refused_and_an_open_database_is_in_use() {
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let path = db_path(&dir);
    assert_open_fails(&path, |e| matches!(e, StoreError::InUse { .. }), "in use");
    drop(store);

    let newer = bfte_shared::codec::encode(&(SCHEMA_VERSION + 1));
    poke_meta(&path, tables::SCHEMA_VERSION_KEY, &newer);
    assert_open_fails(
        &path,
        |e| {
            matches!(e, StoreError::NewerSchema { found, supported, .. }
                if *found == SCHEMA_VERSION + 1 && *supported == SCHEMA_VERSION)
        },
        "created by a newer bfte",
    );

    poke_meta(&path, tables::SCHEMA_VERSION_KEY, b"\xff\xff");
    assert_open_fails(
        &path,
        |e| matches!(e, StoreError::Corrupt { table: "meta", .. }),
        "damaged",
    );
}

#[test]
fn migrations_cover_every_readable_version_below_the_current_one() {
    assert_eq!(MIGRATIONS.len() as u64, SCHEMA_VERSION - OLDEST_READABLE);
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        assert_eq!(
            migration.from,
            OLDEST_READABLE + i as u64,
            "{}",
            migration.what
        );
    }
}

/// A schema-2 database (finalized blocks in their wire encoding) opens migrated: the same
/// chain, now read from rows, over more entries than one pass of the migration rewrites.
#[test]
fn a_schema_2_database_opens_with_its_finalized_blocks_as_rows() {
    #[derive(serde::Serialize)]
    struct EntryV2<'a> {
        block: &'a Block,
        certificate: Option<&'a Certificate>,
    }
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let path = db_path(&dir);
    let mut blocks = vec![Block::genesis(&store.genesis)];
    for round in 1..=1100 {
        let items = vec![fed.item(round as usize % 4, round)];
        blocks.push(child(blocks.last().expect("a parent"), round, items));
    }
    store
        .commit(
            &[],
            &[finalized(&blocks[1..600]), finalized(&blocks[600..])],
        )
        .expect("commit");
    let chain = store.finalized_blocks(Height(0), 2000).expect("chain");
    assert_eq!(chain.len(), 1101);
    drop(store);
    {
        let db = redb::Database::open(&path).expect("open");
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(tables::FINALIZED).expect("finalized");
            for (height, (block, certificate)) in chain.iter().enumerate() {
                let v2 = bfte_shared::codec::encode(&EntryV2 {
                    block,
                    certificate: certificate.as_ref(),
                });
                table.insert(height as u64, v2.as_slice()).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }
    poke_meta(
        &path,
        tables::SCHEMA_VERSION_KEY,
        &bfte_shared::codec::encode(&2u64),
    );
    assert!(
        Store::open(&path).is_ok(),
        "a schema-2 database opens (its rows are migrated)"
    );
    let store = Store::open(&path).expect("open again: nothing left to migrate");
    assert_eq!(
        store.finalized_blocks(Height(0), 2000).expect("chain"),
        chain
    );
    drop(store);
    let db = redb::ReadOnlyDatabase::open(&path).expect("read-only");
    let txn = redb::ReadableDatabase::begin_read(&db).expect("read");
    let meta = txn.open_table(tables::META).expect("meta");
    assert_eq!(
        super::migrations::schema_version(&path, &meta).expect("version"),
        SCHEMA_VERSION
    );
}

/// A database of schema 1 holds items signed one entry each: refused with what to do, not
/// misread.
#[test]
fn a_database_of_single_entry_items_is_refused_with_what_to_do() {
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let path = db_path(&dir);
    drop(store);
    poke_meta(
        &path,
        tables::SCHEMA_VERSION_KEY,
        &bfte_shared::codec::encode(&1u64),
    );
    assert_open_fails(
        &path,
        |e| {
            matches!(
                e,
                StoreError::OlderSchema {
                    found: 1,
                    oldest: 2,
                    ..
                }
            )
        },
        "new data directory",
    );
}

#[test]
fn a_corrupt_value_is_an_error_naming_the_table() {
    let fed = federation(4);
    let (dir, store) = new_store(&fed);
    let path = db_path(&dir);
    store
        .commit(&[Durable::Vote(fed.vote(0, 3, VoteKind::Dummy))], &[])
        .expect("commit");
    drop(store);
    {
        let db = redb::Database::open(&path).expect("open");
        let txn = db.begin_write().expect("write");
        txn.open_table(tables::OWN_VOTES)
            .expect("own_votes")
            .insert((4, 1), b"\x82\x01".as_slice())
            .expect("insert");
        txn.commit().expect("commit");
    }
    let store = Store::open(&path).expect("open: the meta table is fine");
    let error = store.restored().expect_err("a vote does not decode");
    assert!(
        matches!(
            error,
            StoreError::Corrupt {
                table: "own_votes",
                ..
            }
        ),
        "{error}"
    );
    let error = store
        .commit(&[Durable::Vote(fed.vote(0, 4, VoteKind::Dummy))], &[])
        .expect_err("the stored vote does not decode");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    // The finalized chain is still readable.
    assert_eq!(store.finalized_height().expect("height"), Height(0));
}

/// One of four peers: its core, its store, and an in-memory model of what the store must hold,
/// built like the simulator's `Disk` from the same outputs.
struct Peer {
    core: Core,
    store: Store,
    model: Model,
}

#[derive(Default)]
struct Model {
    votes: Vec<Vote>,
    own_items: Vec<ConsensusItem>,
    certificates: Vec<Certificate>,
    blocks: Vec<Block>,
    chain: Vec<(Block, Option<Certificate>)>,
    nonces: BTreeMap<PeerId, u64>,
}

impl Model {
    fn apply(&mut self, output: &Output) {
        for durable in &output.persist {
            match durable {
                Durable::Vote(v) => self.votes.push(v.clone()),
                Durable::OwnItem(i) => self.own_items.push(i.clone()),
                Durable::Certificate(c) => self.certificates.push(c.clone()),
                Durable::Block(b) => self.blocks.push(b.clone()),
            }
        }
        for batch in &output.finalized {
            let last = batch.blocks.len() - 1;
            for (i, block) in batch.blocks.iter().enumerate() {
                for item in &block.payload.items {
                    let nonce = self.nonces.entry(item.author).or_insert(0);
                    *nonce = (*nonce).max(item.nonce);
                }
                let certificate = (i == last).then(|| batch.certificate.clone());
                self.chain.push((block.clone(), certificate));
            }
        }
    }

    /// Checks `store` holds what this model says a restart needs.
    fn check(&self, store: &Store) {
        let restored = store.restored().expect("restored");
        let tip = &self.chain.last().expect("the genesis block").0;
        let tip_round = tip.header.round;
        assert_eq!(&restored.finalized_tip, tip);
        assert_eq!(restored.finalized_nonces, self.nonces);
        let votes: Vec<Vote> = self
            .votes
            .iter()
            .filter(|v| v.round > tip_round)
            .cloned()
            .collect();
        assert_eq!(restored.votes, sorted_votes(votes));
        let mut items: Vec<ConsensusItem> = self
            .own_items
            .iter()
            .filter(|i| self.nonces.get(&i.author).is_none_or(|n| i.nonce > *n))
            .cloned()
            .collect();
        items.sort_by_key(|i| i.nonce);
        items.dedup();
        assert_eq!(restored.own_items, items);
        // The store keeps the first certificate of each vote.
        let mut certificates: BTreeMap<(Round, u8), Certificate> = BTreeMap::new();
        for c in self.certificates.iter().filter(|c| c.round > tip_round) {
            certificates
                .entry((c.round, kind_code(c.kind)))
                .or_insert_with(|| c.clone());
        }
        assert_eq!(
            restored.certificates,
            certificates.into_values().collect::<Vec<_>>()
        );
        let mut blocks: Vec<Block> = self
            .blocks
            .iter()
            .filter(|b| b.header.round > tip_round)
            .cloned()
            .collect();
        blocks.sort_by_key(|b| (b.header.round, b.hash()));
        blocks.dedup();
        assert_eq!(restored.blocks, blocks);
        let height = store.finalized_height().expect("height");
        assert_eq!(height.0 as usize + 1, self.chain.len());
        let stored = store
            .finalized_blocks(Height(0), self.chain.len() + 1)
            .expect("list");
        assert_eq!(stored, self.chain);
    }
}

struct Cluster {
    fed: Federation,
    dir: tempfile::TempDir,
    peers: Vec<Peer>,
    bus: VecDeque<(usize, usize, Message)>,
    timers: Vec<BTreeMap<Timer, u64>>,
    now: u64,
    /// Items submitted at all peers together.
    submitted: usize,
}

impl Cluster {
    fn start(fed: Federation) -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cluster = Cluster {
            peers: Vec::new(),
            bus: VecDeque::new(),
            timers: vec![BTreeMap::new(); fed.secrets.len()],
            now: 0,
            submitted: 0,
            fed,
            dir,
        };
        for peer in 0..cluster.fed.secrets.len() {
            let store = Store::create(cluster.path(peer), &cluster.fed.genesis).expect("create");
            let (core, output) = cluster.start_core(peer, &store);
            let mut model = Model::default();
            model
                .chain
                .push((Block::genesis(&cluster.fed.genesis), None));
            cluster.peers.push(Peer { core, store, model });
            cluster.apply(peer, output);
        }
        cluster
    }

    fn path(&self, peer: usize) -> PathBuf {
        self.dir.path().join(format!("peer-{peer}.redb"))
    }

    fn start_core(&self, peer: usize, store: &Store) -> (Core, Output) {
        let config = CoreConfig::new(
            store.genesis(),
            Arc::new(self.fed.secrets[peer].clone()),
            Arc::new(Ed25519Verifier),
        );
        let restored = store.restored().expect("restored");
        Core::start(config, restored, self.now).expect("a member starts")
    }

    /// What a node does with an output: commit, then serve, timers and sends.
    fn apply(&mut self, peer: usize, output: Output) {
        let node = &mut self.peers[peer];
        node.store
            .commit(&output.persist, &output.finalized)
            .expect("commit");
        node.model.apply(&output);
        node.model.check(&node.store);
        for (to, from_height) in &output.serve_finalized {
            let served = self.peers[peer]
                .store
                .finalized_chain(*from_height, 64)
                .expect("serve");
            if let Some(chain) = served {
                let to = self.index_of(*to);
                self.bus.push_back((peer, to, Message::Finalized(chain)));
            }
        }
        for (timer, at) in output.timers {
            self.timers[peer].insert(timer, at);
        }
        for (to, message) in output.send {
            match to {
                Destination::AllPeers => {
                    for other in (0..self.peers.len()).filter(|&p| p != peer) {
                        self.bus.push_back((peer, other, message.clone()));
                    }
                }
                Destination::Peer(id) => {
                    let to = self.index_of(id);
                    self.bus.push_back((peer, to, message));
                }
            }
        }
    }

    fn index_of(&self, id: PeerId) -> usize {
        self.fed
            .secrets
            .iter()
            .position(|s| s.peer_id() == id)
            .expect("a member")
    }

    /// Delivers one message, or with none in flight fires the earliest timer.
    fn step(&mut self) {
        if let Some((from, to, message)) = self.bus.pop_front() {
            self.now += 1;
            let from = self.fed.secrets[from].peer_id();
            let output = self.peers[to]
                .core
                .handle(self.now, Input::Message { from, message });
            self.apply(to, output);
            return;
        }
        let next = (0..self.peers.len())
            .flat_map(|p| self.timers[p].iter().map(move |(t, at)| (*at, p, *t)))
            .min();
        let Some((at, peer, timer)) = next else {
            // Idle: every item is final. Give the cluster more work.
            let peer = self.submitted % self.peers.len();
            self.submit(peer, format!("idle {}", self.submitted).as_bytes());
            return;
        };
        self.timers[peer].remove(&timer);
        self.now = self.now.max(at);
        let output = self.peers[peer].core.handle(self.now, Input::Timer(timer));
        self.apply(peer, output);
    }

    fn submit(&mut self, peer: usize, data: &[u8]) {
        self.now += 1;
        self.submitted += 1;
        let input = Input::Submit {
            entries: vec![Entry {
                module: ModuleId(0),
                data: data.to_vec(),
            }],
        };
        let output = self.peers[peer].core.handle(self.now, input);
        self.apply(peer, output);
    }

    fn run_until(&mut self, what: &str, done: impl Fn(&Cluster) -> bool) {
        for _ in 0..100_000 {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("no progress: {what}");
    }

    fn run_until_all_final(&mut self, height: u64) {
        self.run_until(&format!("height {height} everywhere"), |c| {
            c.peers
                .iter()
                .all(|p| p.core.finalized_height().0 >= height)
        });
    }

    /// Drops the peer's core and store, as a crash would, and starts it again from the file.
    fn restart(&mut self, peer: usize) {
        let old = self.peers.remove(peer);
        let model = old.model;
        drop(old.core);
        drop(old.store);
        self.timers[peer].clear();
        self.bus.retain(|(_, to, _)| *to != peer);
        let store = Store::open(self.path(peer)).expect("reopen");
        let (core, output) = self.start_core(peer, &store);
        model.check(&store);
        self.peers.insert(peer, Peer { core, store, model });
        self.apply(peer, output);
    }
}

#[test]
fn four_real_cores_commit_restore_and_restart_from_their_stores() {
    let mut cluster = Cluster::start(federation(4));
    for (i, peer) in [0, 1, 2, 3, 1, 2].into_iter().enumerate() {
        cluster.submit(peer, format!("item {i}").as_bytes());
    }
    cluster.run_until_all_final(2);
    // Crash peers while rounds are in flight, with votes, certificates and blocks above the tip
    // on disk; last the whole federation at once, which only the persisted certificates and
    // blocks let continue.
    let above_tip = |c: &Cluster, peer: usize| {
        let restored = c.peers[peer].store.restored().expect("restored");
        !restored.votes.is_empty() && !restored.certificates.is_empty()
    };
    for (i, peer) in [3, 0, 1, 2].into_iter().enumerate() {
        cluster.submit(peer, format!("more {i}").as_bytes());
    }
    cluster.run_until("peer 1 has state above its tip", |c| above_tip(c, 1));
    cluster.restart(1);
    cluster.run_until("peer 3 has state above its tip", |c| above_tip(c, 3));
    cluster.restart(3);
    cluster.run_until_all_final(4);
    cluster.submit(0, b"before the federation-wide crash");
    cluster.run_until("peer 0 has state above its tip", |c| above_tip(c, 0));
    cluster.bus.clear();
    for peer in 0..4 {
        cluster.restart(peer);
    }
    let height = cluster.peers[0].core.finalized_height().0;
    cluster.run_until_all_final(height + 3);

    let tip = cluster.peers[0].store.finalized_height().expect("height");
    let common = cluster
        .peers
        .iter()
        .map(|p| p.store.finalized_height().expect("height"))
        .min()
        .expect("peers");
    assert!(common.0 >= 5, "{common:?} {tip:?}");
    let reference = cluster.peers[0]
        .store
        .finalized_blocks(Height(0), common.0 as usize + 1)
        .expect("list");
    for peer in &cluster.peers {
        let blocks = peer
            .store
            .finalized_blocks(Height(0), common.0 as usize + 1)
            .expect("list");
        let hashes = |list: &[(Block, Option<Certificate>)]| {
            list.iter().map(|(b, _)| b.hash()).collect::<Vec<_>>()
        };
        assert_eq!(
            hashes(&blocks),
            hashes(&reference),
            "the same chain everywhere"
        );
        let items: usize = blocks.iter().map(|(b, _)| b.payload.items.len()).sum();
        assert!(items > 0);
        let chain = peer
            .store
            .finalized_chain(Height(1), 64)
            .expect("serve")
            .expect("something to serve");
        assert_eq!(chain.blocks[0].header.height, Height(1));
        assert_eq!(
            chain.finalization.kind,
            VoteKind::Finalize(chain.blocks.last().expect("blocks").hash())
        );
    }
    // Every submitted item becomes final at every peer, and no own item is left.
    cluster.run_until("every item final everywhere", |c| {
        c.peers.iter().all(|p| {
            let nonces = p.store.restored().expect("restored").finalized_nonces;
            nonces.values().sum::<u64>() == c.submitted as u64
        })
    });
    for peer in &cluster.peers {
        let restored = peer.store.restored().expect("restored");
        assert!(restored.own_items.is_empty(), "{:?}", restored.own_items);
        assert_eq!(
            restored.finalized_nonces.values().sum::<u64>(),
            cluster.submitted as u64
        );
    }
}

#[test]
fn the_seen_vote_trail_finds_validly_signed_conflicts_and_ignores_forgeries() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let (a, b) = (Hash::tagged(b"test", b"a"), Hash::tagged(b"test", b"b"));
    let mut forged = fed.vote(2, 5, VoteKind::Notarize(b));
    forged.signature = fed.vote(2, 5, VoteKind::Notarize(a)).signature;
    let first = vec![
        fed.vote(1, 4, VoteKind::Notarize(a)),
        fed.vote(1, 4, VoteKind::Dummy),
        fed.vote(2, 5, VoteKind::Notarize(a)),
        forged,
        fed.vote(3, 6, VoteKind::Dummy),
    ];
    store.record_seen_votes(&first).expect("record");
    let verifier = Ed25519Verifier;
    let domains = [store.genesis().federation_id()];
    // Notarize then dummy is allowed; the forged second notarize does not count.
    let audit = store.audit_seen_votes(&verifier, &domains).expect("audit");
    assert_eq!(audit.conflicts, []);
    let valid: Vec<usize> = audit.valid_votes.values().copied().collect();
    assert_eq!(valid, [2, 1, 1], "the forgery is not counted");

    // Recorded again (a resend) changes nothing; a finalize after the dummy is a conflict.
    let finalize = fed.vote(3, 6, VoteKind::Finalize(a));
    store.record_seen_votes(&first).expect("record");
    store
        .record_seen_votes(std::slice::from_ref(&finalize))
        .expect("record");
    let conflicts = store
        .audit_seen_votes(&verifier, &domains)
        .expect("audit")
        .conflicts;
    assert_eq!(conflicts, [(fed.vote(3, 6, VoteKind::Dummy), finalize)]);

    // Far newer votes prune the old rounds.
    let far = super::SEEN_VOTE_ROUNDS + 10;
    store
        .record_seen_votes(&[
            fed.vote(0, far, VoteKind::Notarize(a)),
            fed.vote(0, far, VoteKind::Notarize(b)),
        ])
        .expect("record");
    let conflicts = store
        .audit_seen_votes(&verifier, &domains)
        .expect("audit")
        .conflicts;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].0.round, Round(far));
}
