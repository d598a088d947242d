//! Canonical CBOR encoding and size-limited decoding.
//!
//! Every signed or hashed value is encoded here. ciborium writes struct fields in declaration
//! order and integers in their shortest form, so one value always has one encoding. Signatures and
//! hashes are always computed over a fresh re-encoding of the decoded value, never over the bytes
//! that came off the wire, so a peer cannot smuggle a non-canonical form past a check.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Nesting depth ciborium may recurse into; our types nest a few levels, attackers nest thousands.
const RECURSION_LIMIT: usize = 32;

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{len} bytes exceed the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("invalid CBOR for this message: {0}")]
    Invalid(String),
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
}

/// Encodes a value as CBOR. Encoding into memory cannot fail for our types; a failure would be
/// a bug in a `Serialize` impl, so it is reported loudly rather than silently producing bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = ciborium::into_writer(value, &mut out) {
        panic!("CBOR encoding into memory failed, a Serialize impl is broken: {e}");
    }
    out
}

/// The length of `value`'s encoding, counted without keeping the bytes.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    if let Err(e) = ciborium::into_writer(value, &mut counter) {
        panic!("CBOR encoding into a counter failed, a Serialize impl is broken: {e}");
    }
    counter.0
}

/// Decodes exactly one value from `bytes`, refusing inputs larger than `limit`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let mut reader = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut reader, RECURSION_LIMIT)
        .map_err(|e: ciborium::de::Error<std::io::Error>| DecodeError::Invalid(e.to_string()))?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes(reader.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_trailing_and_oversized_input() {
        let bytes = encode(&(7u64, "x".to_string()));
        assert_eq!(decode::<(u64, String)>(&bytes, 64), Ok((7, "x".into())));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode::<(u64, String)>(&longer, 64),
            Err(DecodeError::TrailingBytes(1))
        );
        assert!(matches!(
            decode::<(u64, String)>(&bytes, 2),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let bytes = vec![0x81; 100_000]; // arrays of arrays of ...
        assert!(decode::<Vec<u8>>(&bytes, usize::MAX).is_err());
    }

    #[test]
    fn integers_use_the_shortest_form() {
        assert_eq!(encode(&23u64), vec![0x17]);
        assert_eq!(encode(&24u64), vec![0x18, 24]);
        assert_eq!(encode(&256u64), vec![0x19, 1, 0]);
    }
}
