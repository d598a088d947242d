//! The epoch switch: the chain ends at the epoch's start block, what the old epoch finalized
//! above it is kept only as its end proof, nonces and own items roll back, the old round state
//! goes, serving never crosses the boundary, and doing it again (after a crash) changes nothing.

use bfte_shared::block::Block;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::round::Height;
use bfte_shared::vote::VoteKind;

use super::fixtures::{Federation, child, federation, finalization, new_store};
use super::{Store, StoreError};
use bfte_consensus::{Durable, Finalized};

/// Genesis, then blocks 1..=5 in rounds 1..=5, finalized in two batches (certificates on 2 and
/// 5); peer 0 authored the items in blocks 3 and 4 (nonces 1, 2), peer 1 one in block 4.
fn chain(fed: &Federation, store: &Store) -> Vec<Block> {
    let genesis = store
        .finalized_block(Height(0))
        .expect("read")
        .expect("genesis")
        .0;
    let mut blocks = vec![genesis];
    for round in 1..=5u64 {
        let items = match round {
            3 => vec![fed.item(0, 1)],
            4 => vec![fed.item(0, 2), fed.item(1, 1)],
            _ => Vec::new(),
        };
        let block = child(blocks.last().expect("parent"), round, items);
        blocks.push(block);
    }
    let batch = |range: std::ops::RangeInclusive<usize>| {
        let blocks: Vec<Block> = blocks[range].to_vec();
        Finalized {
            certificate: finalization(blocks.last().expect("last")),
            blocks,
        }
    };
    let own: Vec<Durable> = [1, 2]
        .iter()
        .map(|&n| Durable::OwnItem(fed.item(0, n)))
        .collect();
    store.commit(&own, &[batch(1..=2)]).expect("first batch");
    store.commit(&[], &[batch(3..=5)]).expect("second batch");
    blocks
}

fn epoch_from(fed: &Federation, block: &Block) -> EpochConfig {
    let mut epoch = EpochConfig::genesis(&fed.genesis, Vec::new());
    epoch.number = 1;
    epoch.start_height = block.header.height;
    epoch.start_block = block.hash();
    epoch
}

#[test]
fn switching_ends_the_chain_at_the_start_block_and_keeps_the_old_epochs_end_proof() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let blocks = chain(&fed, &store);
    // Round state of the old epoch above the tip, which must not survive the switch.
    let vote = fed.vote(0, 9, VoteKind::Dummy);
    store.commit(&[Durable::Vote(vote)], &[]).expect("vote");
    let me = fed.secrets[0].peer_id();

    let epoch = epoch_from(&fed, &blocks[3]);
    store.switch_epoch(&epoch, &me).expect("switch");
    assert_eq!(store.epoch_number().expect("epoch"), 1);
    assert_eq!(store.finalized_height().expect("height"), Height(3));
    let restored = store.restored().expect("restored");
    assert_eq!(restored.finalized_tip, blocks[3]);
    assert!(restored.votes.is_empty(), "the old epoch's votes are gone");
    // Block 4 never counted: peer 0 is back at nonce 1 with its item 2 pending again, and
    // peer 1 at no finalized item.
    assert_eq!(restored.finalized_nonces.get(&me), Some(&1));
    assert_eq!(
        restored.finalized_nonces.get(&fed.secrets[1].peer_id()),
        None
    );
    let pending: Vec<u64> = restored.own_items.iter().map(|i| i.nonce).collect();
    assert_eq!(pending, [2]);

    // A peer still in the old epoch is served up to the boundary with the proof: blocks 4
    // and 5 of the old epoch and the certificate of 5.
    let served = store
        .finalized_chain(Height(1), 64)
        .expect("serve")
        .expect("a chain");
    let heights: Vec<u64> = served.blocks.iter().map(|b| b.header.height.0).collect();
    assert_eq!(heights, [1, 2, 3, 4, 5]);
    assert_eq!(served.finalization, finalization(&blocks[5]));
    // One that asks within the first batch's cap gets the certified block 2 as before.
    let served = store
        .finalized_chain(Height(1), 1)
        .expect("serve")
        .expect("a chain");
    assert_eq!(served.blocks.len(), 2);

    // The new epoch's blocks extend the start block; an answer from above the boundary is
    // the new epoch's alone.
    let next = child(&blocks[3], 7, Vec::new());
    let batch = Finalized {
        certificate: finalization(&next),
        blocks: vec![next.clone()],
    };
    store.commit(&[], &[batch]).expect("new epoch block");
    let served = store
        .finalized_chain(Height(4), 64)
        .expect("serve")
        .expect("a chain");
    assert_eq!(served.blocks, vec![next]);

    // Again, as after a crash between the ledger and the store: nothing changes.
    store.switch_epoch(&epoch, &me).expect("again");
    assert_eq!(store.finalized_height().expect("height"), Height(4));
}

#[test]
fn an_epoch_that_starts_from_a_block_not_in_the_chain_is_refused() {
    let fed = federation(4);
    let (_dir, store) = new_store(&fed);
    let blocks = chain(&fed, &store);
    let me = fed.secrets[0].peer_id();
    let stranger = child(&blocks[2], 11, Vec::new());
    let error = store
        .switch_epoch(&epoch_from(&fed, &stranger), &me)
        .expect_err("not our chain");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(
        error.to_string().contains("epoch 1 starts from block"),
        "{error}"
    );
    assert_eq!(store.finalized_height().expect("height"), Height(5));
    assert_eq!(store.epoch_number().expect("epoch"), 0);
}
