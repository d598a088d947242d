//! Sitting out after a restore from a backup (SPEC rule 15): the votes this peer signed after
//! the backup are lost, so it signs nothing in a round it may already have signed in. It
//! follows, catches up and relays meanwhile, and asks every other peer, with a nonce fresh for
//! this start, for the highest certificate it holds; `2f + 1` answers fix the floor.

use std::collections::BTreeSet;

use bfte_shared::certificate::Certificate;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

use super::core::Core;
use super::io::Destination;
#[cfg(feature = "mutants")]
use super::mutants::Mutation;
use super::round_state::RoundState;

/// What a core that sits out has learnt so far.
#[derive(Debug, Clone)]
pub(super) struct SitOut {
    /// Ties answers to this start's asks: anything else may predate the restore.
    nonce: u64,
    /// Peers whose answer counted.
    heard: BTreeSet<PeerId>,
    /// The highest round of a verified certificate in those answers, or of the restored tip.
    highest: Round,
    /// Fixed once enough peers were heard: nothing is signed at or below it.
    floor: Option<Round>,
}

impl SitOut {
    pub(super) fn new(nonce: u64, restored_tip: Round) -> SitOut {
        SitOut {
            nonce,
            heard: BTreeSet::new(),
            highest: restored_tip,
            floor: None,
        }
    }

    /// The round at or below which nothing may be signed, once known.
    pub(super) fn floor(&self) -> Option<Round> {
        self.floor
    }
}

impl Core {
    /// Whether this peer may sign a vote or a proposal in `round`.
    pub(super) fn may_sign(&self, round: Round) -> bool {
        #[cfg(feature = "mutants")]
        if self.mutated(Mutation::NoRestoreFloor) {
            return true;
        }
        match &self.sit_out {
            None => true,
            Some(sit_out) => sit_out.floor.is_some_and(|floor| round > floor),
        }
    }

    /// Whether this peer still waits for answers to fix its floor.
    pub(super) fn awaiting_floor(&self) -> bool {
        self.sit_out.as_ref().is_some_and(|s| s.floor.is_none())
    }

    /// Whether `peer`'s answer is in, or none is needed.
    pub(super) fn heard_highest_from(&self, peer: PeerId) -> bool {
        !self.awaiting_floor()
            || self
                .sit_out
                .as_ref()
                .is_some_and(|s| s.heard.contains(&peer))
    }

    /// Asks `to` for its highest certificate, while the floor is unknown.
    pub(super) fn ask_highest(&mut self, to: Destination) {
        let Some(sit_out) = self.sit_out.as_ref().filter(|s| s.floor.is_none()) else {
            return;
        };
        let nonce = sit_out.nonce;
        self.send(to, Message::HighestAsk { nonce });
    }

    /// Asks again every peer whose answer is not in (asks and answers get lost).
    pub(super) fn ask_unheard(&mut self) {
        let unheard: Vec<PeerId> = self
            .peers
            .iter()
            .copied()
            .filter(|peer| *peer != self.me && !self.heard_highest_from(*peer))
            .collect();
        for peer in unheard {
            self.ask_highest(Destination::Peer(peer));
        }
    }

    /// Answers at once with the highest certificate held now, at most once per quarter resend
    /// interval per peer (a restored peer asks again once per interval).
    pub(super) fn answer_highest(&mut self, from: PeerId, nonce: u64) {
        let gap = self.params.resend_interval_ms / 4;
        if let Some(&at) = self.highest_answered.get(&from)
            && self.now < at.saturating_add(gap)
        {
            return;
        }
        self.highest_answered.insert(from, self.now);
        // Rounds above the tip only: any certificate there is higher than the tip's.
        let certificate = self
            .rounds
            .values()
            .rev()
            .find_map(RoundState::any_certificate)
            .or(self.tip_finalization.as_ref())
            .cloned();
        self.send(
            Destination::Peer(from),
            Message::Highest { nonce, certificate },
        );
    }

    /// An answer to this start's ask counts its sender as heard; once `2f + 1` other peers
    /// were, the floor is the highest certificate's round plus two. A certificate that could
    /// raise the highest must verify; one that could not counts as no certificate, which a
    /// faulty peer can always answer anyway.
    pub(super) fn on_highest(
        &mut self,
        from: PeerId,
        nonce: u64,
        certificate: Option<Certificate>,
    ) {
        let Some(sit_out) = &self.sit_out else {
            return;
        };
        if sit_out.floor.is_some() || nonce != sit_out.nonce || sit_out.heard.contains(&from) {
            return;
        }
        let highest = sit_out.highest;
        let raised = match certificate {
            Some(certificate) if certificate.round > highest => {
                if let Err(error) =
                    certificate.verify(&self.domain, &self.peers, self.verifier.as_ref())
                {
                    tracing::debug!(%from, %error, "ignored an invalid highest certificate");
                    return;
                }
                // The answer shows `from` is ahead: a restarted node may have no other cue
                // to pull (an idle federation sends nothing).
                if certificate.round > self.round.next() {
                    self.maybe_pull(from);
                }
                certificate.round
            }
            _ => highest,
        };
        let needed = 2 * self.peers.max_faulty() + 1;
        let Some(sit_out) = &mut self.sit_out else {
            return;
        };
        sit_out.heard.insert(from);
        sit_out.highest = raised;
        if sit_out.heard.len() >= needed {
            // A correct peer that signed the certificate this peer's last lost vote rested on
            // is among those heard; it holds a certificate of one round below that at least.
            let floor = Round(sit_out.highest.0.saturating_add(2));
            sit_out.floor = Some(floor);
            tracing::info!(peer = %self.me.short(), %floor, "restored from a backup: signing again above round {floor}");
            self.try_vote();
            self.try_propose();
        }
    }
}
