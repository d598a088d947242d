//! What goes into the core and what comes out of it.

use std::collections::BTreeMap;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::Genesis;
use bfte_shared::item::ConsensusItem;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Proposal, Vote};

/// The time a driver hands the core with every call. Timers and rate limits run on the
/// monotonic clock, so a wall clock stepping back cannot delay a round; the wall clock only
/// stamps proposed blocks and bounds the timestamps of others' proposals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds on a clock that never goes back (any origin, fixed for the core's life).
    pub monotonic_ms: u64,
    /// Milliseconds since the Unix epoch, as the machine's clock says.
    pub wall_ms: u64,
}

/// One clock for both, as the simulator and unit tests keep time.
impl From<u64> for Now {
    fn from(ms: u64) -> Now {
        Now {
            monotonic_ms: ms,
            wall_ms: ms,
        }
    }
}

/// The core's timers, one per round and the resend timer; setting one again replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The timeout of a round: if it fires before the round is certified, vote dummy.
    Round(Round),
    /// Re-send unanswered votes and pull what is missing.
    Resend,
}

/// What the driver stores for a restart. Own votes (so a restart cannot double-vote) and own
/// items must be on disk before any message of the same output is sent; the certificates and
/// notarized blocks of rounds not yet final are stored in the same order, but may reach the
/// disk with the next own signature (SPEC.md, driver contract 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durable {
    Vote(Vote),
    /// An item this peer authored, kept until it is final.
    OwnItem(ConsensusItem),
    Certificate(Certificate),
    /// A block some notarization names.
    Block(Block),
}

impl Durable {
    /// Whether this peer signed it: what a restarted peer must never sign differently, so it
    /// is on disk before anything of its output leaves.
    pub fn is_own_signature(&self) -> bool {
        matches!(self, Durable::Vote(_) | Durable::OwnItem(_))
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    AllPeers,
    Peer(PeerId),
}

/// Proof that a peer signed two conflicting things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    ConflictingVotes(Box<(Vote, Vote)>),
    ConflictingProposals(Box<(Proposal, Proposal)>),
}

/// Blocks that just became final, in height order; `certificate` finalizes the last one and
/// with it all the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalized {
    pub blocks: Vec<Block>,
    pub certificate: Certificate,
}

/// The result of one input. The driver must make every `persist` entry durable before it sends
/// any message in `send`: that is what makes a restart unable to double-vote.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub persist: Vec<Durable>,
    pub send: Vec<(Destination, Message)>,
    pub timers: Vec<(Timer, u64)>,
    pub finalized: Vec<Finalized>,
    /// A peer asked for finalized blocks from this height on; the driver answers from its store
    /// with `Message::Finalized`, since the core keeps no finalized history in memory.
    pub serve_finalized: Vec<(PeerId, Height)>,
    pub evidence: Vec<Evidence>,
}

impl Output {
    /// Whether the driver must sync its store before sending anything of this output.
    pub fn must_sync(&self) -> bool {
        self.persist.iter().any(Durable::is_own_signature)
    }

    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.send.is_empty()
            && self.timers.is_empty()
            && self.finalized.is_empty()
            && self.serve_finalized.is_empty()
            && self.evidence.is_empty()
    }
}

/// What a restarting peer reloads from its database.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The last finalized block (the genesis block on first start).
    pub finalized_tip: Block,
    /// Its finalization (none for the genesis block): how far this peer got, for a peer
    /// restored from a backup that asks (SPEC rule 15).
    pub tip_finalization: Option<Certificate>,
    /// Each author's highest finalized item nonce.
    pub finalized_nonces: BTreeMap<PeerId, u64>,
    /// Every vote this peer signed above the finalized round.
    pub votes: Vec<Vote>,
    /// Items this peer authored that may not be final yet.
    pub own_items: Vec<ConsensusItem>,
    /// Certificates and notarized blocks above the finalized round.
    pub certificates: Vec<Certificate>,
    pub blocks: Vec<Block>,
}

impl Restored {
    /// A first start: nothing but the genesis block.
    pub fn genesis(genesis: &Genesis) -> Restored {
        Restored {
            finalized_tip: Block::genesis(genesis),
            tip_finalization: None,
            finalized_nonces: BTreeMap::new(),
            votes: Vec::new(),
            own_items: Vec::new(),
            certificates: Vec::new(),
            blocks: Vec::new(),
        }
    }
}
