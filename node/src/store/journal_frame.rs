//! How the commit journal frames a record: its payload's length (u32, little-endian), the first
//! 8 bytes of the BLAKE3 hash of the journal's generation and the payload, then the payload.
//! Reading stops at the first record that is incomplete, fails its check or is of another
//! generation: nothing after it was synced.
//!
//! Uses only blake3: the fuzz crate compiles this file as it is.

/// Bytes before a record's payload: its length and its check.
pub const RECORD_HEAD_BYTES: usize = 4 + 8;

/// The record of `payload` in `generation`; `None` if the payload is too long to frame.
pub fn frame(generation: u64, payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut record = Vec::with_capacity(RECORD_HEAD_BYTES + payload.len());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&check(generation, payload));
    record.extend_from_slice(payload);
    Some(record)
}

/// The payloads of the whole records of `generation` at the start of `bytes`, none longer than
/// `max_payload`, up to the first one that is torn, damaged or of another generation.
pub fn whole_records(mut bytes: &[u8], generation: u64, max_payload: usize) -> Vec<&[u8]> {
    let mut records = Vec::new();
    while bytes.len() >= RECORD_HEAD_BYTES {
        let (head, rest) = bytes.split_at(RECORD_HEAD_BYTES);
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[..4]);
        let len = u32::from_le_bytes(len) as usize;
        if len == 0 || len > rest.len() || len > max_payload {
            break;
        }
        let (payload, after) = rest.split_at(len);
        if head[4..] != check(generation, payload) {
            break;
        }
        records.push(payload);
        bytes = after;
    }
    records
}

/// Bytes of the record of `payload`.
pub fn record_len(payload: &[u8]) -> usize {
    RECORD_HEAD_BYTES + payload.len()
}

fn check(generation: u64, payload: &[u8]) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&generation.to_le_bytes());
    hasher.update(payload);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}
