//! Lanes: consensus messages and item gossip travel apart, each with its own send queue, stream
//! and inbound channel, so megabytes of gossip never hold up a vote. The driver takes consensus
//! frames first, but never so many in a row that gossip starves.

use bfte_shared::message::Message;
use tokio::sync::mpsc;

use super::Inbound;

/// Which of a link's streams a frame travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Everything consensus needs to move on: proposals, votes, certificates, catch-up.
    Consensus,
    /// Pending items gossiped by their authors: bulk that can wait.
    Items,
}

impl Lane {
    pub(crate) const COUNT: usize = 2;

    /// The lane `message` travels on.
    pub fn of(message: &Message) -> Lane {
        match message {
            Message::Item(_) | Message::Items(_) => Lane::Items,
            _ => Lane::Consensus,
        }
    }

    /// The first byte of the lane's stream.
    pub fn tag(self) -> u8 {
        match self {
            Lane::Consensus => 0,
            Lane::Items => 1,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Lane> {
        match tag {
            0 => Some(Lane::Consensus),
            1 => Some(Lane::Items),
            _ => None,
        }
    }

    pub(super) fn index(self) -> usize {
        usize::from(self.tag())
    }
}

/// While gossip waits, at most this many consensus frames are taken in a row before one gossip
/// frame: a peer flooding the consensus lane slows gossip down, it cannot stop it.
pub(super) const CONSENSUS_IN_A_ROW: u32 = 16;

/// The frames received from every peer, one channel per lane.
#[derive(Debug)]
pub struct InboundFrames {
    consensus: mpsc::Receiver<Inbound>,
    items: mpsc::Receiver<Inbound>,
    /// Consensus frames taken since the last gossip frame.
    in_a_row: u32,
}

impl InboundFrames {
    pub(super) fn new(
        consensus: mpsc::Receiver<Inbound>,
        items: mpsc::Receiver<Inbound>,
    ) -> InboundFrames {
        InboundFrames {
            consensus,
            items,
            in_a_row: 0,
        }
    }

    /// The next frame, waiting for one; `None` once the network is gone.
    pub async fn recv(&mut self) -> Option<Inbound> {
        if let Some(frame) = self.try_recv() {
            return Some(frame);
        }
        let (lane, frame) = tokio::select! {
            Some(frame) = self.consensus.recv() => (Lane::Consensus, frame),
            Some(frame) = self.items.recv() => (Lane::Items, frame),
            else => return None,
        };
        self.took(lane);
        Some(frame)
    }

    /// A frame that is waiting now: a consensus one first, unless [`CONSENSUS_IN_A_ROW`] of
    /// them were just taken while gossip waited.
    pub fn try_recv(&mut self) -> Option<Inbound> {
        let order = if self.in_a_row >= CONSENSUS_IN_A_ROW {
            [Lane::Items, Lane::Consensus]
        } else {
            [Lane::Consensus, Lane::Items]
        };
        for lane in order {
            let channel = match lane {
                Lane::Consensus => &mut self.consensus,
                Lane::Items => &mut self.items,
            };
            if let Ok(frame) = channel.try_recv() {
                self.took(lane);
                return Some(frame);
            }
        }
        None
    }

    fn took(&mut self, lane: Lane) {
        self.in_a_row = match lane {
            Lane::Consensus => self.in_a_row.saturating_add(1),
            Lane::Items => 0,
        };
    }
}
