//! Splitting a target's input into a selector byte and the bytes for the chosen decoder, so
//! one target (one CI slot) covers a family of decoders. The selectors are named here, where
//! the targets and the seed generator (`examples/write_seeds.rs`) both read them.

/// The first byte picks one of `choices` decoders; the rest is its input.
pub fn split(data: &[u8], choices: u8) -> Option<(u8, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((first % choices, rest))
}

/// The `wire` target's decoders.
pub mod wire {
    pub const MESSAGE: u8 = 0;
    pub const JOIN_REQUEST: u8 = 1;
    pub const JOIN_REPLY: u8 = 2;
    pub const HISTORY_REQUEST: u8 = 3;
    pub const HISTORY_INDEX: u8 = 4;
    pub const CHAIN_PART: u8 = 5;
    pub const CTRL_ITEM: u8 = 6;
    pub const ATTEST_ITEM: u8 = 7;
    pub const META_ITEM: u8 = 8;
    pub const EVIDENCE_PROOF: u8 = 9;
    pub const CHOICES: u8 = 10;
}

/// The `admin` target's decoders.
pub mod admin {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 1;
    pub const FRAMED_REQUEST: u8 = 2;
    pub const FRAMED_RESPONSE: u8 = 3;
    pub const CHOICES: u8 = 4;
}

/// The `files` target's decoders.
pub mod files {
    pub const INVITE: u8 = 0;
    pub const GENESIS: u8 = 1;
    pub const GENESIS_JSON: u8 = 2;
    pub const TEXT: u8 = 3;
    /// One byte for the epoch's peer count, then the segment.
    pub const SEGMENT: u8 = 4;
    pub const VOTE: u8 = 5;
    pub const ITEM: u8 = 6;
    pub const CERTIFICATE: u8 = 7;
    pub const BLOCK: u8 = 8;
    pub const FINALIZED_ENTRY: u8 = 9;
    pub const PENDING_JOIN: u8 = 10;
    pub const EPOCH_CONFIG: u8 = 11;
    pub const BLOCK_OUTCOME: u8 = 12;
    pub const COUNTER: u8 = 13;
    /// One byte for the generation, then the commit journal's records.
    pub const JOURNAL: u8 = 14;
    /// One commit journal record's payload.
    pub const JOURNAL_RECORD: u8 = 15;
    pub const CHOICES: u8 = 16;
}
