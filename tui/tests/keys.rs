//! Key handling on the app state alone: no terminal, no node.

use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::hash::Hash;
use bfte_shared::round::{Height, Round};
use bfte_tui::app::{App, Input, LineInput, Link};
use bfte_tui::client::{Request, Update};
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use bfte_tui::state::{ModuleTab, ModuleTables};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(app: &mut App, code: KeyCode) -> bool {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn finalized(height: u64) -> Update {
    Update::Event(EventFrame {
        at_ms: fixture::START_MS + height * 1000,
        event: AdminEvent::Finalized {
            height: Height(height),
            round: Round(height + 100),
            block: Hash::tagged(b"test", &height.to_be_bytes()),
            proposer: fixture::peer(1),
            items: 1,
            proposed_here_us: None,
        },
    })
}

#[test]
fn digits_tab_and_shift_tab_switch_screens() {
    let mut app = fixture::app(4, 30);
    assert_eq!(app.screen, Screen::Overview);
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.screen, Screen::Blocks);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Governance, "4 follows Blocks");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Joins);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Modules);
    press(&mut app, KeyCode::Char('7'));
    assert_eq!(app.screen, Screen::Log);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.screen, Screen::Modules);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Overview, "Tab wraps around");
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.screen, Screen::Log);
    let digits: String = Screen::ALL.iter().map(|s| s.key()).collect();
    assert_eq!(
        digits, "1234567",
        "each screen keeps its number from TUI.md"
    );
    for screen in Screen::ALL {
        assert!(press(&mut app, KeyCode::Char(screen.key())));
        assert_eq!(app.screen, screen);
    }
    assert!(!press(&mut app, KeyCode::Char('8')), "no screen 8");
}

#[test]
fn unbound_keys_cause_no_redraw() {
    let mut app = fixture::app(4, 30);
    assert!(!press(&mut app, KeyCode::Char('z')));
    assert!(!press(&mut app, KeyCode::F(5)));
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());
    let mut app = fixture::app(4, 30);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit());
}

#[test]
fn ctrl_c_quits_while_typing_a_filter_or_a_command() {
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for (screen, prompt) in [('7', '/'), ('3', ':')] {
        let mut app = fixture::app(4, 30);
        press(&mut app, KeyCode::Char(screen));
        press(&mut app, KeyCode::Char(prompt));
        press(&mut app, KeyCode::Char('x'));
        app.on_key(ctrl_c);
        assert!(app.should_quit(), "{prompt}");
        let line = LineInput::new("x");
        let typed = [Input::Filter(line.clone()), Input::Command(line)];
        assert!(typed.contains(&app.input), "no c typed: {:?}", app.input);
    }
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    press(&mut app, KeyCode::Char('3'));
    assert!(!app.help);
    assert_eq!(
        app.screen,
        Screen::Overview,
        "the closing key does nothing else"
    );
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit(), "q quits even from the help");
}

#[test]
fn blocks_move_open_and_go_back() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('3'));
    let tip = app.node.blocks.tip().expect("blocks").0;
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.views.blocks.cursor, 1);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.views.blocks.cursor, app.node.blocks.len() - 1);
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.views.blocks.cursor, 0);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.views.blocks.cursor, 0, "the cursor stops at the top");

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_requests(), vec![Request::Block(Height(tip))]);
    assert_eq!(app.open_block(), Some(Height(tip)));
    // An answer for another block (a late one) is ignored.
    assert!(!app.update(Update::Block(Box::new(fixture::block_detail(4, tip - 1)))));
    assert!(app.update(Update::Block(Box::new(fixture::block_detail(4, tip)))));
    assert!(app.node.blocks.detail.is_some());
    let outcome = |height| Some(Box::new(fixture::block_outcome(height)));
    assert!(!app.update(Update::Outcome(Height(tip - 1), outcome(tip - 1))));
    assert!(app.update(Update::Outcome(Height(tip), outcome(tip))));
    assert!(app.node.blocks.outcome.is_some());
    press(&mut app, KeyCode::Esc);
    assert!(app.node.blocks.detail.is_none());
    assert!(app.node.blocks.outcome.is_none());
    assert_eq!(app.open_block(), None);
}

#[test]
fn keys_that_move_leave_the_hidden_list_alone_while_a_block_is_open() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let height = app.open_block().expect("opening");
    let moves = [
        KeyCode::Char('g'),
        KeyCode::Char('G'),
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Char('j'),
        KeyCode::Up,
        KeyCode::PageDown,
    ];
    for code in moves {
        press(&mut app, code);
    }
    assert_eq!(app.views.blocks.cursor, 1, "while it loads");
    app.update(Update::Block(Box::new(fixture::block_detail(4, height.0))));
    for code in moves {
        press(&mut app, code);
    }
    assert_eq!(app.views.blocks.cursor, 1, "while it shows");
    press(&mut app, KeyCode::Esc);
    app.take_requests();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_requests(), vec![Request::Block(height)]);
}

