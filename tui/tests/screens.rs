//! Snapshots of every screen on ratatui's test backend, drawn from the deterministic fixture
//! with hashes and times masked. `cargo insta review` after an intended change.

mod common;

use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::round::Round;
use bfte_tui::app::{App, Input};
use bfte_tui::client::Update;
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use bfte_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;

use common::render;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn on(screen: Screen) -> App {
    let mut app = fixture::app(5, 60);
    app.screen = screen;
    app
}

#[test]
fn overview() {
    assert_snapshot!(render(&on(Screen::Overview), WIDTH, HEIGHT));
}

#[test]
fn overview_alerts_when_finality_stalls() {
    let mut app = on(Screen::Overview);
    let leader = fixture::peer(1);
    for round in 61..70 {
        let event = AdminEvent::RoundStarted {
            round: Round(round),
            leader,
        };
        app.update(Update::Event(EventFrame {
            at_ms: fixture::START_MS + round * 1000,
            event,
        }));
    }
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("FINALITY STALLED"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn overview_alerts_when_votes_go_on_without_finality() {
    // A lost quorum: the round stays, the node keeps re-sending its dummy vote.
    let mut app = on(Screen::Overview);
    let last = app.node.blocks.tip().expect("blocks");
    for second in 1..=12 {
        let event = AdminEvent::VoteSeen {
            round: Round(61),
            signer: fixture::peer(0),
            kind: bfte_shared::admin::VoteSort::Dummy,
        };
        app.update(Update::Event(EventFrame {
            at_ms: fixture::START_MS + 60 * 400 + second * 1000,
            event,
        }));
    }
    assert_eq!(app.node.blocks.tip(), Some(last));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("peers kept voting for 1"), "{screen}");
}

#[test]
fn overview_while_connecting() {
    let mut app = App::new("/data/peer0/admin.sock".into(), Theme::plain());
    app.update(Update::Connecting {
        attempt: 3,
        error: Some("no node answers on /data/peer0/admin.sock".into()),
    });
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn overview_of_a_voter_serving_replicas() {
    let app = fixture::voter_serving(5, 60, 3);
    let small = render(&app, 80, 24);
    for text in [
        "Serving 3 replicas (2 shown) · 16.1 MB out",
        "◐ catching up",
        "● following",
    ] {
        assert!(small.contains(text), "{text}:\n{small}");
    }
    assert!(small.contains("peer4"), "every peer still shows:\n{small}");
    assert_snapshot!("overview_serving_80x24", small);
    assert_snapshot!("overview_serving_200x60", render(&app, 200, 60));
}

#[test]
fn overview_of_a_voter_serving_none_has_no_serving_table() {
    let app = fixture::voter_serving(5, 60, 0);
    assert!(!render(&app, 80, 24).contains("Serving"));
}

#[test]
fn overview_of_a_replica_catching_up() {
    let app = fixture::replica_app(4_000, 10_000, false, 1);
    let small = render(&app, 80, 24);
    for text in [
        "source     peer1",
        "◐ catching up: [████████████░",
        "40%  height 4000 of 10000",
        "lag        6000 heights (2400.0 s)",
        "▶ peer1",
        "Serving 1 replica",
    ] {
        assert!(small.contains(text), "{text}:\n{small}");
    }
    assert!(!small.contains("LAST VOTE"), "no voter's columns:\n{small}");
    assert_snapshot!("overview_replica_80x24", small);
    assert_snapshot!("overview_replica_200x60", render(&app, 200, 60));
}

#[test]
fn overview_of_a_replica_following_and_serving_none() {
    let app = fixture::replica_app(10_000, 10_000, true, 0);
    let screen = render(&app, 80, 24);
    for text in [
        "● following: blocks are pushed to it as they finalize",
        "lag        0 heights (0.0 s)",
        "no replica follows this node now",
    ] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
}

#[test]
fn rounds() {
    assert_snapshot!(render(&on(Screen::Rounds), WIDTH, HEIGHT));
}

#[test]
fn blocks() {
    assert_snapshot!(render(&on(Screen::Blocks), WIDTH, HEIGHT));
}

#[test]
fn block_detail() {
    let mut app = on(Screen::Blocks);
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Enter));
    let height = app.open_block().expect("a block is being opened");
    app.update(Update::Block(Box::new(fixture::block_detail(5, height.0))));
    app.update(Update::Outcome(
        height,
        Some(Box::new(fixture::block_outcome(height.0))),
    ));
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn modules_meta() {
    let mut app = on(Screen::Modules);
    app.on_key(key(KeyCode::Down));
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn modules_attest_in_the_table() {
    let mut app = on(Screen::Modules);
    for code in [KeyCode::Down, KeyCode::Down, KeyCode::Enter, KeyCode::Down] {
        app.on_key(key(code));
    }
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn modules_evidence() {
    let mut app = on(Screen::Modules);
    app.on_key(key(KeyCode::Char('G')));
    app.on_key(key(KeyCode::Up));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("suggested: vote to remove"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn modules_data_and_loading() {
    let mut app = on(Screen::Modules);
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("data keeps no state"), "{screen}");
    app.node.modules.tables = None;
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("loading module state"), "{screen}");
    app.node.modules.error = Some("cannot read module state: disk".into());
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("could not read module state"), "{screen}");
}

#[test]
fn log() {
    assert_snapshot!(render(&on(Screen::Log), WIDTH, HEIGHT));
}

#[test]
fn log_filtered_while_typing() {
    let mut app = on(Screen::Log);
    for code in [
        KeyCode::Char('/'),
        KeyCode::Char('w'),
        KeyCode::Char('a'),
        KeyCode::Char('r'),
        KeyCode::Char('n'),
        KeyCode::Enter,
        KeyCode::Char('/'),
        KeyCode::Char('!'),
    ] {
        app.on_key(key(code));
    }
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn help() {
    let mut app = on(Screen::Overview);
    app.on_key(key(KeyCode::Char('?')));
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn paused_and_reconnected() {
    let mut app = on(Screen::Overview);
    app.update(Update::Connected(Box::new(bfte_tui::state::Snapshot {
        status: app.node.status.clone().expect("status"),
        peers: app.node.peers.clone(),
        blocks: fixture::stored_blocks(5, 3),
    })));
    app.on_key(key(KeyCode::Char('p')));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("node restarted, reconnected"), "{screen}");
    assert!(screen.contains("PAUSED"), "{screen}");
}

#[test]
fn terminal_too_small() {
    assert_snapshot!(render(&on(Screen::Overview), 60, 20));
}

#[test]
fn sixteen_peers_fit_at_200_columns() {
    let mut app = fixture::app(16, 300);
    app.screen = Screen::Rounds;
    assert_snapshot!(render(&app, 200, 60));
}

#[test]
fn governance() {
    let mut app = on(Screen::Governance);
    app.on_key(key(KeyCode::Down));
    let screen = render(&app, WIDTH, HEIGHT);
    for text in ["○ open", "✔ passed at height 30", "✗ rejected at height 36"] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
    assert_snapshot!(screen);
}

#[test]
fn governance_vote_dialog() {
    let mut app = on(Screen::Governance);
    app.on_key(key(KeyCode::Char('y')));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(
        screen.contains("makes 4 of 4 needed: the change passes"),
        "{screen}"
    );
    assert!(screen.contains("▶ Cancel ◀"), "Cancel is the default");
    assert_snapshot!(screen);
}

#[test]
fn governance_vote_no_dialog_says_the_proposal_is_rejected() {
    let mut app = on(Screen::Governance);
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Tab));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(
        screen.contains("2 no of 5 peers: 4 yes votes are no longer possible"),
        "{screen}"
    );
    assert!(screen.contains("▶ Vote no ◀"), "{screen}");
}

#[test]
fn governance_while_the_node_refuses_the_calls() {
    let mut app = on(Screen::Overview);
    app.node.governance = Default::default();
    app.screen = Screen::Governance;
    assert!(render(&app, WIDTH, HEIGHT).contains("loading proposals"));
    app.update(Update::Governance(Err(
        "governance calls are being built".into()
    )));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(
        screen.contains("could not read proposals and join requests: governance calls"),
        "{screen}"
    );
}

#[test]
fn joins() {
    assert_snapshot!(render(&on(Screen::Joins), WIDTH, HEIGHT));
}

#[test]
fn joins_approve_dialog() {
    let mut app = on(Screen::Joins);
    app.on_key(key(KeyCode::Char('a')));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(
        screen.contains("Approving votes yes on proposal 5"),
        "{screen}"
    );
    assert_snapshot!(screen);
}

#[test]
fn joins_reject_dialog() {
    let mut app = on(Screen::Joins);
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Char('r')));
    assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn modules_ctrl() {
    let mut app = on(Screen::Modules);
    app.on_key(key(KeyCode::Char('G')));
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen.contains("peer set history (2 epochs)"), "{screen}");
    assert_snapshot!(screen);
}

