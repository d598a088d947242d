//! The alert list: what an operator should know happened, with its node time, newest last.
//! Stalls begin and end, peers disconnect and come back, epochs start, evidence is found.

use std::collections::VecDeque;

use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

/// Alerts kept; older ones fall off.
pub const KEPT_ALERTS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertKind {
    /// Finality stalled; why, in the overview's words.
    Stalled(String),
    /// Blocks finalize again.
    Recovered,
    Disconnected(PeerId),
    Reconnected(PeerId),
    /// An epoch started at this height with this many peers.
    Epoch {
        number: u64,
        start_height: u64,
        peers: usize,
    },
    /// A peer signed conflicting messages in a round.
    Evidence {
        offender: PeerId,
        round: Round,
        what: String,
    },
}

impl AlertKind {
    /// Whether the alert reports a problem (as opposed to one going away).
    pub fn is_bad(&self) -> bool {
        matches!(
            self,
            AlertKind::Stalled(_) | AlertKind::Disconnected(_) | AlertKind::Evidence { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub at_ms: u64,
    pub kind: AlertKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alerts {
    alerts: VecDeque<Alert>,
}

impl Alerts {
    pub fn push(&mut self, at_ms: u64, kind: AlertKind) {
        if self.alerts.len() >= KEPT_ALERTS {
            self.alerts.pop_front();
        }
        self.alerts.push_back(Alert { at_ms, kind });
    }

    /// Newest first.
    pub fn newest(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_bounded_and_newest_first() {
        let mut alerts = Alerts::default();
        for n in 0..KEPT_ALERTS as u64 + 5 {
            alerts.push(n, AlertKind::Recovered);
        }
        assert_eq!(alerts.len(), KEPT_ALERTS);
        let times: Vec<u64> = alerts.newest().map(|a| a.at_ms).take(2).collect();
        assert_eq!(times, [KEPT_ALERTS as u64 + 4, KEPT_ALERTS as u64 + 3]);
    }
}