#[test]
fn a_new_block_keeps_the_selection_on_the_same_block() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let selected = |app: &App| {
        bfte_tui::screens::blocks::visible(app)
            .nth(app.views.blocks.cursor)
            .map(|b| b.height)
    };
    let before = selected(&app);
    let tip = app.node.blocks.tip().expect("blocks").0;
    app.update(finalized(tip + 1));
    assert_eq!(selected(&app), before);
}

#[test]
fn filter_is_typed_applied_and_cleared() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('7'));
    press(&mut app, KeyCode::Char('/'));
    for c in "warnx".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.input, Input::Filter(LineInput::new("warn")));
    assert!(
        app.views.log.filter.is_empty(),
        "nothing applies before Enter"
    );
    // While typing, q is a letter, not quit.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.views.log.filter, "warn");
    assert!(
        app.node
            .log
            .filtered("warn")
            .all(|l| l.text.contains("could not connect"))
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.views.log.filter.is_empty());

    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.input, Input::Normal);
    assert!(app.views.log.filter.is_empty(), "Esc while typing cancels");
}

#[test]
fn slash_does_nothing_where_there_is_no_table_to_filter() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.input, Input::Normal);
}

#[test]
fn log_follows_the_tail_until_scrolled() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('7'));
    assert_eq!(app.views.log.cursor, None, "following");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.views.log.cursor, Some(app.node.log.len() - 2));
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.views.log.cursor, None);
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.views.log.cursor, Some(0));
}

#[test]
fn pause_holds_updates_and_resume_applies_them() {
    let mut app = fixture::app(4, 30);
    let tip = app.node.blocks.tip().expect("blocks").0;
    press(&mut app, KeyCode::Char('p'));
    assert!(!app.update(finalized(tip + 1)), "no redraw while paused");
    assert_eq!(app.node.blocks.tip(), Some(Height(tip)));
    assert_eq!(app.held(), 1);
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(app.node.blocks.tip(), Some(Height(tip + 1)));
    assert_eq!(app.held(), 0);
}

#[test]
fn a_second_connection_is_shown_as_a_reconnect() {
    let mut app = fixture::app(4, 30);
    assert_eq!(app.link, Link::Connected { reconnected: false });
    app.update(Update::Connecting {
        attempt: 1,
        error: Some("the node closed the connection".into()),
    });
    assert!(matches!(app.link, Link::Connecting { .. }));
    let snapshot = bfte_tui::state::Snapshot {
        status: app.node.status.clone().expect("status"),
        peers: app.node.peers.clone(),
        blocks: fixture::stored_blocks(4, 5),
    };
    app.update(Update::Connected(Box::new(snapshot)));
    assert_eq!(app.link, Link::Connected { reconnected: true });
    assert_eq!(
        app.node.blocks.tip(),
        Some(Height(5)),
        "the snapshot replaces the blocks"
    );
}

#[test]
fn a_peer_that_connects_asks_for_fresh_peer_details() {
    let mut app = fixture::app(4, 30);
    app.take_requests();
    let event = AdminEvent::PeerConnected {
        peer: fixture::peer(3),
    };
    app.update(Update::Event(EventFrame { at_ms: 0, event }));
    assert_eq!(app.take_requests(), vec![Request::Peers]);
    assert!(app.node.peers[3].connected);
}

fn modules_answer() -> Update {
    let tables = ModuleTables::decode(&fixture::module_tables());
    Update::Modules(Ok(Box::new(tables)))
}

#[test]
fn modules_list_moves_and_enter_moves_into_the_table() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('6'));
    assert_eq!(app.selected_module(), ModuleTab::Data);
    press(&mut app, KeyCode::Enter);
    assert!(!app.views.modules.in_table, "data has no table to move in");
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_module(), ModuleTab::Meta);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected_module(), ModuleTab::Ctrl);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_module(), ModuleTab::Ctrl, "stops at the end");
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected_module(), ModuleTab::Attest);

    press(&mut app, KeyCode::Enter);
    assert!(app.views.modules.in_table);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        app.views.modules.cursor, 2,
        "three statements, the cursor stops at the last"
    );
    assert_eq!(
        app.selected_module(),
        ModuleTab::Attest,
        "the list stays put"
    );
    press(&mut app, KeyCode::Esc);
    assert!(!app.views.modules.in_table);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected_module(), ModuleTab::Meta);
    assert_eq!(
        app.views.modules.cursor, 0,
        "another module starts at its first row"
    );
}

#[test]
fn modules_filter_keeps_matching_rows() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('/'));
    for c in "Acme".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.views.modules.filter, "Acme");
    let rows = bfte_tui::screens::modules::rows(&app);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "federation.name");
    press(&mut app, KeyCode::Esc);
    assert!(app.views.modules.filter.is_empty());
    assert_eq!(bfte_tui::screens::modules::rows(&app).len(), 3);
}

