//! The simulated network: per-message latency with jitter (which reorders), loss,
//! duplication, and partitions. Faults are properties of the network, not of the peers.

use rand::{Rng, RngExt};

use super::regions::Regions;

/// How links behave while faults are on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkModel {
    pub min_latency_ms: u64,
    pub max_latency_ms: u64,
    /// Probability in [0, 1] that a message is lost.
    pub loss: f64,
    /// Probability in [0, 1] that a message arrives twice.
    pub duplicate: f64,
}

impl LinkModel {
    /// After the network heals: short latency and the given residual loss; duplication and
    /// reordering stay.
    pub fn healed(self, loss: f64) -> LinkModel {
        LinkModel {
            min_latency_ms: 1,
            max_latency_ms: self.max_latency_ms.clamp(1, 20),
            loss,
            duplicate: self.duplicate,
        }
    }
}

#[derive(Debug)]
pub struct Network {
    pub link: LinkModel,
    /// Group of each peer while partitioned; messages cross only within a group.
    pub partition: Option<Vec<u8>>,
    /// Wide-area latencies, which replace the link's (healed or not) when set.
    pub regions: Option<Regions>,
}

impl Network {
    /// When copies of a message sent now from `from` to `to` arrive (none if lost).
    pub fn transmit<R: Rng>(&self, rng: &mut R, now: u64, from: usize, to: usize) -> Vec<u64> {
        if let Some(groups) = &self.partition
            && groups.get(from) != groups.get(to)
        {
            return Vec::new();
        }
        if rng.random_bool(self.link.loss) {
            return Vec::new();
        }
        let copies = if rng.random_bool(self.link.duplicate) {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| match &self.regions {
                Some(regions) => now + regions.delay(rng, from, to),
                None => now + rng.random_range(self.link.min_latency_ms..=self.link.max_latency_ms),
            })
            .collect()
    }
}
