//! Deliberately broken cores: the simulator must catch each within the default seed count.

use super::super::invariants::Violation;
use super::pitfalls::{
    crash_restart_scenarios, false_state_scenarios, lossy_forever_scenarios,
    notarized_and_dummy_scenarios, restore_scenarios,
};
use super::{Scenario, fast};
use crate::sim::Simulation;
use bfte_consensus::Mutation;

/// `bfte sim`'s default number of seeds.
const DEFAULT_SEEDS: u64 = 1_000;

fn first_violation(
    mutation: Mutation,
    scenarios: impl Iterator<Item = Scenario>,
) -> Option<(u64, Violation)> {
    scenarios.take(DEFAULT_SEEDS as usize).find_map(|scenario| {
        let seed = scenario.seed;
        let report = Simulation::new(scenario).with_mutation(mutation).run();
        report.violations.into_iter().next().map(|v| (seed, v))
    })
}

/// A second vote in a round's notarize (or dummy, or finalize) slot is caught twice over: by
/// the store, which refuses it before anything is sent (the peer stops), or by the checker.
fn double_vote_caught(found: &Option<(u64, Violation)>, what: &str) -> bool {
    match found {
        Some((_, Violation::ConflictingVotes { what: seen, .. })) => {
            what.is_empty() || *seen == what
        }
        Some((_, Violation::Stopped { reason, .. })) => reason.contains("a conflicting own vote"),
        _ => false,
    }
}

fn sweep_scenarios() -> impl Iterator<Item = Scenario> {
    (0..DEFAULT_SEEDS).map(|seed| Scenario::random(seed, fast(30)))
}

#[test]
fn voting_for_a_second_proposal_is_caught() {
    let found = first_violation(Mutation::VoteForEveryProposal, sweep_scenarios());
    assert!(
        double_vote_caught(&found, "two notarize votes"),
        "{found:?}"
    );
}

#[test]
fn finalizing_after_a_dummy_vote_is_caught() {
    let found = first_violation(
        Mutation::FinalizeAfterDummy,
        notarized_and_dummy_scenarios(),
    );
    assert!(
        matches!(
            found,
            Some((
                _,
                Violation::ConflictingVotes {
                    what: "dummy and finalize",
                    ..
                }
            ))
        ),
        "{found:?}"
    );
}

#[test]
fn forgetting_votes_across_a_restart_is_caught() {
    let found = first_violation(Mutation::ForgetVotesOnRestart, crash_restart_scenarios());
    assert!(double_vote_caught(&found, ""), "{found:?}");
}

#[test]
fn a_quorum_one_short_is_caught() {
    let found = first_violation(Mutation::QuorumMinusOne, sweep_scenarios());
    assert!(found.is_some(), "no seed caught a quorum of q - 1");
}

#[test]
fn not_resending_lost_votes_is_caught() {
    let found = first_violation(Mutation::NoResend, lossy_forever_scenarios());
    assert!(
        matches!(found, Some((_, Violation::Liveness { .. }))),
        "{found:?}"
    );
}

#[test]
fn voting_without_checking_state_commitments_is_caught() {
    let found = first_violation(Mutation::SkipStateCheck, false_state_scenarios());
    assert!(
        matches!(found, Some((_, Violation::StateCommitment { .. }))),
        "{found:?}"
    );
}

#[test]
fn a_restored_peer_signing_without_its_floor_is_caught() {
    let found = first_violation(Mutation::NoRestoreFloor, restore_scenarios());
    assert!(double_vote_caught(&found, ""), "{found:?}");
}

#[test]
fn proposing_below_the_restart_floor_is_caught() {
    let found = first_violation(Mutation::NoProposalFloor, sweep_scenarios());
    assert!(
        matches!(found, Some((_, Violation::ConflictingProposals { .. }))),
        "{found:?}"
    );
}
