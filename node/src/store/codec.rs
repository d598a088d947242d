//! Stored values: canonical CBOR in, size-limited decoding out, failures as typed errors.

use std::path::Path;

use bfte_shared::codec;
use bfte_shared::message::MAX_MESSAGE_BYTES;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::StoreError;
use super::finalized_row::FinalizedEntry;
use super::tables::name;

/// Largest value the store writes or reads. Everything stored arrived in, or fits in, one wire
/// message (a block in a proposal); a finalized entry adds a certificate to a block. Twice the
/// message limit leaves room for that and still stops a damaged length field from allocating
/// gigabytes.
pub(crate) const MAX_VALUE_BYTES: usize = 2 * MAX_MESSAGE_BYTES;

/// Encodes a value for `table`, refusing one the store could not read back.
pub(super) fn encode<T: Serialize + ?Sized>(
    path: &Path,
    table: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    let bytes = codec::encode(value);
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(StoreError::TooLarge {
            path: path.to_path_buf(),
            table,
            len: bytes.len(),
            limit: MAX_VALUE_BYTES,
        });
    }
    Ok(bytes)
}

/// Decodes a value read from `table`; anything that does not decode is `Corrupt`.
pub(super) fn decode<T: DeserializeOwned>(
    path: &Path,
    table: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    codec::decode(bytes, MAX_VALUE_BYTES)
        .map_err(|e| StoreError::corrupt(path, table, e.to_string()))
}

/// Reads a row of the `finalized` table, refusing a damaged one that decodes to another block
/// (`FinalizedEntry::from_row`).
pub(super) fn decode_finalized(path: &Path, bytes: &[u8]) -> Result<FinalizedEntry, StoreError> {
    FinalizedEntry::from_row(bytes, MAX_VALUE_BYTES)
        .map_err(|detail| StoreError::corrupt(path, name::FINALIZED, detail))
}
