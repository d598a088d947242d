//! Sitting out after a restore from a backup (SPEC rule 15): the votes this peer signed after
//! the backup are lost, so it signs nothing in a round it may already have signed in. It
//! follows, catches up and relays meanwhile; the floor below which it stays silent is learnt
//! from certificates its peers send.

use std::collections::BTreeSet;

use bfte_shared::certificate::Certificate;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

use super::core::Core;

/// What a core that sits out has learnt so far.
#[derive(Debug, Default)]
pub(super) struct SitOut {
    /// Peers that sent a valid certificate since the start.
    heard: BTreeSet<PeerId>,
    /// The highest round of a valid certificate any of them sent.
    highest: Round,
    /// Fixed once enough peers were heard: nothing is signed at or below it.
    floor: Option<Round>,
}

impl SitOut {
    /// The round at or below which nothing may be signed, once known.
    pub(super) fn floor(&self) -> Option<Round> {
        self.floor
    }
}

impl Core {
    /// Whether this peer may sign a vote or a proposal in `round`.
    pub(super) fn may_sign(&self, round: Round) -> bool {
        match &self.sit_out {
            None => true,
            Some(sit_out) => sit_out.floor.is_some_and(|floor| round > floor),
        }
    }

    /// While sitting out with no floor yet: learns the round the message's certificates prove,
    /// and fixes the floor once `2f + 1` other peers were heard (one of them is then among the
    /// correct peers that reached the last round this peer may have signed in, minus one).
    pub(super) fn observe_while_sitting_out(&mut self, from: PeerId, message: &Message) {
        let Some(sit_out) = &self.sit_out else {
            return;
        };
        if sit_out.floor.is_some() {
            return;
        }
        let certificates: Vec<&Certificate> = match message {
            Message::Certificate(certificate) => vec![certificate],
            Message::Catchup(catchup) => catchup.certificates.iter().collect(),
            Message::Finalized(chain) => vec![&chain.finalization],
            _ => return,
        };
        // Only the highest valid one matters; checking from the top verifies few.
        let mut by_round = certificates;
        by_round.sort_by_key(|c| std::cmp::Reverse(c.round));
        let valid = by_round.into_iter().find(|certificate| {
            certificate
                .verify(&self.domain, &self.peers, self.verifier.as_ref())
                .is_ok()
        });
        let Some(valid) = valid else {
            return;
        };
        let needed = 2 * self.peers.max_faulty() + 1;
        let Some(sit_out) = &mut self.sit_out else {
            return;
        };
        sit_out.heard.insert(from);
        sit_out.highest = sit_out.highest.max(valid.round);
        if sit_out.heard.len() >= needed {
            // A peer in round r holds a certificate of r - 1 at least, and this peer's last
            // signature was at most one round above the round of a correct peer it heard.
            let floor = Round(sit_out.highest.0.saturating_add(2));
            sit_out.floor = Some(floor);
            tracing::info!(peer = %self.me.short(), %floor, "restored from a backup: signing again above round {floor}");
        }
    }
}
