//! The recent rounds as the console saw them: who led, who proposed, who voted what, and how
//! each round ended. Bounded: the oldest rounds fall off.

use std::collections::{BTreeMap, HashMap};

use bfte_shared::admin::{DummyCause, VoteSort};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

/// Rounds kept for the grid.
pub const KEPT_ROUNDS: usize = 200;

/// What one peer did in one round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerMarks {
    pub proposed: bool,
    pub notarize: bool,
    pub dummy: bool,
    pub finalize: bool,
    /// When the peer's first notarize or dummy vote of the round arrived (node clock, ms).
    pub vote_ms: Option<u64>,
}

impl PeerMarks {
    pub fn voted(&self) -> bool {
        self.notarize || self.dummy || self.finalize
    }
}

/// How a round ended, as far as this node knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    Open,
    Notarized,
    Dummy,
    Finalized,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundRow {
    pub leader: Option<PeerId>,
    /// When the node entered the round (node clock, ms).
    pub started_ms: Option<u64>,
    /// When the node entered the next one.
    pub ended_ms: Option<u64>,
    pub outcome: Outcome,
    /// Why the round went dummy, as the node saw it.
    pub cause: Option<DummyCause>,
    /// When the leader's proposal arrived (node clock, ms).
    pub proposed_ms: Option<u64>,
    pub marks: HashMap<PeerId, PeerMarks>,
}

impl RoundRow {
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.ended_ms?.saturating_sub(self.started_ms?))
    }

    pub fn marks(&self, peer: &PeerId) -> PeerMarks {
        self.marks.get(peer).copied().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rounds {
    rows: BTreeMap<Round, RoundRow>,
    /// Rounds outside a peer's membership, learnt from the epochs that started while the
    /// console watched: a peer added counts from its first round on, one removed stops counting.
    /// Peers not listed were members throughout the kept rounds.
    membership: HashMap<PeerId, Membership>,
}

/// The rounds in which a peer was a member, as far as the console saw it change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Membership {
    from: Option<Round>,
    until: Option<Round>,
}

impl Membership {
    fn covers(self, round: Round) -> bool {
        self.from.is_none_or(|from| round >= from) && self.until.is_none_or(|until| round < until)
    }
}

impl Rounds {
    pub fn started(&mut self, round: Round, leader: PeerId, at_ms: u64) {
        if let Some((_, previous)) = self.rows.range_mut(..round).next_back()
            && previous.ended_ms.is_none()
        {
            previous.ended_ms = Some(at_ms);
        }
        let row = self.row(round);
        row.leader = Some(leader);
        row.started_ms.get_or_insert(at_ms);
    }

    pub fn proposed(&mut self, round: Round, proposer: PeerId, at_ms: u64) {
        let row = self.row(round);
        row.proposed_ms.get_or_insert(at_ms);
        row.marks.entry(proposer).or_default().proposed = true;
    }

    pub fn voted(&mut self, round: Round, signer: PeerId, sort: VoteSort, at_ms: u64) {
        let marks = self.row(round).marks.entry(signer).or_default();
        match sort {
            VoteSort::Notarize => marks.notarize = true,
            VoteSort::Dummy => marks.dummy = true,
            VoteSort::Finalize => marks.finalize = true,
        }
        if sort != VoteSort::Finalize {
            marks.vote_ms.get_or_insert(at_ms);
        }
    }

    /// A dummy certificate for `round`, and why the node says the round went dummy.
    pub fn dummy(&mut self, round: Round, cause: DummyCause) {
        self.ended(round, Outcome::Dummy);
        self.row(round).cause = Some(cause);
    }

    pub fn get(&self, round: Round) -> Option<&RoundRow> {
        self.rows.get(&round)
    }

    /// The median time from the node entering a round to `peer`'s first vote in it, over the
    /// last `window` rounds in which both are known: how far behind the round the peer votes.
    pub fn vote_latency_ms(&self, peer: &PeerId, window: usize) -> Option<u64> {
        let mut delays: Vec<u64> = self
            .rows
            .values()
            .rev()
            .take(window)
            .filter_map(|row| {
                Some(
                    row.marks
                        .get(peer)?
                        .vote_ms?
                        .saturating_sub(row.started_ms?),
                )
            })
            .collect();
        if delays.is_empty() {
            return None;
        }
        delays.sort_unstable();
        Some(delays[delays.len() / 2])
    }

    /// Records a round's certificate; a later, stronger outcome is never downgraded.
    pub fn ended(&mut self, round: Round, outcome: Outcome) {
        let row = self.row(round);
        let rank = |o: Outcome| match o {
            Outcome::Open => 0,
            Outcome::Dummy | Outcome::Notarized => 1,
            Outcome::Finalized => 2,
        };
        if rank(outcome) >= rank(row.outcome) {
            row.outcome = outcome;
        }
    }

