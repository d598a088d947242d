//! Votes: casting own votes, tallying others', forming certificates, catching equivocation.

use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::SignedBytes;
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind, vote_signing_bytes};

use super::core::{Core, FUTURE_ROUNDS};
use super::io::{Destination, Durable, Evidence};
#[cfg(feature = "mutants")]
use super::mutants::Mutation;
use super::round_state::VoteSet;

impl Core {
    /// Signs a vote, asks for it to be persisted, sends it, and counts it. The driver writes
    /// `persist` before sending, so the vote is durable before anyone can see it.
    pub(super) fn cast_vote(&mut self, round: Round, kind: VoteKind) {
        let Some(index) = self.my_index else {
            return;
        };
        if !self.may_sign(round) {
            return;
        }
        tracing::trace!(peer = %self.me.short(), now = self.now, %round, ?kind, "vote");
        let vote = Vote::new(&self.domain, self.signer.as_ref(), round, kind);
        // A peer that vouched for a block must still hold it after a crash: the proposer may
        // be Byzantine and the only other copies may be with peers that crashed too.
        if let VoteKind::Notarize(hash) = kind
            && let Some(block) = self.blocks.get(&hash)
        {
            self.out.persist.push(Durable::Block(block.clone()));
        }
        self.out.persist.push(Durable::Vote(vote.clone()));
        let state = self.rounds.entry(round).or_default();
        let slot = match kind {
            VoteKind::Notarize(_) => &mut state.own_notarize,
            VoteKind::Dummy => &mut state.own_dummy,
            VoteKind::Finalize(_) => &mut state.own_finalize,
        };
        *slot = Some(vote.clone());
        let signature = vote.signature;
        self.send(Destination::AllPeers, Message::Vote(vote));
        self.count_vote(index, round, kind, signature, true);
        self.arm_resend();
    }

    /// Sends finalize for a notarized round, unless this peer voted dummy in it (a finalize
    /// and a dummy vote from one peer in one round would let a dummy certificate and a
    /// finalization coexist).
    pub(super) fn maybe_finalize_vote(&mut self, round: Round) {
        if round <= self.tip.round {
            return;
        }
        let Some(state) = self.rounds.get(&round) else {
            return;
        };
        let Some(block) = state.notarized_block() else {
            return;
        };
        let voted_dummy = state.own_dummy.is_some();
        #[cfg(feature = "mutants")]
        let voted_dummy = voted_dummy && !self.mutated(Mutation::FinalizeAfterDummy);
        if voted_dummy || state.own_finalize.is_some() {
            return;
        }
        self.cast_vote(round, VoteKind::Finalize(block));
    }

    pub(super) fn on_vote(&mut self, from: PeerId, vote: Vote) {
        // Votes travel only from their signer; nobody can inject a vote for someone else.
        if vote.signer != from || vote.round <= self.tip.round {
            return;
        }
        let Some(index) = self.peers.index_of(&from) else {
            return;
        };
        if vote.round.0 > self.round.0.saturating_add(1) {
            self.maybe_pull(from);
            if vote.round.0 > self.round.0.saturating_add(FUTURE_ROUNDS) {
                return;
            }
        }
        if vote.kind == VoteKind::Dummy {
            self.answer_dummy(from, vote.round);
        }
        self.mark_active(vote.round, index);
        self.count_vote(index, vote.round, vote.kind, vote.signature, false);
    }

    /// Notes that a peer acted in a round; enough activity starts the timers (see `has_work`).
    pub(super) fn mark_active(&mut self, round: Round, peer: usize) {
        let state = self.rounds.entry(round).or_default();
        if state.active.insert(peer) {
            self.arm_round_timer();
            self.arm_resend();
        }
    }

    /// Adds one signer's vote to its tally, unless it conflicts with a vote that signer already
    /// gave in the round (then the pair may be evidence), and forms a certificate at quorum.
    pub(super) fn count_vote(
        &mut self,
        signer: usize,
        round: Round,
        kind: VoteKind,
        signature: Signature,
        verified: bool,
    ) {
        let state = self.rounds.entry(round).or_default();
        let earlier = match kind {
            VoteKind::Notarize(hash) => state
                .notarize
                .iter()
                .find(|(other, set)| **other != hash && set.contains(signer))
                .map(|(other, set)| (VoteKind::Notarize(*other), set.signature(signer))),
            VoteKind::Finalize(hash) => state
                .finalize
                .iter()
                .find(|(other, set)| **other != hash && set.contains(signer))
                .map(|(other, set)| (VoteKind::Finalize(*other), set.signature(signer)))
                .or_else(|| {
                    state
                        .dummy
                        .contains(signer)
                        .then(|| (VoteKind::Dummy, state.dummy.signature(signer)))
                }),
            VoteKind::Dummy => state
                .finalize
                .iter()
                .find(|(_, set)| set.contains(signer))
                .map(|(other, set)| (VoteKind::Finalize(*other), set.signature(signer))),
        };
        if let Some((earlier_kind, Some(earlier_signature))) = earlier {
            let earlier_holds = self.check_evidence(
                signer,
                round,
                (earlier_kind, earlier_signature),
                (kind, signature),
            );
            if earlier_holds {
                return;
            }
            // The earlier vote was never valid here (forged, or signed in the previous epoch
            // and delivered after the switch): it must not keep the signer's vote out.
            self.forget_unverified(signer, round, earlier_kind);
        }
        let state = self.rounds.entry(round).or_default();
        let set = match kind {
            VoteKind::Notarize(hash) => state.notarize.entry(hash).or_default(),
            VoteKind::Dummy => &mut state.dummy,
            VoteKind::Finalize(hash) => state.finalize.entry(hash).or_default(),
        };
        if set.contains(signer) {
            return;
        }
        if verified {
            set.verified.insert(signer, signature);
        } else {
            set.unverified.insert(signer, signature);
        }
        self.check_quorum(round, kind);
    }

