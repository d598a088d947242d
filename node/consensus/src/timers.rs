//! Timers: the round timeout (with its backoff while finality lags) that leads to a dummy
//! vote, and the resend timer that repeats unanswered votes and own items until they land.

use bfte_shared::message::Message;
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};

use super::core::Core;
use super::io::{Destination, Timer};
#[cfg(feature = "mutants")]
use super::mutants::Mutation;

impl Core {
    pub(super) fn arm_round_timer(&mut self) {
        if !self.has_work() {
            return;
        }
        let state = self.rounds.entry(self.round).or_default();
        if state.is_certified() || state.own_dummy.is_some() {
            return;
        }
        if self.round_timer_armed == Some(self.round) {
            return;
        }
        self.round_timer_armed = Some(self.round);
        tracing::trace!(peer = %self.me.short(), now = self.now, round = %self.round, "arm round timer");
        let at = self.now.saturating_add(self.round_timeout());
        self.out.timers.push((Timer::Round(self.round), at));
    }

    /// Δ, doubled for every round finality lags beyond the normal one-round pipeline, capped.
    pub fn round_timeout(&self) -> u64 {
        let lag = self
            .round
            .0
            .saturating_sub(self.tip.round.0)
            .saturating_sub(2);
        let doublings = lag.min(u64::from(self.params.max_backoff_doublings)) as u32;
        self.params
            .round_timeout_ms
            .saturating_mul(1u64 << doublings)
    }

    pub(super) fn on_round_timeout(&mut self, round: Round) {
        tracing::trace!(peer = %self.me.short(), now = self.now, %round, current = %self.round, "round timeout");
        if round != self.round {
            return;
        }
        let state = self.rounds.entry(round).or_default();
        if state.is_certified() || state.own_dummy.is_some() || state.own_finalize.is_some() {
            return;
        }
        // The work that armed the timer got done meanwhile: stay idle rather than open a
        // round, and let the next work arm the timer again.
        if !self.has_work() {
            self.round_timer_armed = None;
            return;
        }
        self.cast_vote(round, VoteKind::Dummy);
    }

    /// Own votes still waiting for their outcome: a dummy vote in the current round, or a
    /// finalize vote whose block is not final here. They are re-sent until then (rule 7).
    pub(super) fn has_unanswered_votes(&self) -> bool {
        self.rounds
            .range(self.tip.round.next()..)
            .any(|(&round, state)| {
                state.own_finalize.is_some()
                    || (round == self.round && state.own_dummy.is_some() && !state.is_certified())
            })
    }

    /// A follower (outside the epoch's peer set) keeps the timer running for good: nobody
    /// sends it votes, so pulling is how it learns what was finalized.
    pub(super) fn arm_resend(&mut self) {
        let follower = self.my_index.is_none();
        let asking = self.awaiting_floor();
        if self.resend_armed
            || !(self.has_work() || self.has_unanswered_votes() || follower || asking)
        {
            return;
        }
        self.resend_armed = true;
        let at = self.now.saturating_add(self.params.resend_interval_ms);
        self.out.timers.push((Timer::Resend, at));
    }

    /// Lost votes must never stall a round: while finality makes no progress, re-send own
    /// votes and items, and pull what others may have.
    pub(super) fn on_resend(&mut self) {
        self.resend_armed = false;
        #[cfg(feature = "mutants")]
        if self.mutated(Mutation::NoResend) {
            return;
        }
        let stalled = self.tip.height == self.height_at_last_resend;
        let follower = self.my_index.is_none();
        if stalled && (self.has_work() || self.has_unanswered_votes() || follower) {
            self.resend_own();
            self.pull(Destination::AllPeers);
        }
        // Asks or answers may have been lost: ask again whoever has not answered.
        self.ask_unheard();
        self.height_at_last_resend = self.tip.height;
        self.arm_resend();
    }

    pub(super) fn resend_own(&mut self) {
        let round = self.round;
        let votes: Vec<Vote> = self
            .rounds
            .range(self.tip.round.next()..)
            .flat_map(|(&r, state)| {
                let current = (r >= round).then_some(());
                [
                    current.and(state.own_notarize.clone()),
                    current.and(state.own_dummy.clone()),
                    state.own_finalize.clone(),
                ]
            })
            .flatten()
            .collect();
        for vote in votes {
            self.send(Destination::AllPeers, Message::Vote(vote));
        }
        let items: Vec<_> = self.pool.items_by(&self.me).cloned().collect();
        for item in items {
            self.send(Destination::AllPeers, Message::Item(item));
        }
    }
}
