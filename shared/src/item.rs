//! Consensus items: the signed unit of work a block carries. One item is a batch of entries
//! signed once by its author, so signing and verifying cost one signature per batch, not per
//! entry; the nonce protects the whole batch against replay.

use serde::{Deserialize, Serialize};

use crate::crypto::{Domain, SignedBytes, Signer};
use crate::federation::FederationId;
use crate::hash::Hash;
use crate::peer::{PeerId, Signature};

/// Which module an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModuleId(pub u16);

/// One piece of work for one module: what a client submits. The ledger applies each entry on
/// its own, with its own outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub module: ModuleId,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Where an entry is: its author's item `nonce`, and its position in that item. Unique for
/// the federation's whole history, since an author's nonces never repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryRef {
    pub author: PeerId,
    pub nonce: u64,
    pub index: u32,
}

/// Entries signed together by their author. `nonce` rises with every item an author signs, so
/// a finalized item (and every entry in it) can never be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusItem {
    pub author: PeerId,
    pub nonce: u64,
    pub entries: Vec<Entry>,
    pub signature: Signature,
}

#[derive(Serialize)]
struct ItemBody<'a> {
    federation: &'a FederationId,
    author: &'a PeerId,
    nonce: u64,
    entries: &'a [Entry],
}

impl ConsensusItem {
    pub fn new(
        federation: &FederationId,
        signer: &dyn Signer,
        nonce: u64,
        entries: Vec<Entry>,
    ) -> Self {
        let author = signer.peer_id();
        let mut item = ConsensusItem {
            author,
            nonce,
            entries,
            signature: Signature([0; 64]),
        };
        item.signature = signer.sign(&item.signing_bytes(federation));
        item
    }

    /// An item of one entry.
    pub fn single(
        federation: &FederationId,
        signer: &dyn Signer,
        nonce: u64,
        module: ModuleId,
        data: Vec<u8>,
    ) -> Self {
        Self::new(federation, signer, nonce, vec![Entry { module, data }])
    }

    /// Every entry and its signature are covered: changing any entry, or their order, breaks
    /// the signature.
    pub fn signing_bytes(&self, federation: &FederationId) -> Vec<u8> {
        Domain::Item.signing_bytes(&ItemBody {
            federation,
            author: &self.author,
            nonce: self.nonce,
            entries: &self.entries,
        })
    }

    /// Identifies the item independently of its signature bytes.
    pub fn id(&self, federation: &FederationId) -> Hash {
        Hash::tagged(b"bfte/v2/item-id\0", &self.signing_bytes(federation))
    }

    /// How much of a block's (and of a pool's) entry limit this item takes: its entries, and
    /// at least one, so that empty items are never free.
    pub fn weight(&self) -> usize {
        self.entries.len().max(1)
    }

    /// Each entry with where it is.
    pub fn entry_refs(&self) -> impl Iterator<Item = (EntryRef, &Entry)> {
        self.entries.iter().enumerate().map(|(index, entry)| {
            let at = EntryRef {
                author: self.author,
                nonce: self.nonce,
                index: index as u32,
            };
            (at, entry)
        })
    }

    pub fn signed<'a>(&'a self, message: &'a [u8]) -> SignedBytes<'a> {
        SignedBytes {
            signer: &self.author,
            message,
            signature: &self.signature,
        }
    }
}
