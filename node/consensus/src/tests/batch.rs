//! Items as batches: many entries under one signature and one nonce.

use bfte_shared::block::Payload;
use bfte_shared::item::ConsensusItem;

use super::*;

fn entries(count: usize) -> Vec<Entry> {
    (0..count)
        .map(|i| Entry {
            module: ModuleId(0),
            data: format!("entry {i}").into_bytes(),
        })
        .collect()
}

fn own_items(output: &Output) -> Vec<ConsensusItem> {
    output
        .persist
        .iter()
        .filter_map(|d| match d {
            Durable::OwnItem(item) => Some(item.clone()),
            _ => None,
        })
        .collect()
}

fn gossiped(item: ConsensusItem, from: PeerId) -> Input {
    Input::Message {
        from,
        message: Message::Item(item),
    }
}

#[test]
fn many_entries_are_one_item_under_one_nonce_and_one_is_a_batch_of_one() {
    let fed = federation(4);
    let mut author = fed.fresh(0);
    let output = author.handle(
        0,
        Input::Submit {
            entries: entries(3),
        },
    );
    let items = own_items(&output);
    assert_eq!(items.len(), 1, "one signed item for the batch");
    assert_eq!(items[0].nonce, 1);
    assert_eq!(
        items[0].entries,
        entries(3),
        "the entries in submission order"
    );
    let sent: Vec<_> = output
        .send
        .iter()
        .filter(|(_, m)| matches!(m, Message::Item(_)))
        .collect();
    assert_eq!(sent.len(), 1, "gossiped as one item");
    assert_eq!(author.pending_items(), 3, "the pool counts entries");

    let single = own_items(&author.handle(0, submit(b"alone".to_vec())));
    assert_eq!(single.len(), 1);
    assert_eq!((single[0].nonce, single[0].entries.len()), (2, 1));

    let mut receiver = fed.fresh(1);
    receiver.handle(0, gossiped(items[0].clone(), fed.id(0)));
    receiver.handle(0, gossiped(single[0].clone(), fed.id(0)));
    assert_eq!(receiver.pending_items(), 4);
}

#[test]
fn a_tampered_or_reordered_entry_breaks_the_batch_signature() {
    let fed = federation(4);
    let mut author = fed.fresh(0);
    let item = own_items(&author.handle(
        0,
        Input::Submit {
            entries: entries(3),
        },
    ))
    .pop()
    .expect("an item");
    let mut receiver = fed.fresh(1);
    let mut tampered = item.clone();
    tampered.entries[2].data = b"changed".to_vec();
    receiver.handle(0, gossiped(tampered, fed.id(0)));
    let mut reordered = item.clone();
    reordered.entries.swap(0, 1);
    receiver.handle(0, gossiped(reordered, fed.id(0)));
    let mut shortened = item.clone();
    shortened.entries.pop();
    receiver.handle(0, gossiped(shortened, fed.id(0)));
    assert_eq!(
        receiver.pending_items(),
        0,
        "none of the altered batches is pooled"
    );
    receiver.handle(0, gossiped(item, fed.id(0)));
    assert_eq!(receiver.pending_items(), 3, "the genuine one is");
}

#[test]
fn a_block_that_replays_a_batch_nonce_gets_no_vote() {
    let fed = federation(4);
    let leader = fed.index_of(fed.fresh(0).leader(Round(1)));
    let mut core = fed.fresh(leader);
    let output = core.handle(
        1,
        Input::Submit {
            entries: entries(5),
        },
    );
    let proposal = proposals(&output).pop().expect("the leader proposes");
    let item = proposal.block.payload.items[0].clone();
    assert_eq!(proposal.block.payload.items.len(), 1);

    let replayed = |payload: Payload| {
        let mut block = proposal.block.clone();
        block.header.payload_hash = payload.hash();
        block.payload = payload;
        Proposal::new(&fed.genesis.federation_id(), &fed.secrets[leader], block)
    };
    let voter = (leader + 1) % 4;
    let mut other = fed.fresh(voter);
    let twice = replayed(Payload {
        items: vec![item.clone(), item.clone()],
    });
    let output = other.handle(
        2,
        Input::Message {
            from: fed.id(leader),
            message: Message::Proposal(twice),
        },
    );
    assert!(votes(&output).is_empty(), "the batch's nonce came twice");

    let mut fresh = fed.fresh(voter);
    let output = fresh.handle(
        2,
        Input::Message {
            from: fed.id(leader),
            message: Message::Proposal(proposal),
        },
    );
    assert_eq!(
        votes(&output).len(),
        1,
        "the block with the batch once is fine"
    );
}

#[test]
fn entries_beyond_a_block_go_into_the_next_item_and_an_oversized_entry_alone_is_refused() {
    let fed = federation(4);
    let limit = fed.genesis.params.max_block_items as usize;
    let mut author = fed.fresh(0);
    let items = own_items(&author.handle(
        0,
        Input::Submit {
            entries: entries(limit + 1),
        },
    ));
    assert_eq!(
        items
            .iter()
            .map(|i| (i.nonce, i.entries.len()))
            .collect::<Vec<_>>(),
        vec![(1, limit), (2, 1)],
        "no item carries more entries than a block may"
    );

    let huge = Entry {
        module: ModuleId(0),
        data: vec![0; fed.genesis.params.max_block_bytes as usize],
    };
    let mut mixed = entries(2);
    mixed.insert(1, huge);
    let items = own_items(&author.handle(0, Input::Submit { entries: mixed }));
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].entries,
        entries(2),
        "the others are signed, in order"
    );
}
