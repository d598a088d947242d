//! What an operator needs to see why finality stalls: the quorum sentence with the silent
//! peers, the live round panel, each dummy round's cause, the finality figures, the blocks/s
//! chart reaching zero and the alert list; at 80x24 and 200x60.

mod common;

use bfte_shared::admin::{AdminEvent, EventFrame, Status, VoteSort};
use bfte_shared::round::Round;
use bfte_tui::app::App;
use bfte_tui::client::Update;
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use insta::assert_snapshot;

use common::render;

/// The fixture's node time after its 60 rounds.
fn now(app: &App) -> u64 {
    app.node.last_event_ms.expect("events")
}

fn event(app: &mut App, at_ms: u64, event: AdminEvent) {
    app.update(Update::Event(EventFrame { at_ms, event }));
}

/// The status the node reports with peers 3 and 4 (of 5) down for 40 s and nothing final for
/// `waited_ms`: three vote, four are needed.
fn two_down(app: &App, waited_ms: u64) -> Status {
    let mut status = app.node.status.clone().expect("status");
    for peer in &mut status.peers[3..] {
        peer.voting = false;
        peer.connected = false;
        peer.silent_ms = Some(40_300);
    }
    status.finality_wait_ms = waited_ms;
    status.pending_items = 1;
    status
}

/// A quorum lost for 15 s: the three live peers resend their votes for round 61, nothing else.
fn stalled(peer_count: usize) -> App {
    let mut app = fixture::app(peer_count, 60);
    let start = now(&app);
    event(
        &mut app,
        start + 100,
        AdminEvent::RoundStarted {
            round: Round(61),
            leader: fixture::peer(3),
        },
    );
    for second in 1..=15 {
        for voter in 0..3 {
            let vote = AdminEvent::VoteSeen {
                round: Round(61),
                signer: fixture::peer(voter),
                kind: VoteSort::Dummy,
            };
            event(&mut app, start + second * 1000, vote);
        }
        let status = two_down(&app, second * 1000);
        app.update(Update::Status(Box::new(status)));
    }
    app
}

#[test]
fn a_lost_quorum_names_the_silent_peers_and_lag_keeps_growing() {
    let mut app = stalled(5);
    let small = render(&app, 80, 24);
    assert!(
        small.contains("FINALITY STALLED: 3 of 5 voting, 4 needed: peer3, peer4 silent for 40"),
        "{small}"
    );
    assert!(small.contains("waiting 15 s"), "lag in time:\n{small}");
    assert_snapshot!("stalled_overview_80x24", small);
    let large = render(&app, 200, 60);
    assert!(
        large.contains("hh:mm:ss  ⚠ finality stalled: "),
        "the stall is an alert with its time:\n{large}"
    );
    assert_snapshot!("stalled_overview_200x60", large);
    // A second later the node has waited longer: the lag grows though no round passes.
    let status = two_down(&app, 16_000);
    app.update(Update::Status(Box::new(status)));
    assert!(render(&app, 80, 24).contains("waiting 16 s"));
}

#[test]
fn the_blocks_chart_falls_to_zero_in_a_stall() {
    let app = stalled(5);
    let blocks = app.node.rates.blocks();
    assert!(
        blocks.iter().rev().take(14).all(|count| *count == 0),
        "the stall's seconds count zero: {blocks:?}"
    );
    let screen = render(&app, 120, 36);
    assert!(
        screen.contains("-60 s") && screen.contains("now"),
        "a time axis:\n{screen}"
    );
}