/// With NO_COLOR nothing is coloured, so every state must read from glyphs and words.
#[test]
fn governance_and_joins_read_without_colour() {
    for (screen, texts) in [
        (
            Screen::Governance,
            &[
                "○ open",
                "✔ passed",
                "✗ rejected",
                "✔ yes",
                "✗ no",
                "· not yet",
            ][..],
        ),
        (
            Screen::Joins,
            &["no proposal yet", "proposal 5: 1 of 4 yes"][..],
        ),
    ] {
        let mut app = on(screen);
        app.on_key(key(KeyCode::Char(if screen == Screen::Joins {
            'a'
        } else {
            'y'
        })));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(WIDTH, HEIGHT))
                .expect("terminal");
        terminal
            .draw(|frame| bfte_tui::screens::draw(frame, &app))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        assert!(
            buffer.content.iter().all(|cell| {
                cell.fg == ratatui::style::Color::Reset && cell.bg == ratatui::style::Color::Reset
            }),
            "{screen:?} uses colour"
        );
        app.input = Input::Normal;
        let text = render(&app, WIDTH, HEIGHT);
        for expected in texts {
            assert!(
                text.contains(expected),
                "{screen:?} lacks {expected}:\n{text}"
            );
        }
    }
}

/// The replication views say every state in glyphs and words, with no colour at all.
#[test]
fn replication_views_read_without_colour() {
    for app in [
        fixture::replica_app(4_000, 10_000, false, 2),
        fixture::voter_serving(5, 60, 3),
    ] {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
        terminal
            .draw(|frame| bfte_tui::screens::draw(frame, &app))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        assert!(buffer.content.iter().all(|cell| {
            cell.fg == ratatui::style::Color::Reset && cell.bg == ratatui::style::Color::Reset
        }));
        let text = render(&app, 80, 24);
        assert!(
            text.contains("● following") && text.contains("◐ catching up"),
            "{text}"
        );
    }
}
