//! Repair: pulling what was missed, answering pulls, and applying what comes back.

use bfte_shared::certificate::Certificate;
use bfte_shared::chain::ChainTip;
use bfte_shared::message::{Catchup, FinalizedChain, Message, Pull};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::VoteKind;

use super::core::{Core, FUTURE_ROUNDS};
use super::io::Destination;

/// Most certificates or blocks one catch-up answer carries; the requester pulls again for more.
const CATCHUP_LIMIT: usize = 256;

impl Core {
    /// Asks for certificates from the first round above the finalized tip that this peer has
    /// none for (after a restart, that is below the current round), and for finalized blocks.
    pub(super) fn pull(&mut self, to: Destination) {
        self.last_pull_ms = Some(self.now);
        let first_gap = (self.tip.round.0 + 1..self.round.0)
            .map(Round)
            .find(|round| !self.rounds.get(round).is_some_and(|s| s.is_certified()))
            .unwrap_or(self.round);
        let pull = Pull {
            round: first_gap,
            finalized_height: self.tip.height,
        };
        self.send(to, Message::Pull(pull));
    }

    fn pull_recently(&self) -> bool {
        let gap = self.params.resend_interval_ms / 4;
        self.last_pull_ms
            .is_some_and(|at| self.now < at.saturating_add(gap))
    }

    /// Something shows `from` is ahead: ask it, at most a few times per resend interval.
    pub(super) fn maybe_pull(&mut self, from: PeerId) {
        if !self.pull_recently() {
            self.pull(Destination::Peer(from));
        }
    }

    /// A block this peer needs is unknown: ask everyone, rate-limited.
    pub(super) fn want_block(&mut self) {
        if !self.pull_recently() {
            self.pull(Destination::AllPeers);
        }
    }

    /// A dummy vote in a round this peer already holds a certificate of shows that the voter's
    /// timer ran out without one: send it what this peer holds, at most a few times per
    /// resend interval per peer. Called before the vote is counted, so a certificate this very
    /// vote completes is not sent back to a peer that is forming it too.
    pub(super) fn answer_dummy(&mut self, from: PeerId, round: Round) {
        let gap = self.params.resend_interval_ms / 4;
        let recently = self
            .last_dummy_answer
            .get(&from)
            .is_some_and(|&at| self.now < at.saturating_add(gap));
        let Some(state) = self.rounds.get(&round).filter(|_| !recently) else {
            return;
        };
        let held: Vec<Certificate> = [&state.notarization, &state.dummy_certificate]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if held.is_empty() {
            return;
        }
        self.last_dummy_answer.insert(from, self.now);
        for certificate in held {
            self.send(Destination::Peer(from), Message::Certificate(certificate));
        }
    }

    /// Answers with certificates from the asked round on and the non-final blocks they name;
    /// finalized history is served by the driver from its store.
    pub(super) fn on_pull(&mut self, from: PeerId, pull: Pull) {
        // The same question from the same peer is answered at most once per quarter resend
        // interval: a spammer gets little, a peer that moved on is answered at once.
        let gap = self.params.resend_interval_ms / 4;
        if let Some(&(at, last)) = self.last_served.get(&from)
            && last == pull
            && self.now < at.saturating_add(gap)
        {
            return;
        }
        self.last_served.insert(from, (self.now, pull));
        if pull.finalized_height < self.tip.height {
            self.out
                .serve_finalized
                .push((from, pull.finalized_height.next()));
        }
        let start = pull.round.max(self.tip.round.next());
        let mut catchup = Catchup::default();
        for state in self.rounds.range(start..).map(|(_, state)| state) {
            if catchup.certificates.len() >= CATCHUP_LIMIT {
                break;
            }
            let certificates = [
                &state.notarization,
                &state.dummy_certificate,
                &state.finalization,
            ];
            catchup
                .certificates
                .extend(certificates.into_iter().flatten().cloned());
        }
        // Every notarized block above the tip goes along, with its notarization if the round
        // is below the asked one: a round certified by a dummy certificate at the requester may
        // also have a notarized block that a leader now builds on.
        for (&round, state) in self.rounds.range(self.tip.round.next()..) {
            let Some(notarization) = &state.notarization else {
                continue;
            };
            let Some(block) = notarization.kind.block().and_then(|h| self.blocks.get(&h)) else {
                continue;
            };
            if catchup.blocks.len() >= CATCHUP_LIMIT {
                break;
            }
            if round < start {
                catchup.certificates.push(notarization.clone());
            }
            catchup.blocks.push(block.clone());
        }
        if !catchup.certificates.is_empty() || !catchup.blocks.is_empty() {
            self.send(Destination::Peer(from), Message::Catchup(catchup));
        }
    }

    pub(super) fn on_catchup(&mut self, from: PeerId, catchup: Catchup) {
        for certificate in catchup.certificates.into_iter().take(2 * CATCHUP_LIMIT) {
            self.on_certificate(from, certificate);
        }
        for block in catchup.blocks.into_iter().take(CATCHUP_LIMIT) {
            let hash = block.hash();
            let round = block.header.round;
            // Only blocks a verified certificate names are taken; anything else is noise.
            let named = self.rounds.get(&round).is_some_and(|state| {
                state.notarized_block() == Some(hash) || state.finalized_block() == Some(hash)
            });
            if named && block.payload_matches() && !self.blocks.contains_key(&hash) {
                self.learn_block(block);
            }
        }
        self.try_vote();
        self.try_propose();
    }

    /// Verifies a certificate from outside and records it.
    pub(super) fn on_certificate(&mut self, from: PeerId, certificate: Certificate) {
        let round = certificate.round;
        if round <= self.tip.round {
            return;
        }
        if round.0 > self.round.0.saturating_add(1) {
            self.maybe_pull(from);
            if round.0 > self.round.0.saturating_add(FUTURE_ROUNDS) {
                return;
            }
        }
        if let Some(state) = self.rounds.get(&round) {
            let known = match certificate.kind {
                VoteKind::Notarize(_) => state.notarization.is_some(),
                VoteKind::Dummy => state.dummy_certificate.is_some(),
                VoteKind::Finalize(_) => state.finalization.is_some(),
            };
            if known {
                return;
            }
        }
        match certificate.verify(&self.domain, &self.peers, self.verifier.as_ref()) {
            Ok(()) => self.record_certificate(certificate),
            Err(error) => tracing::debug!(%from, %error, "ignored invalid certificate"),
        }
    }

    /// Finalized history from a peer: checks the hash links from this peer's tip and the
    /// finalization of the last block (`FinalizedChain::verify_above`), then finalizes it all.
    pub(super) fn on_finalized_chain(&mut self, from: PeerId, chain: FinalizedChain) {
        let tip = ChainTip {
            height: self.tip.height,
            hash: self.tip_hash,
            round: self.tip.round,
        };
        // The answer may overlap what this peer finalized since it asked: what lies above the
        // tip is kept, once the overlap is checked to be this peer's own chain.
        match chain.verify_above(&tip, &self.domain, &self.peers, self.verifier.as_ref()) {
            Ok(chain) => {
                self.finalize_chain(chain.blocks, chain.finalization);
                // Answers are capped: keep asking the same peer until it has nothing newer.
                self.pull(Destination::Peer(from));
            }
            Err(error) => tracing::debug!(%from, %error, "ignored finalized chain"),
        }
    }
}
