//! History verified from an export: an honest history through a membership change verifies to
//! the node's state root and replays into a store that exports the same bytes; every kind of
//! bad history is refused with the error that names what failed and where.

use std::path::PathBuf;
use std::sync::Arc;

use bfte_shared::certificate::CertificateError;
use bfte_shared::chain::ChainError;
use bfte_shared::codec;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::round::Height;

use super::cbor_seq::SequenceReader;
use super::error::{FormatError, HistoryError};
use super::fixture::{History, membership_change, small_params};
use super::record::{FORMAT_VERSION, Record};
use super::replay::Replay;
use super::segment::{SEGMENT_BLOCKS, Segment, SegmentCut, SegmentEntry};
use super::snapshot::Snapshot;
use super::verify_file::{Verified, verify_file};
use crate::store::Store;

fn verify(bytes: &[u8]) -> Result<Verified, HistoryError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    verify_file(
        bytes,
        &dir.path().join("replay.redb"),
        Arc::new(Ed25519Verifier),
    )
}

fn records(bytes: &[u8]) -> Vec<Record> {
    let mut reader = SequenceReader::new(bytes);
    let mut records = Vec::new();
    while let Some(item) = reader.next_item(usize::MAX).expect("an item") {
        records.push(codec::decode(&item, usize::MAX).expect("a record"));
    }
    records
}

fn encode(records: &[Record]) -> Vec<u8> {
    records.iter().flat_map(codec::encode).collect()
}

/// The export of [`membership_change`] with nothing more: genesis, epoch 0's segment (heights
/// 1 to 3), its end (tail: height 4 of epoch 0), epoch 1's segment (heights 4 and 5).
fn honest() -> (History, Vec<Record>) {
    let history = membership_change(0, 1);
    let records = records(&history.export());
    assert_eq!(records.len(), 4, "{records:#?}");
    (history, records)
}

fn segment(records: &mut [Record], index: usize) -> &mut Segment {
    match &mut records[index] {
        Record::Segment(segment) => segment,
        other => panic!("record {index} is a {}", other.kind()),
    }
}

fn epoch1_entry(records: &mut [Record], height: u64) -> &mut SegmentEntry {
    let entries = &mut segment(records, 3).entries;
    entries
        .iter_mut()
        .find(|e| e.block.header.height == Height(height))
        .expect("the height is in epoch 1's segment")
}

fn refused(records: &[Record]) -> HistoryError {
    verify(&encode(records)).expect_err("the history must be refused")
}

#[test]
fn an_honest_history_through_a_membership_change_verifies_to_the_nodes_state_root() {
    let (history, _) = honest();
    let verified = verify(&history.export()).expect("verifies");
    assert_eq!(verified.tip, Height(5));
    assert_eq!(verified.state_root, history.state_root());
    assert_eq!(verified.epochs.len(), 2);
    let (first, second) = (&verified.epochs[0], &verified.epochs[1]);
    assert_eq!(
        (first.number, first.start, first.end),
        (0, Height(0), Some(Height(3)))
    );
    assert_eq!(first.changes.len(), 2, "{:?}", first.changes);
    assert!(first.changes.iter().any(|c| c.starts_with("remove peer")));
    assert!(
        first
            .changes
            .iter()
            .any(|c| c.starts_with("add peer peer-90"))
    );
    assert_eq!(
        (second.number, second.start, second.peers),
        (1, Height(3), 4)
    );
    assert_eq!(history.epoch().number, 1);
}

