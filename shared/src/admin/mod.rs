//! The admin API between a node and its local clients (the CLI, the console): length-prefixed
//! CBOR frames over the unix socket `<data-dir>/admin.sock`, opened by a version handshake.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::certificate::Certificate;
use crate::codec::{self, DecodeError};
use crate::federation::FederationId;
use crate::hash::Hash;
use crate::peer::PeerId;
use crate::round::{Height, Round};

/// Bumped on any incompatible change; both ends say theirs first and refuse a mismatch.
pub const ADMIN_PROTOCOL_VERSION: u32 = 1;
/// No admin frame may be larger.
pub const MAX_ADMIN_FRAME: usize = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    Hello {
        version: u32,
    },
    Status,
    /// Put an item into the node's outbox; answered once the node accepted it.
    Submit {
        data: Vec<u8>,
    },
    /// Finalized blocks from `from`, at most `limit`.
    Blocks {
        from: Height,
        limit: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminResponse {
    Hello { version: u32 },
    Status(Status),
    Submitted { item: Hash, nonce: u64 },
    Blocks(Vec<FinalizedBlock>),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub federation_id: FederationId,
    pub federation_name: String,
    pub peer_id: PeerId,
    pub role: String,
    pub round: Round,
    pub leader: PeerId,
    pub finalized_height: Height,
    pub pending_items: u64,
    pub peers: Vec<PeerStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub id: PeerId,
    pub name: String,
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedBlock {
    pub block: Block,
    pub certificate: Option<Certificate>,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("undecodable frame: {0}")]
    Decode(#[from] DecodeError),
}

/// Writes one value as a u32 big-endian length and its CBOR bytes.
pub fn write_frame<T: Serialize>(mut out: impl Write, value: &T) -> Result<(), FrameError> {
    let bytes = codec::encode(value);
    let len = u32::try_from(bytes.len()).map_err(|_| FrameError::TooLarge(bytes.len()))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// Reads one frame written by `write_frame`, refusing oversized ones before allocating.
pub fn read_frame<T: serde::de::DeserializeOwned>(mut input: impl Read) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ADMIN_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(codec::decode(&bytes, MAX_ADMIN_FRAME)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_refuse_oversized_lengths() {
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &AdminRequest::Status).expect("write");
        let back: AdminRequest = read_frame(buffer.as_slice()).expect("read");
        assert_eq!(back, AdminRequest::Status);
        let huge = u32::MAX.to_be_bytes();
        assert!(matches!(
            read_frame::<AdminRequest>(huge.as_slice()),
            Err(FrameError::TooLarge(_))
        ));
        assert!(read_frame::<AdminRequest>([0, 0, 0, 3, 1].as_slice()).is_err());
    }
}
