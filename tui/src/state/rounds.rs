//! The recent rounds as the console saw them: who led, who proposed, who voted what, and how
//! each round ended. Bounded: the oldest rounds fall off.

use std::collections::{BTreeMap, HashMap};

use bfte_shared::admin::VoteSort;
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

    pub fn proposed(&mut self, round: Round, proposer: PeerId) {
        self.row(round).marks.entry(proposer).or_default().proposed = true;
    }

    pub fn voted(&mut self, round: Round, signer: PeerId, sort: VoteSort) {
        let marks = self.row(round).marks.entry(signer).or_default();
        match sort {
            VoteSort::Notarize => marks.notarize = true,
            VoteSort::Dummy => marks.dummy = true,
            VoteSort::Finalize => marks.finalize = true,
        }
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

    /// Closed rounds (not the newest) among the last `window` in which `peer` cast no vote.
    pub fn missed_votes(&self, peer: &PeerId, window: usize) -> usize {
        self.rows
            .values()
            .rev()
            .skip(1)
            .take(window)
            .filter(|row| !row.marks(peer).voted())
            .count()
    }

    fn row(&mut self, round: Round) -> &mut RoundRow {
        if !self.rows.contains_key(&round) && self.rows.len() >= KEPT_ROUNDS {
            self.rows.pop_first();
        }
        self.rows.entry(round).or_default()
    }
}
