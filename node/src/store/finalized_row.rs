//! How a block of the finalized chain is stored (schema 3): the header's and items' fields in
//! order without their names, and the finalization without what the block already says (its
//! round, and that it finalizes this block). The chain is never pruned, so this encoding is most
//! of what a node's database grows by per block: a block of two small items with a finalization
//! of three signatures takes 900 bytes in the wire encoding (schema 2) and 607 as a row.
//!
//! Uses only `bfte-shared`, serde and serde_bytes: the fuzz crate compiles this file as it is.

use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, Entry, ModuleId};
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::VoteKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::{ByteBuf, Bytes};

/// One block of the finalized chain, as stored in the `finalized` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedEntry {
    pub block: Block,
    /// The block's own finalization, which `Store::append` checked finalizes it.
    pub certificate: Option<Certificate>,
}

/// [`FinalizedEntry`] by reference, to encode without cloning a block; same encoding.
#[derive(Debug)]
pub struct FinalizedEntryRef<'a> {
    pub block: &'a Block,
    pub certificate: Option<&'a Certificate>,
}

/// round, height, parent, payload hash, timestamp, config hash, state root, state height,
/// proposer: [`BlockHeader`]'s fields in declaration order.
type HeaderRow = (Round, Height, Hash, Hash, u64, Hash, Hash, Height, PeerId);
/// author, nonce, entries as (module, data), signature.
type ItemRow = (PeerId, u64, Vec<(ModuleId, ByteBuf)>, Signature);
/// The signer bitmap and the signatures of the block's own finalization.
type FinalizationRow = (ByteBuf, Vec<Signature>);

/// The caller (`Store::append`) has checked that a certificate finalizes this block: its round
/// and kind are left out and rebuilt from the block on reading.
impl Serialize for FinalizedEntryRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = &self.block.header;
        let header = (
            h.round,
            h.height,
            &h.parent,
            &h.payload_hash,
            h.timestamp_ms,
            &h.config_hash,
            &h.state_root,
            h.state_height,
            &h.proposer,
        );
        let finalization = self
            .certificate
            .map(|c| (Bytes::new(&c.signers), &c.signatures));
        (header, ItemRows(&self.block.payload.items), finalization).serialize(serializer)
    }
}

impl Serialize for FinalizedEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FinalizedEntryRef {
            block: &self.block,
            certificate: self.certificate.as_ref(),
        }
        .serialize(serializer)
    }
}

/// A block's items as rows, written without collecting them first.
struct ItemRows<'a>(&'a [ConsensusItem]);

impl Serialize for ItemRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|item| {
            (
                &item.author,
                item.nonce,
                EntryRows(&item.entries),
                &item.signature,
            )
        }))
    }
}

struct EntryRows<'a>(&'a [Entry]);

impl Serialize for EntryRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.0
                .iter()
                .map(|entry| (entry.module, Bytes::new(&entry.data))),
        )
    }
}

impl<'de> Deserialize<'de> for FinalizedEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (header, items, finalization): (HeaderRow, Vec<ItemRow>, Option<FinalizationRow>) =
            Deserialize::deserialize(deserializer)?;
        let items = items
            .into_iter()
            .map(|(author, nonce, entries, signature)| ConsensusItem {
                author,
                nonce,
                entries: entries
                    .into_iter()
                    .map(|(module, data)| Entry {
                        module,
                        data: data.into_vec(),
                    })
                    .collect(),
                signature,
            })
            .collect();
        let block = Block {
            header: header_of(header),
            payload: Payload { items },
        };
        let certificate = finalization.map(|(signers, signatures)| Certificate {
            round: block.header.round,
            kind: VoteKind::Finalize(block.hash()),
            signers: signers.into_vec(),
            signatures,
        });
        Ok(FinalizedEntry { block, certificate })
    }
}

