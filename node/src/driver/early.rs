//! Which own proposals may leave before their batch is durable (SPEC.md, driver contract 1),
//! and the floor a restarted core proposes above, so that a proposal a crash lost is never
//! followed by another in its round.

use std::collections::HashSet;

use bfte_consensus::Restored;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::Proposal;

/// Whether `proposal` may leave before its batch is durable: its round is at most one above
/// `durable_vote_round`, the highest round of an own vote on disk, and it carries none of
/// `unsynced_items`, the nonces of own items in that batch (an item is on disk before it
/// leaves).
pub(super) fn leaves_early(
    proposal: &Proposal,
    durable_vote_round: Round,
    me: PeerId,
    unsynced_items: &HashSet<u64>,
) -> bool {
    let carries_unsynced = proposal
        .block
        .payload
        .items
        .iter()
        .any(|item| item.author == me && unsynced_items.contains(&item.nonce));
    durable_vote_round > Round(0)
        && proposal.block.header.round <= durable_vote_round.next()
        && !carries_unsynced
}

/// The highest round of a restored own vote (`Round(0)` if none).
pub(super) fn highest_vote_round(restored: &Restored) -> Round {
    let votes = restored.votes.iter().map(|vote| vote.round);
    votes.max().unwrap_or(Round(0))
}

/// The rounds a restarted core must not propose in: up to one above its highest own vote on
/// disk, where a proposal may have left early and been lost. A vote pruned since is at or
/// below the finalized tip, whose round counts too. With neither (a first start) nothing left
/// early.
pub(super) fn restart_floor(restored: &Restored) -> Round {
    let highest = highest_vote_round(restored).max(restored.finalized_tip.header.round);
    match highest {
        Round(0) => Round(0),
        round => round.next(),
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::block::Block;
    use bfte_shared::vote::VoteKind;

    use super::*;
    use crate::store::fixtures::{Federation, child, federation};

    fn proposal(fed: &Federation, round: u64, items: Vec<u64>) -> Proposal {
        let genesis = Block::genesis(&fed.genesis);
        let items = items.into_iter().map(|nonce| fed.item(0, nonce)).collect();
        let block = child(&genesis, round, items);
        Proposal::new(&fed.genesis.federation_id(), &fed.secrets[0], block)
    }

    #[test]
    fn a_proposal_leaves_early_only_one_round_above_a_durable_vote() {
        let fed = federation(4);
        let me = fed.secrets[0].peer_id();
        let none = HashSet::new();
        assert!(leaves_early(
            &proposal(&fed, 5, vec![]),
            Round(4),
            me,
            &none
        ));
        assert!(leaves_early(
            &proposal(&fed, 3, vec![]),
            Round(4),
            me,
            &none
        ));
        assert!(!leaves_early(
            &proposal(&fed, 6, vec![]),
            Round(4),
            me,
            &none
        ));
        // No vote on disk yet: a restart could not tell where a lost proposal was.
        assert!(!leaves_early(
            &proposal(&fed, 1, vec![]),
            Round(0),
            me,
            &none
        ));
    }

    #[test]
    fn a_proposal_with_an_item_of_its_batch_waits_for_the_sync() {
        let fed = federation(4);
        let me = fed.secrets[0].peer_id();
        let unsynced = HashSet::from([7]);
        assert!(!leaves_early(
            &proposal(&fed, 5, vec![6, 7]),
            Round(4),
            me,
            &unsynced
        ));
        assert!(leaves_early(
            &proposal(&fed, 5, vec![6]),
            Round(4),
            me,
            &unsynced
        ));
        // Another author's item with that nonce is not this batch's.
        let other = fed.secrets[1].peer_id();
        assert!(leaves_early(
            &proposal(&fed, 5, vec![7]),
            Round(4),
            other,
            &unsynced
        ));
    }

    #[test]
    fn the_restart_floor_covers_every_round_a_proposal_left_early_in() {
        let fed = federation(4);
        let mut restored = Restored::genesis(&fed.genesis);
        assert_eq!(
            restart_floor(&restored),
            Round(0),
            "a first start has no floor"
        );
        restored.votes = vec![
            fed.vote(0, 8, VoteKind::Dummy),
            fed.vote(0, 9, VoteKind::Notarize(bfte_shared::hash::Hash::ZERO)),
        ];
        assert_eq!(highest_vote_round(&restored), Round(9));
        assert_eq!(restart_floor(&restored), Round(10));
        // Votes pruned under a finalized tip: the tip's round stands in for them.
        restored.votes.clear();
        restored.finalized_tip = child(&restored.finalized_tip, 12, vec![]);
        assert_eq!(restart_floor(&restored), Round(13));
    }
}
