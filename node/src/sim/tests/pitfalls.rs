//! One named scenario per pitfall of DESIGN.md section 10, each asserting that it was really
//! exercised as well as that every invariant held.

use super::super::network::LinkModel;
use super::super::scenario::{ClockStep, Crash, PROGRESS_BOUND_MS, Partition};
use super::{Behavior, Scenario, SimOptions, fast, run_clean};

/// A calm n-peer federation: no faults unless a test adds them.
fn calm(seed: u64, peers: usize) -> Scenario {
    let options = SimOptions {
        peers: Some(peers),
        byzantine: Some(0),
        ..fast(30)
    };
    let mut scenario = Scenario::random(seed, options);
    scenario.byzantine.clear();
    scenario.crashes.clear();
    scenario.partitions.clear();
    scenario.heal_ms = 1_000;
    scenario.link = LinkModel {
        min_latency_ms: 1,
        max_latency_ms: 20,
        loss: 0.0,
        duplicate: 0.0,
    };
    scenario.params.round_timeout_ms = 360;
    scenario
}

/// Latency often beyond the round timeout: some peers see a block notarized while others time
/// out, so rounds get both a notarization and a dummy certificate. Finality must not revert.
pub(super) fn notarized_and_dummy_scenarios() -> impl Iterator<Item = Scenario> {
    (0..40u64).map(|seed| {
        let mut scenario = calm(seed, [4, 7][seed as usize % 2]);
        scenario.link.max_latency_ms = 450;
        scenario.params.round_timeout_ms = 300;
        scenario.heal_ms = 15_000;
        scenario
    })
}

#[test]
fn finality_never_reverts_when_a_notarized_round_also_gets_a_dummy_certificate() {
    let mut both = 0;
    for scenario in notarized_and_dummy_scenarios() {
        both += run_clean(scenario).stats.rounds_notarized_and_dummy;
    }
    assert!(both >= 10, "only {both} rounds had both certificates");
}

/// Leaders that commit to made-up state roots, f of them, on otherwise calm links.
pub(super) fn false_state_scenarios() -> impl Iterator<Item = Scenario> {
    (0..20u64).map(|seed| {
        let peers = [4, 7][seed as usize % 2];
        let mut scenario = calm(600 + seed, peers);
        scenario.byzantine = (0..(peers - 1) / 3)
            .map(|peer| (peer, Behavior::FalseState))
            .collect();
        scenario
    })
}

#[test]
fn a_leader_committing_to_a_false_state_gets_no_votes_and_the_rest_goes_on() {
    for scenario in false_state_scenarios() {
        let report = run_clean(scenario);
        assert!(report.stats.items_finalized > 20, "{:?}", report.stats);
    }
}

/// A third of all messages lost, for ever: dummy and finalize votes must be re-sent.
pub(super) fn lossy_forever_scenarios() -> impl Iterator<Item = Scenario> {
    (0..20u64).map(|seed| {
        let mut scenario = calm(100 + seed, [4, 7][seed as usize % 2]);
        scenario.link.loss = 0.33;
        scenario.loss_after_heal = 0.33;
        scenario
    })
}

#[test]
fn lost_dummy_and_finalize_votes_are_resent_until_the_round_moves() {
    for scenario in lossy_forever_scenarios() {
        let report = run_clean(scenario);
        assert!(report.stats.items_finalized > 20, "{:?}", report.stats);
    }
}

#[test]
fn a_lone_submitter_gets_its_items_in_while_other_leaders_stay_silent() {
    for seed in 0..20u64 {
        let mut scenario = calm(200 + seed, 7);
        // f = 2 peers withhold everything, so their rounds always time out.
        scenario.byzantine = vec![(0, Behavior::Withhold), (1, Behavior::Withhold)];
        scenario.submitters = Some(vec![2 + (seed as usize % 5)]);
        scenario.link.loss = 0.1;
        scenario.heal_ms = 3_000;
        let report = run_clean(scenario);
        assert!(report.stats.items_finalized >= 5, "{:?}", report.stats);
        assert!(report.stats.worst_item_latency_ms <= PROGRESS_BOUND_MS);
    }
}

#[test]
fn hostile_bytes_and_impossible_certificates_never_break_a_correct_peer() {
    let mut undecodable = 0;
    for seed in 0..30u64 {
        let peers = [4, 7, 10][seed as usize % 3];
        let mut scenario = calm(300 + seed, peers);
        let f = (peers - 1) / 3;
        scenario.byzantine = (0..f).map(|peer| (peer, Behavior::Malformed)).collect();
        let report = run_clean(scenario);
        undecodable += report.stats.undecodable;
        assert!(report.stats.items_finalized > 0);
    }
    assert!(undecodable > 100, "only {undecodable} undecodable messages");
}

