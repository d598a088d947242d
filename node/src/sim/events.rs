//! The simulation's events, queued by virtual time (ties in the order they were scheduled).

use std::sync::Arc;

use bfte_consensus::Timer;

#[derive(Debug)]
pub(super) enum Event {
    Deliver {
        to: usize,
        from: usize,
        bytes: Arc<Vec<u8>>,
    },
    Timer {
        peer: usize,
        timer: Timer,
        generation: u64,
    },
    Submit {
        peer: usize,
    },
    Crash {
        peer: usize,
    },
    Restart {
        peer: usize,
    },
    /// The peer's ledger applies the finalized blocks it has not applied yet.
    Apply {
        peer: usize,
        generation: u64,
    },
    Partition {
        groups: Vec<u8>,
    },
    EndPartition,
    Heal,
    /// The change submitter puts the schedule's membership change `index` into consensus.
    ProposeChange {
        index: usize,
    },
}

#[derive(Debug)]
pub(super) struct Queued {
    pub(super) at: u64,
    pub(super) seq: u64,
    pub(super) event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}
