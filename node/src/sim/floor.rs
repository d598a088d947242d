//! The latency floor of Simplex on a given network: how soon a block can be final at a peer if
//! every peer acted the moment a message arrived and every message took its base delay.
//!
//! With `d` the base one-way delays closed under the triangle inequality (so no relay beats
//! the direct path) and q the quorum, for a block proposed by leader L at time 0:
//!
//! ```text
//! proposal at peer j         a(j) = d(L, j)
//! notarization at peer k     n(k) = q-th smallest over j of a(j) + d(j, k)   (d(k, k) = 0)
//! finalization at peer m     f(m) = q-th smallest over k of n(k) + d(k, m)
//! ```
//!
//! `f(m)` is the floor of the pair (L, m): three one-way delays, each to the q-th nearest peer.
//! Nothing the protocol does beats it: a forwarded certificate reaches k at n(j) + d(j, k) >=
//! n(k) because the closed delays obey d(i, k) <= d(i, j) + d(j, k), and the same holds for
//! finalizations; a later block's finalization only comes later still.

/// Closes `delays` under the triangle inequality (Floyd-Warshall).
fn shortest_paths(delays: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let mut d = delays.to_vec();
    let n = d.len();
    for via in 0..n {
        for from in 0..n {
            for to in 0..n {
                let through = d[from][via] + d[via][to];
                if through < d[from][to] {
                    d[from][to] = through;
                }
            }
        }
    }
    d
}

/// The q-th smallest of `arrivals[j] + d[j][to]` over all j: when `to` holds q messages.
fn quorum_arrival(arrivals: &[u64], d: &[Vec<u64>], to: usize, quorum: usize) -> u64 {
    let mut times: Vec<u64> = arrivals
        .iter()
        .enumerate()
        .map(|(from, at)| at + d[from][to])
        .collect();
    let (_, qth, _) = times.select_nth_unstable(quorum - 1);
    *qth
}

/// `floor[leader][peer]`: the three-delay floor of each (leader, peer) pair, in ms.
pub fn three_delay_floor(delays: &[Vec<u64>], quorum: usize) -> Vec<Vec<u64>> {
    let d = shortest_paths(delays);
    let n = d.len();
    (0..n)
        .map(|leader| {
            let proposal = &d[leader];
            let notarized: Vec<u64> = (0..n)
                .map(|k| quorum_arrival(proposal, &d, k, quorum))
                .collect();
            (0..n)
                .map(|m| quorum_arrival(&notarized, &d, m, quorum))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_delays_give_three_delays_and_a_relay_is_taken_into_account() {
        // Four peers 10 ms apart, quorum 3: every pair's floor is exactly three delays, and
        // the leader itself also waits for two other peers' votes.
        let uniform = vec![
            vec![0, 10, 10, 10],
            vec![10, 0, 10, 10],
            vec![10, 10, 0, 10],
            vec![10, 10, 10, 0],
        ];
        let floor = three_delay_floor(&uniform, 3);
        assert!(floor.iter().flatten().all(|&f| f == 30), "{floor:?}");
        // Peer 3 is 100 ms from peers 0 and 1 but 1 ms from peer 2, so 11 ms through it.
        // Leader 0: notarized at 0 after 20 ms, at 2 after 12 (votes of 0, 2 and 3), at 3
        // after 11; final at 0 after 22 (the notarizations of 2 and 3 plus one delay), at 3
        // after 31 (its own, 2's, and one of 0 and 1 at 20 + 11).
        let mut skewed = uniform.clone();
        for other in [0, 1] {
            skewed[3][other] = 100;
            skewed[other][3] = 100;
        }
        skewed[2][3] = 1;
        skewed[3][2] = 1;
        let floor = three_delay_floor(&skewed, 3);
        assert_eq!((floor[0][0], floor[0][3]), (22, 31));
    }
}
