//! BLAKE3 hashes with a domain tag per kind of hashed value.

use std::fmt;

use crate::bytes::fixed_bytes;

fixed_bytes!(
    /// A BLAKE3 hash.
    Hash,
    32
);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// Hashes `tag || bytes`; the tag keeps hashes of different kinds of values apart.
    pub fn tagged(tag: &[u8], bytes: &[u8]) -> Hash {
        let mut hasher = blake3::Hasher::new();
        hasher.update(tag);
        hasher.update(bytes);
        Hash(*hasher.finalize().as_bytes())
    }

    /// Hashes the canonical CBOR encoding of `value` under `tag`.
    pub fn of<T: serde::Serialize + ?Sized>(tag: &[u8], value: &T) -> Hash {
        Hash::tagged(tag, &crate::codec::encode(value))
    }

    /// The first bytes in hex: enough to tell hashes apart on a screen.
    pub fn short(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0[..4])
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

impl std::str::FromStr for Hash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(text.as_bytes())
            .map_err(|e| format!("not a hex hash: {e}"))?;
        Ok(Hash(
            bytes
                .try_into()
                .map_err(|_| "a hash is 64 hex characters".to_string())?,
        ))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}
