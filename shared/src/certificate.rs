//! Certificates: q signatures on the same vote, with the signers as a bitmap over the peer set.

use serde::{Deserialize, Serialize};

use crate::crypto::{SignedBytes, Verifier};
use crate::federation::{FederationId, PeerSet};
use crate::peer::Signature;
use crate::round::Round;
use crate::vote::{VoteKind, vote_signing_bytes};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub round: Round,
    pub kind: VoteKind,
    /// Bit i (byte i/8, bit i%8) set when peer i of the peer set signed; signatures follow in
    /// index order.
    #[serde(with = "serde_bytes")]
    pub signers: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// Why a certificate is not valid for a peer set.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("signer bitmap has {got} bytes, the peer set needs {want}")]
    BitmapLength { got: usize, want: usize },
    #[error("signer bitmap names peer index {0}, beyond the peer set")]
    ForeignSigner(usize),
    #[error("{signers} signers but {signatures} signatures")]
    SignatureCount { signers: usize, signatures: usize },
    #[error("{got} signers, a quorum is {quorum}")]
    BelowQuorum { got: usize, quorum: usize },
    #[error("a signature does not verify")]
    BadSignature,
}

impl Certificate {
    /// Builds a certificate from `(peer index, signature)` pairs, which must be sorted by index
    /// without duplicates.
    pub fn from_signatures(
        round: Round,
        kind: VoteKind,
        peer_count: usize,
        signatures: impl IntoIterator<Item = (usize, Signature)>,
    ) -> Self {
        let mut signers = vec![0u8; peer_count.div_ceil(8)];
        let mut sigs = Vec::new();
        for (index, signature) in signatures {
            signers[index / 8] |= 1 << (index % 8);
            sigs.push(signature);
        }
        Certificate {
            round,
            kind,
            signers,
            signatures: sigs,
        }
    }

    /// Indices of the signers, checked against the size of the peer set.
    pub fn signer_indices(&self, peer_count: usize) -> Result<Vec<usize>, CertificateError> {
        let want = peer_count.div_ceil(8);
        if self.signers.len() != want {
            return Err(CertificateError::BitmapLength {
                got: self.signers.len(),
                want,
            });
        }
        let mut indices = Vec::new();
        for (byte_index, byte) in self.signers.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    let index = byte_index * 8 + bit;
                    if index >= peer_count {
                        return Err(CertificateError::ForeignSigner(index));
                    }
                    indices.push(index);
                }
            }
        }
        Ok(indices)
    }

    /// Checks shape, quorum and every signature (in one batch).
    pub fn verify(
        &self,
        federation: &FederationId,
        peers: &PeerSet,
        verifier: &dyn Verifier,
    ) -> Result<(), CertificateError> {
        let indices = self.signer_indices(peers.len())?;
        if indices.len() != self.signatures.len() {
            return Err(CertificateError::SignatureCount {
                signers: indices.len(),
                signatures: self.signatures.len(),
            });
        }
        if indices.len() < peers.quorum() {
            return Err(CertificateError::BelowQuorum {
                got: indices.len(),
                quorum: peers.quorum(),
            });
        }
        let message = vote_signing_bytes(federation, self.round, self.kind);
        let mut batch = Vec::with_capacity(indices.len());
        for (index, signature) in indices.iter().zip(&self.signatures) {
            let signer = peers
                .get(*index)
                .ok_or(CertificateError::ForeignSigner(*index))?;
            batch.push(SignedBytes {
                signer,
                message: &message,
                signature,
            });
        }
        if verifier.verify_batch(&batch) {
            Ok(())
        } else {
            Err(CertificateError::BadSignature)
        }
    }
}