#[test]
fn recovery_is_an_alert_and_the_line_says_finality_keeps_up() {
    let mut app = stalled(5);
    let mut status = two_down(&app, 0);
    for peer in &mut status.peers {
        peer.voting = true;
        peer.connected = true;
        peer.silent_ms = Some(50);
    }
    status.round = Round(62);
    let at = now(&app) + 1_000;
    event(
        &mut app,
        at,
        AdminEvent::Finalized {
            height: bfte_shared::round::Height(43),
            round: Round(61),
            block: bfte_shared::hash::Hash::ZERO,
            proposer: fixture::peer(3),
            items: 1,
            proposed_here_us: None,
        },
    );
    app.update(Update::Status(Box::new(status)));
    let screen = render(&app, 200, 60);
    assert!(
        screen.contains("✓ finality keeping up · 5 of 5 voting, 4 needed"),
        "{screen}"
    );
    assert!(screen.contains("✓ finality recovered"), "{screen}");
}

/// The Rounds screen in the middle of round 61: two notarize votes of the four needed.
fn mid_round(peer_count: usize) -> App {
    let mut app = fixture::app(peer_count, 60);
    app.screen = Screen::Rounds;
    let start = now(&app);
    event(
        &mut app,
        start + 100,
        AdminEvent::RoundStarted {
            round: Round(61),
            leader: fixture::peer(1),
        },
    );
    for voter in [1, 2] {
        let vote = AdminEvent::VoteSeen {
            round: Round(61),
            signer: fixture::peer(voter),
            kind: VoteSort::Notarize,
        };
        event(&mut app, start + 1_300, vote);
    }
    app
}

#[test]
fn the_live_round_panel_counts_votes_against_the_quorum() {
    let small = render(&mid_round(5), 80, 24);
    for text in [
        "Round 61 (live): leader peer1, running 1.2 s",
        "■■□□|□ 2 votes, 4 needed",
        "not voted peer0, peer3, peer4",
        "finalize  ■■■■|□ 4 votes, 4 needed (round 60)",
    ] {
        assert!(small.contains(text), "{text}:\n{small}");
    }
    assert_snapshot!("live_round_80x24", small);
    let large = render(&mid_round(16), 200, 60);
    assert!(large.contains("2 votes, 11 needed"), "{large}");
    assert_snapshot!("live_round_200x60", large);
}

#[test]
fn every_dummy_round_says_why() {
    let app = mid_round(5);
    let screen = render(&app, 200, 60);
    for text in [
        "leader offline: no proposal",
        "proposal invalid: parent not notarized",
        "timeout: too few votes in time",
    ] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
}

#[test]
fn finality_figures_and_vote_latency_come_from_the_rounds_seen() {
    let app = fixture::app(5, 60);
    let summary = app.node.finality_summary();
    // The fixture's blocks finalize 200 ms after their proposal; 18 of 60 rounds went dummy.
    assert_eq!((summary.p50_ms, summary.p99_ms), (Some(200), Some(200)));
    assert_eq!((summary.rounds, summary.dummies), (60, 18));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("p50 200 ms · p99 200 ms"), "{screen}");
    assert!(screen.contains("30% of 60 rounds"), "{screen}");
    let peer3 = screen
        .lines()
        .find(|line| line.contains("peer3"))
        .expect("peer3's row");
    assert!(
        peer3.contains("36 ms"),
        "its votes arrive 36 ms in: {peer3}"
    );
}

#[test]
fn alerts_list_disconnects_evidence_and_epochs_with_times() {
    let mut app = fixture::app(5, 60);
    let mut epoch = app
        .node
        .governance
        .data
        .as_ref()
        .expect("governance")
        .epoch
        .clone();
    epoch.number += 1;
    epoch.start_height = bfte_shared::round::Height(40);
    let at = now(&app) + 10;
    event(&mut app, at, AdminEvent::EpochStarted { epoch });
    let small = render(&app, 80, 24);
    assert!(small.contains("Alerts (3"), "{small}");
    assert_snapshot!("alerts_80x24", small);
    let large = render(&app, 200, 60);
    for text in [
        "hh:mm:ss  ◆ epoch",
        "hh:mm:ss  ‼ evidence: peer4 signed two votes in round 31",
        "hh:mm:ss  ○ peer4 disconnected",
    ] {
        assert!(large.contains(text), "{text}:\n{large}");
    }
    assert_snapshot!("alerts_200x60", large);
}
