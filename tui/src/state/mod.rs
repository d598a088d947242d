//! What the console knows about the node, built from the admin API: a snapshot at connect,
//! then one event at a time. Applying an event never awaits and says whether anything
//! visible changed.

mod blocks;
mod log;
mod rates;
mod rounds;

use bfte_shared::admin::{AdminEvent, EventFrame, FinalizedBlock, PeerInfo, Status};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

pub use blocks::{BlockSummary, Blocks, KEPT_BLOCKS};
pub use log::{KEPT_LINES, Log, LogLine};
pub use rates::{Rates, WINDOW_SECS};
pub use rounds::{KEPT_ROUNDS, Outcome, PeerMarks, RoundRow, Rounds};

/// Rounds without a finalized block after which the overview raises the stall alert.
pub const STALL_ROUNDS: u64 = 5;

/// What a fresh connection loads before it follows events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub status: Status,
    pub peers: Vec<PeerInfo>,
    /// The most recent finalized blocks, oldest first.
    pub blocks: Vec<FinalizedBlock>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub status: Option<Status>,
    pub peers: Vec<PeerInfo>,
    pub rounds: Rounds,
    pub blocks: Blocks,
    pub log: Log,
    pub rates: Rates,
}

impl NodeView {
    /// Starts over from a snapshot (a first connection or a node that restarted); the rounds,
    /// rates and log seen so far stay, they are history.
    pub fn load(&mut self, snapshot: Snapshot) {
        self.blocks.clear();
        for stored in &snapshot.blocks {
            self.blocks.push(BlockSummary::from_stored(stored));
        }
        self.status = Some(snapshot.status);
        self.peers = snapshot.peers;
    }

    /// Applies one event; `false` when it changed nothing the screens show.
    pub fn apply(&mut self, frame: &EventFrame) -> bool {
        let at = frame.at_ms;
        match &frame.event {
            AdminEvent::RoundStarted { round, leader } => {
                if let Some(status) = &mut self.status {
                    status.round = status.round.max(*round);
                    status.leader = *leader;
                }
                self.rounds.started(*round, *leader, at);
            }
            AdminEvent::ProposalSeen {
                round, proposer, ..
            } => self.rounds.proposed(*round, *proposer),
            AdminEvent::VoteSeen {
                round,
                signer,
                kind,
            } => {
                self.rounds.voted(*round, *signer, *kind);
                if let Some(peer) = self.peers.iter_mut().find(|p| p.id == *signer) {
                    peer.last_vote_round = peer.last_vote_round.max(Some(*round));
                }
            }
            AdminEvent::Notarized { round, .. } => self.rounds.ended(*round, Outcome::Notarized),
            AdminEvent::DummyCertified { round } => self.rounds.ended(*round, Outcome::Dummy),
            AdminEvent::Finalized {
                height,
                round,
                block,
                proposer,
                items,
            } => {
                self.blocks.push(BlockSummary {
                    height: *height,
                    round: *round,
                    hash: *block,
                    proposer: *proposer,
                    items: *items,
                    at_ms: at,
                });
                if let Some(status) = &mut self.status {
                    status.finalized_height = status.finalized_height.max(*height);
                }
                self.rounds.ended(*round, Outcome::Finalized);
                self.rates.finalized(at, *items);
            }
            AdminEvent::PeerConnected { peer } => self.set_connected(peer, true),
            AdminEvent::PeerLost { peer } => self.set_connected(peer, false),
            AdminEvent::Log { level, line } => self.log.push(LogLine {
                at_ms: at,
                level: *level,
                text: line.clone(),
            }),
            AdminEvent::DroppedSlow { .. } => return false,
        }
        true
    }

    fn set_connected(&mut self, peer: &PeerId, up: bool) {
        if let Some(info) = self.peers.iter_mut().find(|p| p.id == *peer) {
            info.connected = up;
            if !up {
                info.path = None;
                info.rtt_us = None;
            }
        }
    }

    /// A peer's name, or its short id when the node did not say.
    pub fn name_of(&self, id: &PeerId) -> String {
        self.peers
            .iter()
            .find(|p| p.id == *id && !p.name.is_empty())
            .map_or_else(|| id.short(), |p| p.name.clone())
    }

    pub fn finalized_height(&self) -> Height {
        self.status
            .as_ref()
            .map_or(Height(0), |s| s.finalized_height)
    }

    /// Rounds since the last finalized block's round.
    pub fn finality_lag(&self) -> Option<u64> {
        let round = self.status.as_ref()?.round;
        let finalized = self.blocks.tip_round()?;
        Some(round.0.saturating_sub(finalized.0))
    }

    /// Whether finality looks stuck: rounds keep passing without a finalized block.
    pub fn stalled(&self) -> bool {
        self.finality_lag().is_some_and(|lag| lag >= STALL_ROUNDS)
    }
}
