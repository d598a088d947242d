//! The admin API between a node and its local clients (the CLI, the console): length-prefixed
//! CBOR frames over unix sockets in the data directory, opened by a version handshake.
//!
//! - `admin.sock` takes every request.
//! - `admin-ro.sock` takes only reads: a write ([`AdminRequest::is_write`]) is answered with an
//!   error. Give it to tools that must not change anything (dashboards, a watching console).
//!
//! Requests are answered one by one, except [`AdminRequest::Subscribe`]: it is answered with
//! [`AdminResponse::Subscribed`] and from then on the connection carries only
//! [`AdminResponse::Event`] frames, ending with [`AdminEvent::DroppedSlow`] if the client
//! fell too far behind.

mod events;
mod views;

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::codec::{self, DecodeError};
use crate::hash::Hash;
use crate::item::{Entry, ModuleId};
use crate::join::PendingJoin;
use crate::ledger::BlockOutcome;
use crate::modules::ctrl::{Change, EpochConfig, Proposal, ProposalId};
use crate::peer::PeerId;
use crate::round::Height;

pub use events::{AdminEvent, DummyCause, EventFrame, LogLevel, VoteSort};
pub use views::{
    BlockDetail, FINALITY_STALL_MS, FinalizedBlock, PeerInfo, PeerPath, PeerStatus, Replication,
    ServedReplica, Status,
};

/// Bumped on any incompatible change; both ends say theirs first and refuse a mismatch.
pub const ADMIN_PROTOCOL_VERSION: u32 = 9;
/// No admin frame may be larger.
pub const MAX_ADMIN_FRAME: usize = 32 << 20;
/// The socket that takes every request, in the data directory.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// The socket that refuses writes, beside it.
pub const ADMIN_READ_ONLY_SOCKET: &str = "admin-ro.sock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    Hello {
        version: u32,
    },
    Status,
    /// Put an entry of the data module into the node's outbox; answered once it is durable
    /// there. The node signs every submission of one batch together, as one item.
    Submit {
        data: Vec<u8>,
    },
    /// Finalized blocks from `from`, at most `limit`.
    Blocks {
        from: Height,
        limit: u32,
    },
    /// Every peer of the federation with its connection.
    Peers,
    /// One finalized block with its certificate and items.
    Block {
        height: Height,
    },
    /// Turn this connection into a stream of events.
    Subscribe,
    /// Put a module's item (its CBOR item type, see `crate::modules`) into the node's outbox;
    /// answered like `Submit`.
    SubmitItem {
        module: ModuleId,
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Put many entries (any modules) into the node's outbox at once: signed together, in
    /// this order, unless they are more than a block may carry. Answered with
    /// [`AdminResponse::SubmittedMany`], one receipt per entry, once they are durable.
    SubmitMany {
        entries: Vec<Entry>,
    },
    /// What applying the finalized block at `height` did: entry outcomes, effects, changes.
    Outcome {
        height: Height,
    },
    /// Every entry of one module table, in key order (at most `MAX_MODULE_ENTRIES`).
    ModuleEntries {
        module: ModuleId,
        table: String,
    },
    /// Every consensus_ctrl proposal, newest first (at most `MAX_PROPOSALS`).
    Proposals,
    /// Propose a change (the node's own yes vote comes with it).
    Propose {
        change: Change,
    },
    /// Vote on an open proposal.
    Vote {
        proposal: ProposalId,
        yes: bool,
    },
    /// The join requests this node holds as pending.
    Joins,
    /// Vote to add a pending joiner: proposes adding it, or votes yes on the open proposal that
    /// does.
    Approve {
        peer: PeerId,
    },
    /// Drop a pending join request here (other peers keep theirs).
    Reject {
        peer: PeerId,
    },
    /// An invite code for a new node.
    Invite,
    /// The configuration consensus runs under now.
    Epoch,
    /// Copy the database, as of one moment, to `path` (absolute, on the node's machine), as a
    /// database marked restored-from-backup; refuses an existing file unless `replace`.
    /// Answered with [`AdminResponse::BackedUp`] once the copy is synced and in place.
    Backup {
        path: String,
        replace: bool,
    },
}

/// Most proposals one `Proposals` answer carries.
pub const MAX_PROPOSALS: usize = 1_000;

