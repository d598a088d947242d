//! A wide-area latency model: peers spread round-robin over ten public cloud regions, each
//! message delayed by its regions' one-way latency plus a small jitter from the run's RNG.

use rand::{Rng, RngExt};

/// The ten AWS regions of commonware's alto deployment, in the order peers are dealt to them.
pub const REGIONS: [&str; 10] = [
    "us-west-1",
    "us-east-1",
    "eu-west-1",
    "ap-northeast-1",
    "eu-north-1",
    "ap-south-1",
    "sa-east-1",
    "eu-central-1",
    "ap-northeast-2",
    "ap-southeast-2",
];

/// Round-trip times between the regions in ms: cloudping.co's p50 over one year, as embedded in
/// commonware's estimator (`examples/estimator/src/p50.json` in commonwarexyz/monorepo, whose
/// README simulates this "alto-like network"). Each pair is the mean of both directions,
/// rounded; the diagonal is between instances of one region.
const RTT_MS: [[u64; 10]; 10] = [
    [3, 64, 130, 108, 173, 232, 175, 153, 134, 139], // us-west-1
    [64, 6, 70, 150, 112, 191, 115, 93, 180, 200],   // us-east-1
    [130, 70, 3, 202, 40, 126, 178, 27, 233, 256],   // eu-west-1
    [108, 150, 202, 3, 247, 134, 259, 227, 36, 106], // ap-northeast-1
    [173, 112, 40, 247, 3, 149, 223, 23, 250, 271],  // eu-north-1
    [232, 191, 126, 134, 149, 3, 301, 129, 135, 155], // ap-south-1
    [175, 115, 178, 259, 223, 301, 3, 204, 290, 312], // sa-east-1
    [153, 93, 27, 227, 23, 129, 204, 4, 231, 252],   // eu-central-1
    [134, 180, 233, 36, 250, 135, 290, 231, 4, 146], // ap-northeast-2
    [139, 200, 256, 106, 271, 155, 312, 252, 146, 4], // ap-southeast-2
];

/// Jitter is drawn uniformly from 0 to this fraction of the one-way delay (at least 1 ms):
/// cloudping's p90 is within a few percent of its p50 on most of these pairs.
const JITTER_DIVISOR: u64 = 20;

/// Which region each peer is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions {
    region_of: Vec<usize>,
}

impl Regions {
    /// Peer i in region i mod 10.
    pub fn round_robin(peers: usize) -> Regions {
        Regions {
            region_of: (0..peers).map(|peer| peer % REGIONS.len()).collect(),
        }
    }

    pub fn region_name(&self, peer: usize) -> &'static str {
        REGIONS[self.region_of[peer]]
    }

    /// The one-way delay between two peers without jitter: half their regions' round trip.
    pub fn base_ms(&self, from: usize, to: usize) -> u64 {
        if from == to {
            return 0;
        }
        RTT_MS[self.region_of[from]][self.region_of[to]].div_ceil(2)
    }

    /// When a message sent now from `from` arrives at `to`: never before the base delay.
    pub fn delay<R: Rng>(&self, rng: &mut R, from: usize, to: usize) -> u64 {
        let base = self.base_ms(from, to);
        base + rng.random_range(0..=(base / JITTER_DIVISOR).max(1))
    }

    /// The base one-way delays between every pair of peers.
    pub fn base_matrix(&self) -> Vec<Vec<u64>> {
        let n = self.region_of.len();
        (0..n)
            .map(|from| (0..n).map(|to| self.base_ms(from, to)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_symmetric_and_the_diagonal_is_the_shortest() {
        for (a, row) in RTT_MS.iter().enumerate() {
            for (b, rtt) in row.iter().enumerate() {
                assert_eq!(*rtt, RTT_MS[b][a], "{} {}", REGIONS[a], REGIONS[b]);
                assert!(row[a] <= *rtt);
            }
        }
    }

    #[test]
    fn peers_are_dealt_round_robin_and_delays_never_undercut_the_base() {
        let regions = Regions::round_robin(25);
        assert_eq!(regions.region_name(0), "us-west-1");
        assert_eq!(regions.region_name(12), "eu-west-1");
        assert_eq!(regions.base_ms(0, 10), 2);
        assert_eq!(regions.base_ms(0, 1), 32);
        let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        for _ in 0..100 {
            let delay = regions.delay(&mut rng, 6, 9);
            assert!((156..=163).contains(&delay), "{delay}");
        }
    }
}
