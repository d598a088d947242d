//! Consensus items: the signed unit of work a block carries.

use serde::{Deserialize, Serialize};

use crate::crypto::{Domain, SignedBytes, Signer};
use crate::federation::FederationId;
use crate::hash::Hash;
use crate::peer::{PeerId, Signature};

/// Which module an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModuleId(pub u16);

/// An item signed by its author. `nonce` rises with every item an author submits, so a
/// finalized item can never be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusItem {
    pub author: PeerId,
    pub nonce: u64,
    pub module: ModuleId,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub signature: Signature,
}

#[derive(Serialize)]
struct ItemBody<'a> {
    federation: &'a FederationId,
    author: &'a PeerId,
    nonce: u64,
    module: ModuleId,
    #[serde(with = "serde_bytes")]
    data: &'a [u8],
}

impl ConsensusItem {
    pub fn new(
        federation: &FederationId,
        signer: &dyn Signer,
        nonce: u64,
        module: ModuleId,
        data: Vec<u8>,
    ) -> Self {
        let author = signer.peer_id();
        let mut item = ConsensusItem {
            author,
            nonce,
            module,
            data,
            signature: Signature([0; 64]),
        };
        item.signature = signer.sign(&item.signing_bytes(federation));
        item
    }

    pub fn signing_bytes(&self, federation: &FederationId) -> Vec<u8> {
        Domain::Item.signing_bytes(&ItemBody {
            federation,
            author: &self.author,
            nonce: self.nonce,
            module: self.module,
            data: &self.data,
        })
    }

    /// Identifies the item independently of its signature bytes.
    pub fn id(&self, federation: &FederationId) -> Hash {
        Hash::tagged(b"bfte/v1/item-id\0", &self.signing_bytes(federation))
    }

    pub fn signed<'a>(&'a self, message: &'a [u8]) -> SignedBytes<'a> {
        SignedBytes {
            signer: &self.author,
            message,
            signature: &self.signature,
        }
    }
}
