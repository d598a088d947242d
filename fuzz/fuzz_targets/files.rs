//! What a node reads back from disk or is handed as text: invite codes, the genesis, the
//! node files' JSON, peer ids, hashes and signatures as text, history segments, the values
//! of its database tables and its commit journal. The first byte picks the decoder.

#![no_main]

use bfte_consensus::{Durable, Finalized};
use bfte_fuzz::canonical::{json_round_trip, round_trip};
use bfte_fuzz::node_types::finalized_row::FinalizedEntry;
use bfte_fuzz::node_types::journal_frame::{frame, whole_records};
use bfte_fuzz::node_types::journal_record::{EntryRef, Record, RecordRef, batch_ref, finalized};
use bfte_fuzz::node_types::segment::{Segment, record_limit};
use bfte_fuzz::pick::{self, files};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ConsensusItem;
use bfte_shared::join::{Invite, PendingJoin};
use bfte_shared::ledger::BlockOutcome;
use bfte_shared::message::MAX_MESSAGE_BYTES;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::vote::Vote;
use libfuzzer_sys::fuzz_target;

/// The store's value limit (`node/src/store/codec.rs`).
const MAX_VALUE_BYTES: usize = 2 * MAX_MESSAGE_BYTES;

fuzz_target!(|data: &[u8]| {
    let Some((choice, bytes)) = pick::split(data, files::CHOICES) else {
        return;
    };
    match choice {
        files::INVITE => invite(bytes),
        files::GENESIS => {
            if let Some(genesis) = round_trip::<Genesis>(bytes, MAX_VALUE_BYTES) {
                // A decoded genesis makes the first block.
                assert!(Block::genesis(&genesis).payload_matches());
            }
        }
        files::GENESIS_JSON => {
            // The genesis file: parameters and a peer list that must form a valid set.
            if let Some((_, peers)) = json_round_trip::<(ConsensusParams, Vec<PeerId>)>(bytes)
                && let Ok(set) = PeerSet::new(peers)
            {
                assert!(set.quorum() <= set.len() && set.max_faulty() < set.len());
            }
        }
        files::TEXT => text_parses(bytes),
        files::SEGMENT => {
            let peers = usize::from(bytes.first().copied().unwrap_or(4) % 16) + 1;
            let params = ConsensusParams::default();
            let bytes = bytes.get(1..).unwrap_or_default();
            if let Ok(segment) = Segment::decode(bytes, peers, &params) {
                assert!(bytes.len() <= record_limit(peers, &params));
                round_trip::<Segment>(&segment.encode(), usize::MAX);
            }
        }
        // The store's tables.
        files::VOTE => {
            round_trip::<Vote>(bytes, MAX_VALUE_BYTES);
        }
        files::ITEM => {
            round_trip::<ConsensusItem>(bytes, MAX_VALUE_BYTES);
        }
        files::CERTIFICATE => {
            round_trip::<Certificate>(bytes, MAX_VALUE_BYTES);
        }
        files::BLOCK => {
            round_trip::<Block>(bytes, MAX_VALUE_BYTES);
        }
        files::FINALIZED_ENTRY => {
            let decoded = round_trip::<FinalizedEntry>(bytes, MAX_VALUE_BYTES);
            // The store reads rows exactly: what it accepts is the encoding of what it read.
            if let Ok(entry) = FinalizedEntry::from_row(bytes, MAX_VALUE_BYTES) {
                assert_eq!(codec::encode(&entry), bytes, "an inexact row was accepted");
                assert_eq!(decoded, Some(entry));
            }
        }
        files::PENDING_JOIN => {
            round_trip::<PendingJoin>(bytes, MAX_VALUE_BYTES);
        }
        files::EPOCH_CONFIG => {
            round_trip::<EpochConfig>(bytes, MAX_VALUE_BYTES);
        }
        files::BLOCK_OUTCOME => {
            round_trip::<BlockOutcome>(bytes, MAX_VALUE_BYTES);
        }
        files::JOURNAL => journal(bytes),
        files::JOURNAL_RECORD => journal_record(bytes),
        // files::COUNTER: the store's counters and nonces.
        _ => {
            round_trip::<u64>(bytes, 16);
        }
    }
});

/// An invite code: anything that decodes encodes back to a code that decodes to the same.
fn invite(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(invite) = Invite::decode(text) {
        assert!(!invite.peers.is_empty(), "an invite without peers decoded");
        let again = Invite::decode(&invite.encode());
        assert_eq!(
            again.as_ref(),
            Ok(&invite),
            "an invite changed on a round trip"
        );
    }
}

/// A commit journal after its header: the whole records read back are exactly the start of
/// the bytes, framed again, and none is longer than a value may be.
fn journal(bytes: &[u8]) {
    let Some((&generation, bytes)) = bytes.split_first() else {
        return;
    };
    let generation = u64::from(generation);
    let mut framed = Vec::new();
    for payload in whole_records(bytes, generation, MAX_VALUE_BYTES) {
        assert!(!payload.is_empty() && payload.len() <= MAX_VALUE_BYTES);
        framed.extend(frame(generation, payload).expect("a read record frames again"));
    }
    assert!(
        bytes.starts_with(&framed),
        "the records read back are not the start of the journal"
    );
}

/// One record's payload: what decodes, written again as the store writes a commit, decodes to
/// a record with the same encoding.
fn journal_record(bytes: &[u8]) {
    let Ok((epoch, entries, batches)) = codec::decode::<Record>(bytes, MAX_VALUE_BYTES) else {
        return;
    };
    let entries: Vec<Durable> = entries.into_iter().map(Into::into).collect();
    let batches: Vec<Finalized> = batches.into_iter().map(finalized).collect();
    let record: RecordRef = (
        epoch,
        entries.iter().map(EntryRef::from).collect(),
        batches.iter().map(batch_ref).collect(),
    );
    let encoded = codec::encode(&record);
    let again: Record = match codec::decode(&encoded, usize::MAX) {
        Ok(again) => again,
        Err(e) => panic!("a journal record as the store writes it does not decode: {e}"),
    };
    let (epoch_again, entries_again, batches_again) = again;
    let entries_again: Vec<Durable> = entries_again.into_iter().map(Into::into).collect();
    let batches_again: Vec<Finalized> = batches_again.into_iter().map(finalized).collect();
    assert_eq!(
        (epoch_again, entries_again, batches_again),
        (epoch, entries, batches),
        "a journal record changed when written and read again"
    );
}

/// Peer ids, hashes and signatures as they appear in files and on the command line.
fn text_parses(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(peer) = text.parse::<PeerId>() {
        assert_eq!(peer.to_string().parse::<PeerId>().ok(), Some(peer));
    }
    if let Ok(hash) = text.parse::<Hash>() {
        assert_eq!(hash.to_string().parse::<Hash>().ok(), Some(hash));
    }
    if let Ok(signature) = text.parse::<Signature>() {
        assert_eq!(
            signature.to_string().parse::<Signature>().ok(),
            Some(signature)
        );
    }
}
