//! Signing with domain separation, and (batch) verification behind a trait so the simulator can
//! swap in a cheaper stand-in that performs every check except the curve arithmetic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;

use crate::peer::{PeerId, PeerSecret, Signature};

/// What a signature is for. Each kind signs under its own tag, so a signature made for one kind
/// of message can never be replayed as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Proposal,
    NotarizeVote,
    DummyVote,
    FinalizeVote,
    Item,
    JoinRequest,
}

impl Domain {
    pub fn tag(self) -> &'static [u8] {
        match self {
            Domain::Proposal => b"bfte/v1/proposal\0",
            Domain::NotarizeVote => b"bfte/v1/vote/notarize\0",
            Domain::DummyVote => b"bfte/v1/vote/dummy\0",
            Domain::FinalizeVote => b"bfte/v1/vote/finalize\0",
            // v2: an item signs a list of entries (v1 signed one module and data).
            Domain::Item => b"bfte/v2/item\0",
            Domain::JoinRequest => b"bfte/v1/join-request\0",
        }
    }

    /// The exact bytes that get signed: `tag || canonical CBOR of the body`.
    pub fn signing_bytes<T: serde::Serialize + ?Sized>(self, body: &T) -> Vec<u8> {
        let mut bytes = self.tag().to_vec();
        ciborium::into_writer(body, &mut bytes).unwrap_or_else(|e| {
            panic!("CBOR encoding into memory failed, a Serialize impl is broken: {e}")
        });
        bytes
    }
}

/// One signature to check: who claims to have signed which bytes.
#[derive(Debug, Clone, Copy)]
pub struct SignedBytes<'a> {
    pub signer: &'a PeerId,
    pub message: &'a [u8],
    pub signature: &'a Signature,
}

/// Signs as the local peer.
pub trait Signer: Send + Sync + Debug {
    fn peer_id(&self) -> PeerId;
    fn sign(&self, message: &[u8]) -> Signature;
}

/// Checks signatures. `verify_batch` is true only if every signature in the batch is valid.
pub trait Verifier: Send + Sync + Debug {
    fn verify_batch(&self, batch: &[SignedBytes<'_>]) -> bool;

    fn verify(&self, one: SignedBytes<'_>) -> bool {
        self.verify_batch(&[one])
    }
}

impl Signer for PeerSecret {
    fn peer_id(&self) -> PeerId {
        PeerSecret::peer_id(self)
    }

    fn sign(&self, message: &[u8]) -> Signature {
        PeerSecret::sign(self, message)
    }
}

/// Real ed25519 verification; batches of two or more use ed25519-dalek's batch verification.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify_batch(&self, batch: &[SignedBytes<'_>]) -> bool {
        let mut keys = Vec::with_capacity(batch.len());
        let mut signatures = Vec::with_capacity(batch.len());
        let mut messages = Vec::with_capacity(batch.len());
        for item in batch {
            let Some(key) = verifying_key(item.signer) else {
                return false;
            };
            keys.push(key);
            signatures.push(ed25519_dalek::Signature::from_bytes(&item.signature.0));
            messages.push(item.message);
        }
        match batch.len() {
            0 => true,
            1 => keys[0].verify_strict(messages[0], &signatures[0]).is_ok(),
            _ => ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok(),
        }
    }
}

/// Most signers' keys kept decompressed per thread; more clears the cache (a federation has at
/// most a few hundred members, so only a flood of unknown signers would).
const CACHED_KEYS: usize = 1_024;

thread_local! {
    /// Decompressing a signer's point costs about a quarter of checking one signature, and the
    /// same few peers sign everything a node checks.
    static VERIFYING_KEYS: RefCell<HashMap<PeerId, ed25519_dalek::VerifyingKey>> =
        RefCell::new(HashMap::new());
}

/// `signer`'s key, decompressed once per thread; `None` if its bytes are not a curve point.
fn verifying_key(signer: &PeerId) -> Option<ed25519_dalek::VerifyingKey> {
    VERIFYING_KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some(key) = keys.get(signer) {
            return Some(*key);
        }
        let key = signer.verifying_key().ok()?;
        if keys.len() >= CACHED_KEYS {
            keys.clear();
        }
        keys.insert(*signer, key);
        Some(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_verification_rejects_any_bad_signature() {
        let secrets: Vec<_> = (0..4u8).map(|i| PeerSecret::from_seed([i; 32])).collect();
        let ids: Vec<_> = secrets.iter().map(PeerSecret::peer_id).collect();
        let msg = Domain::DummyVote.signing_bytes(&5u64);
        let mut sigs: Vec<_> = secrets.iter().map(|s| s.sign(&msg)).collect();
        let batch = |sigs: &[Signature]| -> bool {
            let items: Vec<_> = ids
                .iter()
                .zip(sigs)
                .map(|(signer, signature)| SignedBytes {
                    signer,
                    message: &msg,
                    signature,
                })
                .collect();
            Ed25519Verifier.verify_batch(&items)
        };
        assert!(batch(&sigs));
        sigs[2].0[0] ^= 1;
        assert!(!batch(&sigs));
    }

    #[test]
    fn a_cached_key_checks_like_a_fresh_one_and_a_non_key_never_verifies() {
        let secret = PeerSecret::from_seed([7; 32]);
        let message = Domain::Item.signing_bytes(&3u64);
        let signature = secret.sign(&message);
        let id = secret.peer_id();
        let one = |signer: &PeerId, signature: &Signature| {
            Ed25519Verifier.verify(SignedBytes {
                signer,
                message: &message,
                signature,
            })
        };
        // The second check takes the key from the cache.
        assert!(one(&id, &signature));
        assert!(one(&id, &signature));
        let mut forged = signature;
        forged.0[5] ^= 1;
        assert!(!one(&id, &forged));
        let not_a_key = (0..=255u8)
            .map(|b| PeerId([b; 32]))
            .find(|id| id.verifying_key().is_err())
            .expect("some byte pattern is not a curve point");
        assert!(!one(&not_a_key, &signature));
        assert!(!one(&not_a_key, &signature), "nor when asked again");
    }

    #[test]
    fn a_signature_does_not_verify_under_another_domain() {
        let secret = PeerSecret::from_seed([1; 32]);
        let notarize = Domain::NotarizeVote.signing_bytes(&1u64);
        let finalize = Domain::FinalizeVote.signing_bytes(&1u64);
        let signature = secret.sign(&notarize);
        let id = secret.peer_id();
        let check = |message: &[u8]| {
            Ed25519Verifier.verify(SignedBytes {
                signer: &id,
                message,
                signature: &signature,
            })
        };
        assert!(check(&notarize));
        assert!(!check(&finalize));
    }
}
