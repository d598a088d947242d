//! The console at its smallest, 80x24, beside 200x60: the title keeps the node's identity,
//! tables keep their labels, and the help, the command list and the vote dialog fit.

mod common;

use bfte_tui::app::App;
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;

use common::render;

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn on(screen: Screen) -> App {
    let mut app = fixture::app(5, 60);
    app.screen = screen;
    app
}

fn first_line(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

#[test]
fn every_title_keeps_the_nodes_identity_at_80x24() {
    for screen in Screen::ALL {
        let text = render(&on(screen), 80, 24);
        let title = first_line(&text);
        assert!(
            title.contains("peer0 rkeohxlu (voter)"),
            "{screen:?}: {title}"
        );
        assert!(
            title.contains(&format!("[{} {}]", screen.key(), screen.title())),
            "{screen:?}: {title}"
        );
    }
    let mut app = on(Screen::Overview);
    if let Some(status) = &mut app.node.status {
        status.federation_name = "A federation with a name far too long for the title".into();
    }
    let text = render(&app, 80, 24);
    assert!(
        first_line(&text).contains("peer0 rkeohxlu (voter)"),
        "the federation gives way first: {}",
        first_line(&text)
    );
    let wide = render(&app, 200, 60);
    assert!(
        first_line(&wide).contains("far too long for the title (")
            && first_line(&wide).contains("2 Rounds"),
        "at 200 columns everything shows: {}",
        first_line(&wide)
    );
}

/// What is pressed before a screen is looked at.
type Keys = fn(&mut App);

/// Every column label of the screen's tables at 80x24, whole.
#[test]
fn tables_keep_their_labels_at_80x24() {
    let ctrl: Keys = |app| {
        press(app, KeyCode::Char('G'));
        press(app, KeyCode::Enter);
    };
    let evidence: Keys = |app| {
        press(app, KeyCode::Char('G'));
        press(app, KeyCode::Up);
        press(app, KeyCode::Enter);
    };
    let none: Keys = |_| {};
    let cases: [(Screen, Keys, &[&str]); 6] = [
        (
            Screen::Overview,
            none,
            &["NAME", "ID", "STATE", "PATH", "RTT", "LAST VOTE", "MISSED"],
        ),
        (
            Screen::Blocks,
            none,
            &["HEIGHT", "ROUND", "HASH", "ITEMS", "PROPOSER", "TIME (UTC)"],
        ),
        (
            Screen::Governance,
            none,
            &["ID", "CHANGE", "YES", "NO", "QUORUM", "THIS NODE", "STATUS"],
        ),
        (
            Screen::Joins,
            none,
            &[
                "NAME",
                "ID",
                "ADDRESSES",
                "PINNED AT",
                "REQUESTED",
                "APPROVAL",
            ],
        ),
        (
            Screen::Modules,
            ctrl,
            &["WHAT", "HEIGHT", "PEERS OR CHANGE", "STATUS"],
        ),
        (
            Screen::Modules,
            evidence,
            &["OFFENDER", "ROUND", "PROOF", "SUGGESTED"],
        ),
    ];
    for (screen, keys, labels) in cases {
        let mut app = on(screen);
        keys(&mut app);
        let text = render(&app, 80, 24);
        let header = text
            .lines()
            .find(|line| line.contains(labels[0]) && line.contains(labels[1]))
            .unwrap_or_else(|| panic!("{screen:?} has no header:\n{text}"));
        for label in labels {
            assert!(
                header.contains(&format!("{label} ")),
                "{screen:?} cuts {label}:\n{header}"
            );
        }
    }
}

#[test]
fn governance_at_80x24() {
    assert_snapshot!("governance_80x24", render(&on(Screen::Governance), 80, 24));
}

#[test]
fn modules_ctrl_at_80x24() {
    let mut app = on(Screen::Modules);
    press(&mut app, KeyCode::Char('G'));
    assert_snapshot!("modules_ctrl_80x24", render(&app, 80, 24));
}

/// The help opens on the current screen's keys and fits whole, the last line included.
#[test]
fn the_help_fits_at_80x24_with_the_screens_keys_first() {
    for screen in Screen::ALL {
        let mut app = on(screen);
        press(&mut app, KeyCode::Char('?'));
        let text = render(&app, 80, 24);
        let sections = bfte_tui::keys::help_sections(screen);
        let (_, last) = sections
            .last()
            .and_then(|section| section.lines.last())
            .expect("the help has lines");
        assert!(
            text.contains(last.as_str()),
            "{screen:?} cuts {last}:\n{text}"
        );
        let own = sections.first().map(|section| section.title.as_str());
        let has_keys = bfte_tui::keys::BINDINGS
            .iter()
            .any(|b| b.screen == Some(screen));
        let expected = if has_keys {
            screen.title()
        } else {
            "Every screen"
        };
        assert_eq!(own, Some(expected), "{screen:?}");
    }
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('?'));
    let text = render(&app, 80, 24);
    let first_key = text
        .lines()
        .find(|line| line.contains(" y "))
        .expect("y is listed");
    assert!(first_key.contains("vote yes on the selected proposal"));
    assert_snapshot!("help_on_governance_80x24", text);
}

#[test]
fn the_command_list_fits_at_80x24_and_narrows_as_one_types() {
    let mut app = on(Screen::Blocks);
    press(&mut app, KeyCode::Char(':'));
    let all = render(&app, 80, 24);
    for usage in [
        "submit TEXT",
        "vote ID yes|no",
        "block HEIGHT",
        "SCREEN",
        "q  ",
    ] {
        assert!(all.contains(usage), "{usage}:\n{all}");
    }
    assert_snapshot!("command_list_80x24", all);
    for c in "vo".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let narrowed = render(&app, 80, 24);
    assert!(narrowed.contains("vote ID yes|no") && !narrowed.contains("submit TEXT"));
    assert_snapshot!("command_list_narrowed_200x60", render(&app, 200, 60));
}

#[test]
fn the_vote_dialog_on_a_parameters_proposal_fits_at_80x24_with_only_what_changes() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('y'));
    let text = render(&app, 80, 24);
    assert!(
        text.contains("round timeout 2000 ms (now 1000 ms)"),
        "the change against the parameters in force:\n{text}"
    );
    assert!(
        !text.contains("clock drift"),
        "unchanged parameters stay out:\n{text}"
    );
    assert!(text.contains("▶ Cancel ◀"), "{text}");
    assert_snapshot!("vote_dialog_80x24", text);
}
