//! The property every decoder target checks: bytes either fail to decode with a typed error,
//! or decode to a value whose canonical encoding decodes again to a value with that same
//! encoding. A value that changes when it goes round once more would make two peers hash or
//! sign different bytes for what they both believe is the same value.

use bfte_shared::codec;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `bytes` as `T` under `limit` as the node does and checks the round trip; returns the
/// value so a target can go on to use it.
pub fn round_trip<T: Serialize + DeserializeOwned>(bytes: &[u8], limit: usize) -> Option<T> {
    let value: T = codec::decode(bytes, limit).ok()?;
    let encoded = codec::encode(&value);
    assert!(
        codec::encodes_to(&value, &encoded),
        "encoding {} twice gave different bytes",
        std::any::type_name::<T>()
    );
    let again: T = match codec::decode(&encoded, usize::MAX) {
        Ok(again) => again,
        Err(e) => panic!(
            "the canonical encoding of a decoded {} does not decode: {e}",
            std::any::type_name::<T>()
        ),
    };
    assert!(
        codec::encodes_to(&again, &encoded),
        "a decoded {} changed when encoded and decoded once more",
        std::any::type_name::<T>()
    );
    Some(value)
}

/// The same check for JSON, the format of the node's files.
pub fn json_round_trip<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(bytes).ok()?;
    let encoded = match serde_json::to_vec(&value) {
        Ok(encoded) => encoded,
        Err(e) => panic!(
            "a decoded {} does not encode: {e}",
            std::any::type_name::<T>()
        ),
    };
    let again: T = match serde_json::from_slice(&encoded) {
        Ok(again) => again,
        Err(e) => panic!(
            "the JSON of a decoded {} does not decode: {e}",
            std::any::type_name::<T>()
        ),
    };
    let twice = serde_json::to_vec(&again).ok();
    assert_eq!(
        twice.as_deref(),
        Some(&encoded[..]),
        "a decoded {} changed when encoded and decoded once more",
        std::any::type_name::<T>()
    );
    Some(value)
}