/// The segmenter counts an open segment one new height at a time: it must end it where
/// reading the segment whole does.
#[test]
fn counting_a_segment_height_by_height_ends_it_where_reading_it_whole_does() {
    let history = membership_change(0, 1);
    let snapshot = Snapshot::of(&history.store).expect("snapshot");
    let mut ends = Vec::new();
    for epoch in snapshot.epochs() {
        let (first, last) = (epoch.start.next(), epoch.end.unwrap_or(snapshot.tip()));
        let (whole, complete) = snapshot.segment_from(epoch, first, last).expect("segment");
        let whole_end = (whole.entries.last())
            .map(|entry| entry.block.header.height)
            .filter(|_| complete);
        let mut cut = SegmentCut::default();
        let mut counted_end = None;
        for height in (first.0..=last.0).map(Height) {
            match snapshot
                .segment_end(epoch, height, height, cut)
                .expect("count")
            {
                Ok(end) => {
                    counted_end = Some(end);
                    break;
                }
                Err(counted) => cut = counted,
            }
        }
        assert_eq!(counted_end, whole_end, "epoch {}", epoch.number);
        // Nothing new to count leaves the count as it was.
        let past = last.next();
        assert_eq!(
            snapshot.segment_end(epoch, past, last, cut).expect("count"),
            Err(cut)
        );
        ends.push(counted_end);
    }
    assert!(
        ends.first().is_some_and(Option::is_some),
        "the first epoch ended: {ends:?}"
    );
}

#[test]
fn a_replayed_store_serves_the_same_bytes_and_snapshots_match_the_store() {
    let history = membership_change(0, 1);
    let exported = history.export();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("replica.redb");
    verify_file(exported.as_slice(), &path, Arc::new(Ed25519Verifier)).expect("verifies");
    let replica = Store::open(&path).expect("open the replica");
    let mut again = Vec::new();
    super::export(&replica, super::ExportRange::default(), &mut again).expect("export the replica");
    assert_eq!(again, exported, "same history, same bytes");
    let (source, copy) = (
        Snapshot::of(&history.store).expect("snapshot"),
        Snapshot::of(&replica).expect("snapshot"),
    );
    assert_eq!(source.epochs(), copy.epochs());
    for epoch in source.epochs() {
        let (first, last) = (epoch.start.next(), epoch.end.unwrap_or(source.tip()));
        let bytes = source
            .segment_from(epoch, first, last)
            .expect("segment")
            .0
            .encode();
        assert_eq!(
            copy.segment_from(epoch, first, last)
                .expect("segment")
                .0
                .encode(),
            bytes
        );
        let decoded = Segment::decode(&bytes, 4, &small_params()).expect("decodes");
        assert_eq!(decoded.first_height(), Some(epoch.start.next()));
    }

    // The snapshot reads the store's tables as the store itself does.
    let snapshot = Snapshot::of(&history.store).expect("snapshot");
    let entries = snapshot.entries(1..=snapshot.tip().0).expect("entries");
    let stored = history
        .store
        .finalized_blocks(Height(1), usize::MAX)
        .expect("blocks");
    let read: Vec<_> = entries
        .into_iter()
        .map(|e| (e.block, e.finalization))
        .collect();
    assert_eq!(read, stored);
    let end = snapshot
        .epoch_end(&snapshot.epochs()[0])
        .expect("read")
        .expect("epoch 0 ended");
    let served = history
        .store
        .finalized_chain(Height(1), 1_000)
        .expect("serve")
        .expect("a chain");
    assert_eq!(served.finalization, end.finalization);
    assert_eq!(served.blocks[3..], end.tail[..]);
}

