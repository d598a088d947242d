//! Peer identities: an ed25519 key pair. The same key is the peer's iroh endpoint id.

use std::fmt;
use std::str::FromStr;

use crate::bytes::fixed_bytes;

fixed_bytes!(
    /// A peer's public ed25519 key, which is also its iroh endpoint id.
    PeerId,
    32
);

fixed_bytes!(
    /// An ed25519 signature.
    Signature,
    64
);

const ID_ENCODING: data_encoding::Encoding = data_encoding::BASE32_NOPAD;
const ID_TEXT_LEN: usize = 52;

impl PeerId {
    /// The first characters of the text form: what screens and logs show.
    pub fn short(&self) -> String {
        self.to_string()[..8].to_string()
    }

    /// The key as an ed25519 verifying key; fails for bytes that are not a curve point.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, InvalidPeerId> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| InvalidPeerId::NotAKey)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&ID_ENCODING.encode(&self.0).to_lowercase())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.short())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

impl FromStr for Signature {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(text.as_bytes())
            .map_err(|e| format!("not a hex signature: {e}"))?;
        Ok(Signature(bytes.try_into().map_err(|_| {
            "a signature is 128 hex characters".to_string()
        })?))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({})",
            data_encoding::HEXLOWER.encode(&self.0[..4])
        )
    }
}

/// Why text is not a peer id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPeerId {
    #[error("a peer id is {ID_TEXT_LEN} base32 characters, got {0}")]
    Length(usize),
    #[error("a peer id uses the characters a-z and 2-7 only")]
    Alphabet,
    #[error("these bytes are not an ed25519 public key")]
    NotAKey,
}

impl FromStr for PeerId {
    type Err = InvalidPeerId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != ID_TEXT_LEN {
            return Err(InvalidPeerId::Length(text.len()));
        }
        let bytes = ID_ENCODING
            .decode(text.to_uppercase().as_bytes())
            .map_err(|_| InvalidPeerId::Alphabet)?;
        let id = PeerId(bytes.try_into().map_err(|_| InvalidPeerId::Alphabet)?);
        id.verifying_key()?;
        Ok(id)
    }
}

/// A peer's 32-byte secret seed. Both the consensus key and the iroh endpoint key are this seed.
#[derive(Clone)]
pub struct PeerSecret(ed25519_dalek::SigningKey);

impl PeerSecret {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        PeerSecret(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn peer_id(&self) -> PeerId {
        PeerId(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for PeerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerSecret(for {})", self.peer_id().short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_parses_back() {
        let id = PeerSecret::from_seed([7; 32]).peer_id();
        let text = id.to_string();
        assert_eq!(text.len(), ID_TEXT_LEN);
        assert_eq!(text.parse::<PeerId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<PeerId>(), Ok(id));
        assert!(text.starts_with(&id.short()));
    }

    #[test]
    fn bad_text_is_a_typed_error() {
        assert_eq!("abc".parse::<PeerId>(), Err(InvalidPeerId::Length(3)));
        let wrong_alphabet = "1".repeat(ID_TEXT_LEN);
        assert_eq!(
            wrong_alphabet.parse::<PeerId>(),
            Err(InvalidPeerId::Alphabet)
        );
    }
}
