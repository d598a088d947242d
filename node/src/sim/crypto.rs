//! Signatures for simulated peers: real ed25519 with a memo of verified signatures, or a
//! cheap stand-in that keeps every check but the curve arithmetic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bfte_shared::crypto::{Ed25519Verifier, SignedBytes, Signer, Verifier};
use bfte_shared::hash::Hash;
use bfte_shared::peer::{PeerId, PeerSecret, Signature};

/// Which signatures a simulation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoMode {
    /// Real ed25519. Verification results are memoized across peers: verifying is a pure
    /// function, so this changes cost, never an outcome.
    Real,
    /// Real ed25519 without the memo: every peer verifies every signature itself, as on its
    /// own machine. For measuring CPU per peer.
    RealPerPeer,
    /// A keyed BLAKE3 tag standing in for a signature. Simulated Byzantine peers corrupt
    /// signatures but never forge them, so every check still fails exactly when it should.
    Fast,
}

/// The stand-in "signature": a keyed hash of the message under the signer's id.
fn fast_signature(signer: &PeerId, message: &[u8]) -> Signature {
    let first = blake3::keyed_hash(&signer.0, message);
    let second = blake3::keyed_hash(first.as_bytes(), message);
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(first.as_bytes());
    bytes[32..].copy_from_slice(second.as_bytes());
    Signature(bytes)
}

#[derive(Debug)]
struct FastSigner(PeerId);

impl Signer for FastSigner {
    fn peer_id(&self) -> PeerId {
        self.0
    }

    fn sign(&self, message: &[u8]) -> Signature {
        fast_signature(&self.0, message)
    }
}

#[derive(Debug)]
struct FastVerifier;

impl Verifier for FastVerifier {
    fn verify_batch(&self, batch: &[SignedBytes<'_>]) -> bool {
        batch
            .iter()
            .all(|s| fast_signature(s.signer, s.message) == *s.signature)
    }
}

#[derive(Debug, Default)]
struct MemoVerifier {
    known: Mutex<HashMap<Hash, bool>>,
}

fn memo_key(signed: &SignedBytes<'_>) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&signed.signer.0);
    hasher.update(&signed.signature.0);
    hasher.update(signed.message);
    Hash(*hasher.finalize().as_bytes())
}

impl Verifier for MemoVerifier {
    fn verify_batch(&self, batch: &[SignedBytes<'_>]) -> bool {
        let keys: Vec<Hash> = batch.iter().map(memo_key).collect();
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh = Vec::new();
        for (signed, key) in batch.iter().zip(&keys) {
            match known.get(key) {
                Some(false) => return false,
                Some(true) => {}
                None => fresh.push((*signed, *key)),
            }
        }
        if fresh.is_empty() {
            return true;
        }
        let signed: Vec<_> = fresh.iter().map(|(s, _)| *s).collect();
        if Ed25519Verifier.verify_batch(&signed) {
            known.extend(fresh.iter().map(|(_, key)| (*key, true)));
            return true;
        }
        for (signed, key) in fresh {
            known.insert(key, Ed25519Verifier.verify(signed));
        }
        false
    }
}

/// Keys and a shared verifier for one simulated federation.
#[derive(Debug)]
pub struct SimCrypto {
    pub signers: Vec<Arc<dyn Signer>>,
    pub verifier: Arc<dyn Verifier>,
}

impl SimCrypto {
    /// `n` peers with keys derived from the seed, sorted by peer id (the peer set's order).
    pub fn new(mode: CryptoMode, seed: u64, n: usize) -> SimCrypto {
        let mut secrets: Vec<PeerSecret> = (0..n)
            .map(|i| {
                let mut material = seed.to_le_bytes().to_vec();
                material.extend_from_slice(&(i as u64).to_le_bytes());
                PeerSecret::from_seed(*blake3::hash(&material).as_bytes())
            })
            .collect();
        secrets.sort_by_key(PeerSecret::peer_id);
        let signers: Vec<Arc<dyn Signer>> = secrets
            .into_iter()
            .map(|secret| match mode {
                CryptoMode::Real | CryptoMode::RealPerPeer => Arc::new(secret) as Arc<dyn Signer>,
                CryptoMode::Fast => Arc::new(FastSigner(secret.peer_id())) as Arc<dyn Signer>,
            })
            .collect();
        let verifier: Arc<dyn Verifier> = match mode {
            CryptoMode::Real => Arc::new(MemoVerifier::default()),
            CryptoMode::RealPerPeer => Arc::new(Ed25519Verifier),
            CryptoMode::Fast => Arc::new(FastVerifier),
        };
        SimCrypto { signers, verifier }
    }
}