impl FinalizedEntry {
    /// Reads a stored row of at most `limit` bytes, refusing one that is not exactly the
    /// encoding of what it decodes to: ciborium does not check that a tuple's array ends where
    /// the tuple does, so a damaged row could otherwise decode, misaligned, to another block
    /// (found by fuzzing). Costs one encoding's worth of comparing, no allocation.
    pub fn from_row(bytes: &[u8], limit: usize) -> Result<FinalizedEntry, String> {
        let entry: FinalizedEntry = codec::decode(bytes, limit).map_err(|e| e.to_string())?;
        if !codec::encodes_to(&entry, bytes) {
            return Err("a row that is not the encoding of the block it decodes to".into());
        }
        Ok(entry)
    }
}

fn header_of(
    (
        round,
        height,
        parent,
        payload_hash,
        timestamp_ms,
        config_hash,
        state_root,
        state_height,
        proposer,
    ): HeaderRow,
) -> BlockHeader {
    BlockHeader {
        round,
        height,
        parent,
        payload_hash,
        timestamp_ms,
        config_hash,
        state_root,
        state_height,
        proposer,
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::codec;

    use super::super::fixtures::{child, federation};
    use super::*;

    /// A block of `items` items in round 9, finalized by three of four peers.
    fn finalized_entry(items: usize) -> FinalizedEntry {
        let fed = federation(4);
        let genesis = Block::genesis(&fed.genesis);
        let block = child(
            &genesis,
            9,
            (0..items).map(|i| fed.item(i % 4, i as u64)).collect(),
        );
        let kind = VoteKind::Finalize(block.hash());
        let signatures = (0..3).map(|peer| (peer, fed.vote(peer, 9, kind).signature));
        let certificate = Certificate::from_signatures(Round(9), kind, 4, signatures);
        FinalizedEntry {
            block,
            certificate: Some(certificate),
        }
    }

    #[test]
    fn a_row_reads_back_as_the_entry_it_was_written_from() {
        for items in [0, 1, 5] {
            let entry = finalized_entry(items);
            let row = codec::encode(&entry);
            let read = FinalizedEntry::from_row(&row, usize::MAX).expect("decodes");
            assert_eq!(read, entry);

            let bare = FinalizedEntry {
                certificate: None,
                ..entry
            };
            let read: FinalizedEntry =
                codec::decode(&codec::encode(&bare), usize::MAX).expect("decodes");
            assert_eq!(read, bare);
        }
    }

    /// ciborium reads a tuple from a longer array without a word and goes on from the wrong
    /// place: a row whose item claims five fields decodes, and only the exact check says it is
    /// damaged.
    #[test]
    fn a_row_whose_item_claims_an_extra_field_is_refused() {
        let bare = |items| FinalizedEntry {
            certificate: None,
            ..finalized_entry(items)
        };
        // The row: 0x83, the header, the items' array, then null for no finalization.
        let header_len = codec::encode(&bare(0)).len() - 3;
        let mut row = codec::encode(&bare(1));
        let item_at = 1 + header_len + 1;
        assert_eq!(row[item_at], 0x84, "an item is a four-field array");
        row[item_at] = 0x85;
        let lenient: Result<FinalizedEntry, _> = codec::decode(&row, usize::MAX);
        assert!(lenient.is_ok(), "ciborium reads the damaged row");
        let refused = FinalizedEntry::from_row(&row, usize::MAX);
        assert!(refused.is_err(), "{refused:?}");
    }

    /// What schema 3 is for: a near-empty block (two items) with its finalization, against
    /// its wire encoding as schema 2 stored it.
    #[test]
    fn a_near_empty_row_takes_under_70_percent_of_the_wire_encoding() {
        #[derive(Serialize)]
        struct Wire<'a> {
            block: &'a Block,
            certificate: Option<&'a Certificate>,
        }
        let entry = finalized_entry(2);
        let wire = codec::encode(&Wire {
            block: &entry.block,
            certificate: entry.certificate.as_ref(),
        })
        .len();
        let row = codec::encode(&entry).len();
        assert!(row * 10 < wire * 7, "row {row} bytes, wire {wire}");
    }
}