    /// Newest first.
    pub fn newest(&self) -> impl Iterator<Item = (&Round, &RoundRow)> {
        self.rows.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A new epoch's peer set is in force from `first` on: the round after the block the epoch
    /// starts from, or, when the console did not see that block, the round after the newest
    /// one seen. The old epoch's rounds from `first` on left the chain with its blocks above
    /// the start (the new epoch runs those rounds again), so they go. `added` count from
    /// `first` on, `removed` no longer do.
    pub fn epoch_changed(&mut self, first: Option<Round>, added: &[PeerId], removed: &[PeerId]) {
        let first = match first {
            Some(first) => {
                self.rows.split_off(&first);
                first
            }
            None => self
                .rows
                .keys()
                .next_back()
                .map_or(Round(0), |round| round.next()),
        };
        for peer in added {
            self.membership.insert(
                *peer,
                Membership {
                    from: Some(first),
                    until: None,
                },
            );
        }
        for peer in removed {
            self.membership.entry(*peer).or_default().until = Some(first);
        }
    }

    /// Whether `peer` was a member in `round`, as far as the console saw the peer set change.
    pub fn is_member(&self, peer: &PeerId, round: Round) -> bool {
        self.membership
            .get(peer)
            .is_none_or(|membership| membership.covers(round))
    }

    /// Closed rounds (not the newest) among the last `window` in which `peer` was a member and
    /// cast no vote.
    pub fn missed_votes(&self, peer: &PeerId, window: usize) -> usize {
        self.rows
            .iter()
            .rev()
            .skip(1)
            .take(window)
            .filter(|(round, row)| self.is_member(peer, **round) && !row.marks(peer).voted())
            .count()
    }

    fn row(&mut self, round: Round) -> &mut RoundRow {
        if !self.rows.contains_key(&round) && self.rows.len() >= KEPT_ROUNDS {
            self.rows.pop_first();
        }
        self.rows.entry(round).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerId {
        PeerId([n; 32])
    }

    /// Rounds `from..to`, each voted by `voters`.
    fn run(rounds: &mut Rounds, from: u64, to: u64, voters: &[u8]) {
        for r in from..to {
            rounds.started(Round(r), peer(0), r * 100);
            for v in voters {
                let at = r * 100 + 10 * u64::from(*v);
                rounds.voted(Round(r), peer(*v), VoteSort::Notarize, at);
            }
        }
    }

    #[test]
    fn vote_latency_is_the_median_delay_from_round_start_to_the_first_vote() {
        let mut rounds = Rounds::default();
        run(&mut rounds, 1, 11, &[0, 3]);
        // A late finalize vote does not count as the peer's vote time.
        rounds.voted(Round(10), peer(3), VoteSort::Finalize, 5_000);
        assert_eq!(rounds.vote_latency_ms(&peer(3), 50), Some(30));
        assert_eq!(rounds.vote_latency_ms(&peer(0), 50), Some(0));
        assert_eq!(rounds.vote_latency_ms(&peer(1), 50), None, "never voted");
    }

    #[test]
    fn missed_votes_count_only_rounds_in_which_the_peer_was_a_member() {
        let mut rounds = Rounds::default();
        // Rounds 1-10: peers 0 and 1 vote; 2 is not a member yet, 3 is a silent member.
        run(&mut rounds, 1, 11, &[0, 1]);
        assert_eq!(
            rounds.missed_votes(&peer(2), 50),
            9,
            "before anyone said otherwise"
        );
        rounds.epoch_changed(None, &[peer(2)], &[peer(1)]);
        // Rounds 11-20: peer 2 votes in all but two; peer 1 is gone.
        run(&mut rounds, 11, 21, &[0, 2]);
        rounds.started(Round(21), peer(0), 2_100);
        for r in [13, 17] {
            rounds
                .rows
                .get_mut(&Round(r))
                .expect("row")
                .marks
                .remove(&peer(2));
        }
        assert_eq!(
            rounds.missed_votes(&peer(2), 50),
            2,
            "only rounds 11-20 count"
        );
        assert_eq!(
            rounds.missed_votes(&peer(1), 50),
            0,
            "removed: rounds 11-20 do not count"
        );
        assert_eq!(
            rounds.missed_votes(&peer(3), 50),
            20,
            "a member throughout, never voted"
        );
        assert_eq!(rounds.missed_votes(&peer(3), 5), 5, "the window bounds it");
        assert!(!rounds.is_member(&peer(2), Round(10)) && rounds.is_member(&peer(2), Round(11)));
        assert!(rounds.is_member(&peer(1), Round(10)) && !rounds.is_member(&peer(1), Round(11)));
    }

    #[test]
    fn an_epoch_from_a_known_block_drops_the_old_epochs_rounds_above_it() {
        let mut rounds = Rounds::default();
        // The change passed in the block of round 8; the old epoch ran on to round 12.
        run(&mut rounds, 1, 13, &[0, 1]);
        rounds.epoch_changed(Some(Round(9)), &[peer(2)], &[]);
        assert_eq!(rounds.len(), 8, "rounds 9-12 left the chain");
        run(&mut rounds, 9, 14, &[0, 1]);
        assert_eq!(
            rounds.missed_votes(&peer(2), 50),
            4,
            "a member from round 9: rounds 9-12 closed without its vote"
        );
        assert_eq!(rounds.missed_votes(&peer(1), 50), 0);
    }
}
