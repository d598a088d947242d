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

/// Whether `bytes` are exactly `value`'s encoding, compared as it is encoded, without keeping
/// a copy.
pub fn encodes_to<T: Serialize + ?Sized>(value: &T, bytes: &[u8]) -> bool {
    struct Comparer<'a> {
        rest: &'a [u8],
        same: bool,
    }
    impl std::io::Write for Comparer<'_> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            match self.rest.strip_prefix(bytes) {
                Some(rest) if self.same => self.rest = rest,
                _ => self.same = false,
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut comparer = Comparer {
        rest: bytes,
        same: true,
    };
    if let Err(e) = ciborium::into_writer(value, &mut comparer) {
        panic!("CBOR encoding into a comparer failed, a Serialize impl is broken: {e}");
    }
    comparer.same && comparer.rest.is_empty()
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

    #[test]
    fn encodes_to_holds_only_for_the_exact_encoding() {
        let value = (300u64, "abc".to_string(), vec![1u8, 2, 3]);
        let bytes = encode(&value);
        assert!(encodes_to(&value, &bytes));
        assert!(!encodes_to(&value, &bytes[..bytes.len() - 1]), "short");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(!encodes_to(&value, &longer), "trailing");
        let mut changed = bytes.clone();
        changed[1] ^= 1;
        assert!(!encodes_to(&value, &changed), "a changed byte");
        // The same value in a longer integer form decodes the same but is not canonical.
        let long_form = [&[0x83, 0x1a, 0, 0, 1, 0x2c][..], &bytes[4..]].concat();
        assert_eq!(
            decode::<(u64, String, Vec<u8>)>(&long_form, 64),
            Ok(value.clone())
        );
        assert!(!encodes_to(&value, &long_form));
    }
}
