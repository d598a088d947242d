//! Snapshots of every screen on ratatui's test backend, drawn from the deterministic fixture
//! with hashes and times masked. `cargo insta review` after an intended change.

mod common;

use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::round::Round;
use bfte_tui::app::App;
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
