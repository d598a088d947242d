//! The subscription stream: after `AdminRequest::Subscribe` the node pushes one
//! `AdminResponse::Event` frame per thing that happened, as it happens.

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::join::PendingJoin;
use crate::modules::ctrl::{EpochConfig, Proposal};
use crate::peer::PeerId;
use crate::round::{Height, Round};

/// One event with the node's wall-clock time (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFrame {
    pub at_ms: u64,
    pub event: AdminEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminEvent {
    /// The node entered a round.
    RoundStarted {
        round: Round,
        leader: PeerId,
    },
    /// A proposal the node sent or received (first sight per round and proposer).
    ProposalSeen {
        round: Round,
        proposer: PeerId,
        height: Height,
        block: Hash,
        items: u32,
    },
    /// A vote the node cast or received.
    VoteSeen {
        round: Round,
        signer: PeerId,
        kind: VoteSort,
    },
    /// A round got a notarization (first sight).
    Notarized {
        round: Round,
        block: Hash,
    },
    /// A round got a dummy certificate (first sight), and why, as this node saw the round.
    DummyCertified {
        round: Round,
        cause: DummyCause,
    },
    /// A block became final (its unfinal ancestors each get their own event first).
    Finalized {
        height: Height,
        round: Round,
        block: Hash,
        proposer: PeerId,
        items: u32,
        /// On the block's proposer only: microseconds from the start of the driver batch that
        /// proposed it to its finalization here, the latency commonware reports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proposed_here_us: Option<u64>,
    },
    PeerConnected {
        peer: PeerId,
    },
    /// The node caught `offender` signing two conflicting messages in `round` (`what`: votes
    /// or proposals); the proof goes into consensus as an evidence item.
    Evidence {
        offender: PeerId,
        round: Round,
        what: String,
    },
    PeerLost {
        peer: PeerId,
    },
    /// A node asked to join; it waits in `AdminRequest::Joins` as `join`.
    JoinRequested {
        join: PendingJoin,
    },
    /// A pending join request is gone from `AdminRequest::Joins`: its peer became a member
    /// (`admitted`), or an admin rejected it here.
    JoinClosed {
        peer: PeerId,
        admitted: bool,
    },
    /// A consensus_ctrl proposal was made, voted on, passed or rejected: its new state.
    ProposalChanged {
        proposal: Proposal,
    },
    /// A new epoch started: the peer set or parameters in force from `epoch.start_height` on.
    EpochStarted {
        epoch: EpochConfig,
    },
    /// One formatted line of the node's log.
    Log {
        level: LogLevel,
        line: String,
    },
    /// The last frame of a subscription: the client read too slowly and missed `missed`
    /// events, so the node dropped it rather than wait. Reconnect and resubscribe.
    DroppedSlow {
        missed: u64,
    },
}

/// Why a round ended with a dummy certificate instead of a block, from what this node saw of
/// the round when the certificate arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DummyCause {
    /// No proposal from the leader reached this node: the leader is offline, or cut off.
    LeaderSilent { leader: PeerId },
    /// The leader's proposal broke a rule, named here; this node voted dummy.
    ProposalInvalid { why: String },
    /// A valid proposal arrived, but too few notarize votes did before the round timed out.
    Timeout,
}

impl DummyCause {
    /// The cause in a few words, most telling first (a narrow column keeps the start).
    pub fn brief(&self) -> String {
        match self {
            DummyCause::LeaderSilent { .. } => "leader offline: no proposal".into(),
            DummyCause::ProposalInvalid { why } => format!("proposal invalid: {why}"),
            DummyCause::Timeout => "timeout: too few votes in time".into(),
        }
    }
}

/// The kind of a vote without the block hash it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VoteSort {
    Notarize,
    Dummy,
    Finalize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }
}