#[test]
fn modules_refresh_on_finality_one_request_at_a_time() {
    let mut app = fixture::app(4, 30);
    app.take_requests();
    let tip = app.node.blocks.tip().expect("blocks").0;
    app.update(finalized(tip + 1));
    assert_eq!(app.take_requests(), vec![], "not shown: not fetched");

    press(&mut app, KeyCode::Char('6'));
    assert_eq!(
        app.take_requests(),
        vec![Request::Modules],
        "opening the screen fetches"
    );
    for height in tip + 2..tip + 10 {
        app.update(finalized(height));
    }
    assert_eq!(app.take_requests(), vec![], "one request out at a time");
    assert!(app.update(modules_answer()));
    assert_eq!(
        app.take_requests(),
        vec![Request::Modules],
        "blocks finalized meanwhile: one more"
    );
    app.update(modules_answer());
    assert_eq!(app.take_requests(), vec![], "nothing new: no more");

    app.update(finalized(tip + 10));
    assert_eq!(app.take_requests(), vec![Request::Modules]);
    // The connection drops with the request out; the next connection asks again.
    app.update(Update::Connecting {
        attempt: 1,
        error: None,
    });
    let snapshot = bfte_tui::state::Snapshot {
        status: app.node.status.clone().expect("status"),
        peers: app.node.peers.clone(),
        blocks: fixture::stored_blocks(4, 5),
    };
    app.update(Update::Connected(Box::new(snapshot)));
    assert_eq!(app.take_requests(), vec![Request::Modules]);
}

#[test]
fn a_refused_refresh_keeps_the_last_tables() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('6'));
    app.update(Update::Modules(
        Err("cannot read module state: disk".into()),
    ));
    assert!(app.node.modules.tables.is_some());
    assert!(app.node.modules.error.is_some());
    app.update(modules_answer());
    assert!(app.node.modules.error.is_none());
}

/// `n` means one thing on each screen, and the help says which: on Governance it votes no
/// and the help lists that first, saying n finds no match there; elsewhere it finds the next
/// match and the help says where it does not.
#[test]
fn n_votes_no_on_governance_finds_the_next_match_elsewhere_and_the_help_says_which() {
    use bfte_tui::keys::{Action, Mode, action, help_sections};
    let n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
    assert_eq!(
        action(&n, Mode::Normal, Screen::Governance),
        Some(Action::Vote(false))
    );
    assert_eq!(
        action(&n, Mode::Normal, Screen::Blocks),
        Some(Action::NextMatch)
    );
    let n_lines = |screen: Screen| -> Vec<(String, String)> {
        help_sections(screen)
            .into_iter()
            .flat_map(|section| {
                section
                    .lines
                    .into_iter()
                    .filter(|(keys, _)| keys.split(' ').any(|k| k == "n"))
                    .map(move |(_, help)| (section.title.clone(), help))
            })
            .collect()
    };
    let pair = |title: &str, help: &str| (title.to_string(), help.to_string());
    assert_eq!(
        n_lines(Screen::Governance),
        [
            pair("Governance", "vote no on the selected proposal"),
            pair("Every screen", "next or previous filter match (n not here)"),
        ]
    );
    assert_eq!(
        n_lines(Screen::Blocks),
        [
            pair(
                "Every screen",
                "next or previous filter match (n not on Governance)"
            ),
            pair(
                "Other screens",
                "Governance: vote no on the selected proposal"
            ),
        ]
    );
}

/// The help starts with the keys of the screen it opens on.
#[test]
fn the_help_lists_the_current_screens_keys_first() {
    use bfte_tui::keys::help_sections;
    let titles = |screen: Screen| -> Vec<String> {
        help_sections(screen)
            .into_iter()
            .map(|section| section.title)
            .collect()
    };
    assert_eq!(
        titles(Screen::Joins),
        ["Joins", "Every screen", "Other screens"]
    );
    let joins = help_sections(Screen::Joins);
    let keys: Vec<&str> = joins[0].lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "r"]);
    assert_eq!(
        titles(Screen::Overview),
        ["Every screen", "Other screens"],
        "no keys of its own"
    );
    for screen in Screen::ALL {
        for section in help_sections(screen) {
            for (keys, help) in &section.lines {
                assert!(
                    keys.chars().count() <= 13 && help.chars().count() <= 58,
                    "{screen:?}: {keys} {help} is wider than the help"
                );
            }
        }
    }
}

/// The hint lines come from the keymap: each names the keys of its mode.
#[test]
fn the_hints_name_each_modes_keys() {
    use bfte_tui::keys::{Mode, hints};
    assert_eq!(hints(Mode::Normal), ["? help", "q quit"]);
    assert_eq!(hints(Mode::Filter), ["Enter applies", "Esc cancels"]);
    assert_eq!(hints(Mode::Command), ["Enter runs", "Esc cancels"]);
    assert_eq!(
        hints(Mode::Dialog),
        ["Tab or ←/→ choose", "Enter does it", "Esc cancels"]
    );
}