#[test]
fn a_replica_taking_a_peers_pull_answers_crosses_the_epoch_to_the_nodes_state_root() {
    let history = membership_change(20, 3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::create(dir.path().join("replica.redb"), history.store.genesis())
        .expect("a replica store");
    let mut replica = Replay::new(Arc::new(store), Arc::new(Ed25519Verifier)).expect("replay");
    let mut epochs = Vec::new();
    // What a peer answers a pull with: never across an epoch's end, which comes with its
    // end proof.
    while let Some(chain) = history
        .store
        .finalized_chain(replica.tip().height.next(), 2)
        .expect("serve")
    {
        if let Some(epoch) = replica.accept(chain).expect("verifies") {
            epochs.push((epoch.number, epoch.start_height));
        }
    }
    assert_eq!(epochs, [(1, Height(3))]);
    assert_eq!(replica.tip().height, Height(25));
    assert_eq!(replica.state_root(), history.state_root());
    assert_eq!(
        replica.epoch(),
        &history
            .ledger
            .epoch(history.store.database())
            .expect("epoch")
    );
}

#[test]
fn segments_follow_the_cut_rule_across_batches_and_a_segment_cut_elsewhere_is_refused() {
    let more = SEGMENT_BLOCKS as usize + 200;
    let history = membership_change(more, 300);
    let exported = history.export();
    let verified = verify(&exported).expect("verifies");
    assert_eq!(verified.tip, Height(5 + more as u64));
    assert_eq!(verified.state_root, history.state_root());
    let mut records = records(&exported);
    let first_heights: Vec<u64> = records
        .iter()
        .filter_map(|r| match r {
            Record::Segment(s) => s.first_height().map(|h| h.0),
            _ => None,
        })
        .collect();
    assert_eq!(first_heights, [1, 4, 4 + SEGMENT_BLOCKS]);

    let moved = segment(&mut records, 4).entries.remove(0);
    segment(&mut records, 3).entries.push(moved);
    assert!(matches!(
        refused(&records),
        HistoryError::SegmentBounds { epoch: 1, len, .. } if len == SEGMENT_BLOCKS as usize + 1
    ));
    // Cut one block early, the segment is refused too: only an epoch's last may end early.
    let mut records = self::records(&exported);
    let moved = segment(&mut records, 3).entries.pop().expect("a block");
    segment(&mut records, 4).entries.insert(0, moved);
    assert!(matches!(
        refused(&records),
        HistoryError::SegmentBounds { epoch: 1, first: Height(1_003), ref cut, .. }
            if cut.contains("ended early")
    ));
}

#[test]
fn a_tampered_block_is_refused_at_its_height() {
    let (_, mut records) = honest();
    epoch1_entry(&mut records, 4).block.payload.items[0].entries[0]
        .data
        .push(0);
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Chain(ChainError::PayloadMismatch { height: Height(4) })
        ),
        "{error}"
    );
}

#[test]
fn a_broken_hash_link_is_refused_at_its_height() {
    let (_, mut records) = honest();
    epoch1_entry(&mut records, 4).block.header.parent = Hash([7; 32]);
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Chain(ChainError::BrokenLink {
                height: Height(4),
                ..
            })
        ),
        "{error}"
    );
}

#[test]
fn a_forged_certificate_is_refused() {
    let (_, mut records) = honest();
    let certificate = epoch1_entry(&mut records, 5)
        .finalization
        .as_mut()
        .expect("height 5 is certified");
    certificate.signatures[0].0[0] ^= 1;
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Chain(ChainError::Certificate {
                height: Height(5),
                source: CertificateError::BadSignature
            })
        ),
        "{error}"
    );
}

#[test]
fn a_certificate_below_quorum_is_refused() {
    let (history, mut records) = honest();
    let epoch = history.epoch().clone();
    let peers = epoch.peer_set().expect("peers");
    let entry = epoch1_entry(&mut records, 5);
    let two: Vec<_> = peers.iter().take(peers.quorum() - 1).copied().collect();
    entry.finalization = Some(history.sign(&epoch, &peers, &entry.block, &two));
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Chain(ChainError::Certificate {
                height: Height(5),
                source: CertificateError::BelowQuorum { got: 2, quorum: 3 }
            })
        ),
        "{error}"
    );
}

#[test]
fn a_certificate_of_a_removed_peer_is_refused() {
    let (history, mut records) = honest();
    // Founder 3, removed at height 3, and two founders sign epoch 1's block as if the old
    // peer set still held.
    let old = history.store.genesis().peers.clone();
    let epoch = history.epoch().clone();
    let removed = history.id(3);
    assert!(epoch.member(&removed).is_none());
    let signers = [removed, history.id(0), history.id(1)];
    let entry = epoch1_entry(&mut records, 5);
    entry.finalization = Some(history.sign(&epoch, &old, &entry.block, &signers));
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Chain(ChainError::Certificate {
                height: Height(5),
                source: CertificateError::BadSignature
            })
        ),
        "{error}"
    );
}

