//! What a run measured besides its invariants: when each correct leader sent its proposal and
//! when each correct peer committed that block final (simulated time), and the real time each
//! peer's driver step took.

use std::collections::HashMap;
use std::time::Duration;

use bfte_shared::hash::Hash;

/// One block final at one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finality {
    pub leader: usize,
    pub peer: usize,
    /// From the leader sending the proposal to the peer committing the block as final.
    pub latency_ms: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Proposals of correct leaders by block: (leader, sent at).
    proposed: HashMap<Hash, (usize, u64)>,
    pub finalities: Vec<Finality>,
    /// Real time spent per peer in its step and in decoding the messages it received: the
    /// consensus core with its crypto and codec, the node's driver step, and the simulator's
    /// bookkeeping for that peer (event scheduling, invariant checks).
    pub busy: Vec<Duration>,
    pub first_proposal_ms: Option<u64>,
    pub last_final_ms: u64,
}

impl Probe {
    pub(super) fn new(peers: usize) -> Probe {
        Probe {
            busy: vec![Duration::ZERO; peers],
            ..Probe::default()
        }
    }

    pub(super) fn proposed(&mut self, leader: usize, block: Hash, now: u64) {
        self.proposed.entry(block).or_insert((leader, now));
        self.first_proposal_ms.get_or_insert(now);
    }

    pub(super) fn finalized(&mut self, peer: usize, block: Hash, now: u64) {
        if let Some(&(leader, sent)) = self.proposed.get(&block) {
            self.finalities.push(Finality {
                leader,
                peer,
                latency_ms: now - sent,
            });
            self.last_final_ms = now;
        }
    }

    pub(super) fn spent(&mut self, peer: usize, time: Duration) {
        self.busy[peer] += time;
    }
}
