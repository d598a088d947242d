//! The simulation's events, queued by virtual time (ties in the order they were scheduled).

use std::sync::Arc;

#[derive(Debug)]
pub(super) enum Event {
    Deliver {
        to: usize,
        from: usize,
        bytes: Arc<Vec<u8>>,
    },
    /// One of the peer's core timers may be due.
    Timer {
        peer: usize,
    },
    /// The peer's batch of inputs ends: its step commits and carries it out.
    Flush {
        peer: usize,
    },
    Submit {
        peer: usize,
    },
    Crash {
        peer: usize,
        /// Comes back from its backup rather than its last sync.
        from_backup: bool,
    },
    Restart {
        peer: usize,
    },
    /// The peer's ledger may apply the finalized blocks up to `height`.
    Apply {
        peer: usize,
        height: u64,
    },
    /// The peer's transport notices a connection to `with` came up.
    Connected {
        peer: usize,
        with: usize,
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