/// Most entries one `ModuleEntries` answer carries.
pub const MAX_MODULE_ENTRIES: usize = 10_000;

impl AdminRequest {
    /// Whether the request changes anything; the read-only socket refuses these.
    pub fn is_write(&self) -> bool {
        match self {
            AdminRequest::Submit { .. }
            | AdminRequest::SubmitItem { .. }
            | AdminRequest::SubmitMany { .. }
            | AdminRequest::Propose { .. }
            | AdminRequest::Vote { .. }
            | AdminRequest::Approve { .. }
            | AdminRequest::Reject { .. }
            // It writes a file wherever the node may.
            | AdminRequest::Backup { .. } => true,
            AdminRequest::Hello { .. }
            | AdminRequest::Status
            | AdminRequest::Blocks { .. }
            | AdminRequest::Peers
            | AdminRequest::Block { .. }
            | AdminRequest::Subscribe
            | AdminRequest::Outcome { .. }
            | AdminRequest::ModuleEntries { .. }
            | AdminRequest::Proposals
            | AdminRequest::Joins
            | AdminRequest::Invite
            | AdminRequest::Epoch => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminResponse {
    Hello {
        version: u32,
    },
    Status(Status),
    Submitted(Receipt),
    /// One receipt per entry of a `SubmitMany`, in its order: `None` for an entry the node
    /// refused (larger than a block, or the outbox full).
    SubmittedMany(Vec<Option<Receipt>>),
    Blocks(Vec<FinalizedBlock>),
    Peers(Vec<PeerInfo>),
    /// `None` when no block is final at that height yet.
    Block(Option<BlockDetail>),
    /// The subscription started; `status` was taken after it did, so no event between the two
    /// is missed (some may repeat what the status already shows).
    Subscribed {
        status: Status,
    },
    Event(EventFrame),
    /// `None` when the block at that height is not applied yet.
    Outcome(Option<BlockOutcome>),
    /// A module table's entries: CBOR keys and values as the module stores them.
    ModuleEntries(Vec<ModuleEntry>),
    Proposals(Vec<Proposal>),
    Joins(Vec<PendingJoin>),
    /// A write that puts nothing into consensus is done (`Reject`).
    Done,
    Invite(String),
    Epoch(EpochConfig),
    /// A backup is in place: how many tables and entries it holds, and its size.
    BackedUp {
        tables: u32,
        entries: u64,
        bytes: u64,
    },
    Error(String),
}

/// Where a submitted entry is: the signed item that carries it (its id and nonce) and its
/// position in that item's entries. Its outcome is at that position among the item's entries
/// once the item is final (`Outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub item: Hash,
    pub nonce: u64,
    pub index: u32,
}

/// One entry of a module table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEntry {
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "a frame of {0} bytes is over the admin protocol's limit of {MAX_ADMIN_FRAME} bytes; \
         send less at once (fewer or smaller entries per request)"
    )]
    TooLarge(usize),
    #[error("undecodable frame: {0}")]
    Decode(#[from] DecodeError),
}

/// Writes one value as a u32 big-endian length and its CBOR bytes.
pub fn write_frame<T: Serialize>(mut out: impl Write, value: &T) -> Result<(), FrameError> {
    let bytes = codec::encode(value);
    // The other end would refuse it unread: say so here, before sending anything.
    if bytes.len() > MAX_ADMIN_FRAME {
        return Err(FrameError::TooLarge(bytes.len()));
    }
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
    fn only_submit_is_a_write() {
        assert!(AdminRequest::Submit { data: vec![] }.is_write());
        for read in [
            AdminRequest::Status,
            AdminRequest::Peers,
            AdminRequest::Block { height: Height(1) },
            AdminRequest::Subscribe,
        ] {
            assert!(!read.is_write(), "{read:?}");
        }
    }

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
        let oversized = AdminRequest::Submit {
            data: vec![7; MAX_ADMIN_FRAME],
        };
        let mut unsent = Vec::new();
        assert!(matches!(
            write_frame(&mut unsent, &oversized),
            Err(FrameError::TooLarge(_))
        ));
        assert!(unsent.is_empty(), "nothing of it was sent");
    }
}