/// Peers crash often, for short and long spells and right after writing a vote, with jitter
/// and an equivocating leader; restarts reload their votes.
/// A peer restored from an older backup of its own disk, again and again, each time while
/// another peer is down too, so that the federation waits near the rounds of its lost votes;
/// crashes right after a persist lose votes nobody saw. With n = 7 a leader equivocates.
pub(super) fn restore_scenarios() -> impl Iterator<Item = Scenario> {
    (0..1_000u64).map(|seed| {
        let peers = [4, 7][seed as usize % 2];
        let mut scenario = calm(600 + seed, peers);
        scenario.link.max_latency_ms = 450;
        scenario.params.round_timeout_ms = 300;
        scenario.heal_ms = 12_000;
        scenario.crash_after_persist = 0.02;
        if peers == 7 {
            scenario.byzantine = vec![(0, Behavior::Equivocate)];
        }
        scenario.crashes = (0..4u64)
            .flat_map(|i| {
                let at_ms = 800 + i * 2_700 + seed * 13 % 500;
                let restart_ms = at_ms + 100 + (seed * 31 + i * 97) % 1_500;
                let restored = Crash {
                    peer: 1,
                    at_ms,
                    restart_ms,
                    from_backup: Some(10 + seed % 60),
                };
                let other = Crash {
                    peer: 2 + (i as usize % 2),
                    from_backup: None,
                    ..restored
                };
                [restored, other]
            })
            .collect();
        scenario
    })
}

#[test]
fn peers_restored_from_backups_sign_nothing_conflicting() {
    let mut crashes = 0;
    for scenario in restore_scenarios() {
        let report = run_clean(scenario);
        crashes += report.stats.crashes;
    }
    assert!(crashes > 1_000, "{crashes} crashes");
}

pub(super) fn crash_restart_scenarios() -> impl Iterator<Item = Scenario> {
    (0..40u64).map(|seed| {
        let peers = [4, 7][seed as usize % 2];
        let mut scenario = calm(400 + seed, peers);
        // Latency beyond the timeout: peers often vote dummy, then learn of a notarization.
        scenario.link.max_latency_ms = 450;
        scenario.params.round_timeout_ms = 300;
        scenario.heal_ms = 12_000;
        scenario.crash_after_persist = 0.05;
        // An equivocating leader: a peer that forgot its vote would vote for the twin.
        scenario.byzantine = vec![(0, Behavior::Equivocate)];
        scenario.crashes = (0..12u64)
            .map(|i| {
                let at_ms = 300 + i * 900 + seed * 7 % 300;
                Crash {
                    peer: (i as usize + seed as usize) % peers,
                    at_ms,
                    restart_ms: at_ms + 50 + (i * 131 + seed) % 700,
                    from_backup: None,
                }
            })
            .collect();
        scenario
    })
}

#[test]
fn restarted_peers_never_vote_twice_and_catch_up() {
    let mut crashes = 0;
    for scenario in crash_restart_scenarios() {
        crashes += run_clean(scenario).stats.crashes;
    }
    assert!(crashes >= 600, "only {crashes} crashes");
}

#[test]
fn a_peer_cut_off_for_long_catches_up_from_finalized_history() {
    for seed in 0..6u64 {
        let mut scenario = calm(500 + seed, 4);
        let lonely = seed as usize % 4;
        scenario.heal_ms = 12_000;
        scenario.submit_gap_ms = 20;
        scenario.link.max_latency_ms = 5;
        scenario.rounds = 400;
        scenario.partitions = vec![Partition {
            start_ms: 0,
            end_ms: 12_000,
            groups: (0..4).map(|peer| u8::from(peer == lonely)).collect(),
        }];
        // Items of correct peers must be final at every correct peer, the lonely one included,
        // which therefore had to fetch more than one batch of finalized history.
        let report = run_clean(scenario);
        assert!(report.stats.blocks_finalized > 150, "{:?}", report.stats);
    }
}

#[test]
fn an_idle_federation_goes_quiet() {
    for seed in 0..10u64 {
        let mut scenario = calm(600 + seed, [1, 4, 7, 10][seed as usize % 4]);
        scenario.stop_when_done = false;
        let report = run_clean(scenario);
        let stats = &report.stats;
        assert!(stats.went_idle, "timers still running: {stats:?}");
        // After the last item is final, at most the finalize round trip and one resend tick.
        assert!(
            stats.last_correct_send_ms <= stats.last_item_final_ms + 1_000,
            "{stats:?}"
        );
    }
}

/// Wall clocks stepping back mid-run: every peer's by 3 s (within the allowed drift), and f
/// peers' by a further minute (beyond it, so they stop voting for blocks). Timers run on the
/// monotonic clock, so no round waits for the wall clock; blocks stay stamped no earlier than
/// their parents (the checker asserts it) and finality goes on.
#[test]
fn wall_clocks_stepping_back_delay_no_round_and_stamp_no_block_before_its_parent() {
    for seed in 0..20u64 {
        let peers = [4, 7][seed as usize % 2];
        let mut scenario = calm(700 + seed, peers);
        scenario.rounds = 300;
        let at_ms = 400 + seed * 10;
        scenario.clock_steps = (0..peers)
            .map(|peer| ClockStep {
                peer,
                at_ms,
                back_ms: 3_000,
            })
            .chain((0..(peers - 1) / 3).map(|peer| ClockStep {
                peer,
                at_ms,
                back_ms: 60_000,
            }))
            .collect();
        let report = run_clean(scenario);
        assert!(
            report.stats.simulated_ms > at_ms + 3_000,
            "{:?}",
            report.stats
        );
        assert!(report.stats.items_finalized > 50, "{:?}", report.stats);
    }
}