    fn quorum(&self) -> usize {
        let quorum = self.peers.quorum();
        #[cfg(feature = "mutants")]
        if self.mutated(Mutation::QuorumMinusOne) {
            return quorum.saturating_sub(1).max(1);
        }
        quorum
    }

    /// At quorum, verifies the pending signatures in one batch (one by one only if the batch
    /// fails, to drop the bad ones) and forms and records the certificate.
    fn check_quorum(&mut self, round: Round, kind: VoteKind) {
        let quorum = self.quorum();
        let message = vote_signing_bytes(&self.domain, round, kind);
        let Some(state) = self.rounds.get_mut(&round) else {
            return;
        };
        let have_certificate = match kind {
            VoteKind::Notarize(_) => state.notarization.is_some(),
            VoteKind::Dummy => state.dummy_certificate.is_some(),
            VoteKind::Finalize(_) => state.finalization.is_some(),
        };
        let set: &mut VoteSet = match kind {
            VoteKind::Notarize(hash) => state.notarize.entry(hash).or_default(),
            VoteKind::Dummy => &mut state.dummy,
            VoteKind::Finalize(hash) => state.finalize.entry(hash).or_default(),
        };
        if have_certificate || set.len() < quorum {
            return;
        }
        let pending = std::mem::take(&mut set.unverified);
        let signed: Vec<_> = pending
            .iter()
            .filter_map(|(&index, signature)| {
                Some(SignedBytes {
                    signer: self.peers.get(index)?,
                    message: &message,
                    signature,
                })
            })
            .collect();
        if self.verifier.verify_batch(&signed) {
            set.verified.extend(pending);
        } else {
            for (index, signature) in pending {
                let Some(signer) = self.peers.get(index) else {
                    continue;
                };
                let one = SignedBytes {
                    signer,
                    message: &message,
                    signature: &signature,
                };
                if self.verifier.verify(one) {
                    set.verified.insert(index, signature);
                }
            }
        }
        if set.verified.len() < quorum {
            return;
        }
        let signatures: Vec<_> = set
            .verified
            .iter()
            .take(quorum)
            .map(|(&i, &s)| (i, s))
            .collect();
        // Not broadcast: every peer forms its own from the votes it receives, and one that
        // shows it lacks it gets it (`answer_dummy`, pulls).
        let certificate = Certificate::from_signatures(round, kind, self.peers.len(), signatures);
        self.record_certificate(certificate);
    }

    /// Drops a signer's not yet verified vote of `kind` in `round`.
    fn forget_unverified(&mut self, signer: usize, round: Round, kind: VoteKind) {
        let Some(state) = self.rounds.get_mut(&round) else {
            return;
        };
        let set = match kind {
            VoteKind::Notarize(hash) => state.notarize.get_mut(&hash),
            VoteKind::Dummy => Some(&mut state.dummy),
            VoteKind::Finalize(hash) => state.finalize.get_mut(&hash),
        };
        if let Some(set) = set {
            set.unverified.remove(&signer);
        }
    }

    /// Two votes by one signer that must never coexist: report them if both signatures hold.
    /// Returns whether the first one's signature holds.
    fn check_evidence(
        &mut self,
        signer: usize,
        round: Round,
        first: (VoteKind, Signature),
        second: (VoteKind, Signature),
    ) -> bool {
        let Some(peer) = self.peers.get(signer).copied() else {
            return true;
        };
        let vote = |(kind, signature): (VoteKind, Signature)| Vote {
            round,
            kind,
            signer: peer,
            signature,
        };
        let (first, second) = (vote(first), vote(second));
        let valid = |vote: &Vote| {
            let bytes = vote.signing_bytes(&self.domain);
            self.verifier.verify(vote.signed(&bytes))
        };
        let first_holds = valid(&first);
        if first_holds && valid(&second) {
            self.out
                .evidence
                .push(Evidence::ConflictingVotes(Box::new((first, second))));
        }
        first_holds
    }

    /// Stores a verified certificate and acts on it: a notarization may let this peer send
    /// finalize, a finalization may finalize a chain.
    pub(super) fn record_certificate(&mut self, certificate: Certificate) {
        let round = certificate.round;
        let state = self.rounds.entry(round).or_default();
        let slot = match certificate.kind {
            VoteKind::Notarize(_) => &mut state.notarization,
            VoteKind::Dummy => &mut state.dummy_certificate,
            VoteKind::Finalize(_) => &mut state.finalization,
        };
        if slot.is_some() {
            return;
        }
        tracing::trace!(peer = %self.me.short(), now = self.now, %round, kind = ?certificate.kind, "certificate");
        let block = certificate.kind.block();
        self.out
            .persist
            .push(Durable::Certificate(certificate.clone()));
        *slot = Some(certificate);
        if let Some(hash) = block {
            match self.blocks.get(&hash) {
                Some(known) => self.out.persist.push(Durable::Block(known.clone())),
                None => self.want_block(),
            }
        }
        if round < self.round {
            self.maybe_finalize_vote(round);
        }
        self.try_vote();
        self.try_propose();
        self.arm_resend();
    }
}