#[test]
fn a_claimed_next_peer_set_is_checked_not_trusted() {
    let (history, mut records) = honest();
    let Record::EpochEnd(end) = &mut records[2] else {
        panic!("record 2 is the end of epoch 0");
    };
    // The file claims the removed founder stayed.
    let old = history
        .ledger
        .epochs(history.store.database())
        .expect("epochs")[0]
        .clone();
    end.next.members = old.members;
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::ClaimedEpochDiffers {
                epoch: 0,
                field: "the next epoch",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn blocks_that_no_certificate_covers_are_refused() {
    let (_, mut records) = honest();
    epoch1_entry(&mut records, 5).finalization = None;
    let error = refused(&records);
    assert!(
        matches!(
            error,
            HistoryError::Unfinished {
                from: Height(4),
                to: Height(5)
            }
        ),
        "{error}"
    );
}

#[test]
fn truncated_and_garbage_input_are_errors() {
    let (history, records) = honest();
    let exported = history.export();
    let error = verify(&exported[..exported.len() - 10]).expect_err("truncated");
    assert!(
        matches!(
            error,
            HistoryError::Format {
                height: Height(4),
                source: FormatError::Truncated,
                ..
            }
        ),
        "{error}"
    );
    let error = verify(&[]).expect_err("empty");
    assert!(
        matches!(error, HistoryError::Format { offset: 0, .. }),
        "{error}"
    );
    let mut garbage = encode(&records[..1]);
    let genesis_len = garbage.len() as u64;
    garbage.extend(b"this is not a history at all".iter().cycle().take(4096));
    let error = verify(&garbage).expect_err("garbage");
    assert!(
        matches!(error, HistoryError::Format { offset, .. } if offset == genesis_len),
        "{error}"
    );
    let error = verify(&encode(&records[1..])).expect_err("no genesis");
    assert!(
        matches!(error, HistoryError::UnexpectedRecord { offset: 0, .. }),
        "{error}"
    );
}

#[test]
fn a_record_larger_than_its_epoch_allows_is_refused() {
    let (history, records) = honest();
    let Record::Genesis { genesis, .. } = &records[0] else {
        panic!("record 0 is the genesis");
    };
    assert_eq!(genesis.params.max_block_bytes, 4096);
    let mut block = history
        .store
        .finalized_block(Height(1))
        .expect("read")
        .expect("block 1")
        .0;
    block.payload.items[0].entries[0].module = ModuleId(0);
    block.payload.items[0].entries[0].data = vec![0; 8 << 20];
    let oversized = Record::Segment(Segment {
        entries: vec![SegmentEntry {
            block,
            finalization: None,
        }],
    });
    let bytes = encode(&[records[0].clone(), oversized]);
    let error = verify(&bytes).expect_err("oversized");
    assert!(
        matches!(
            error,
            HistoryError::Format {
                source: FormatError::TooLarge { .. },
                ..
            }
        ),
        "{error}"
    );
    let genesis = Record::Genesis {
        format: FORMAT_VERSION + 1,
        genesis: genesis.clone(),
    };
    assert!(matches!(
        verify(&encode(&[genesis])),
        Err(HistoryError::UnknownFormat { .. })
    ));
}

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/history-sample.cbor")
}

#[test]
fn the_sample_in_assets_verifies_and_is_what_the_fixture_exports() {
    let sample = std::fs::read(sample_path()).expect("assets/history-sample.cbor");
    let verified = verify(&sample).expect("the sample verifies");
    assert_eq!(verified.tip, Height(5));
    assert_eq!(verified.epochs.len(), 2);
    assert_eq!(
        sample,
        membership_change(0, 1).export(),
        "the export format changed: check docs/history-format.md, then regenerate with \
         cargo test -p bfte-node history -- --ignored write_the_sample"
    );
}

#[test]
#[ignore = "writes assets/history-sample.cbor: cargo test -p bfte-node history -- --ignored write_the_sample"]
fn write_the_sample() {
    std::fs::write(sample_path(), membership_change(0, 1).export()).expect("write the sample");
}
