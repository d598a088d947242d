//! The `:` command line and `n`/`N` on the app state alone: no terminal, no node.

use std::path::PathBuf;

use bfte_shared::admin::AdminRequest;
use bfte_shared::codec;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::ctrl::ProposalId;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, META};
use bfte_tui::app::{App, Input, LineInput};
use bfte_tui::client::{Request, Update};
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use bfte_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(app: &mut App, code: KeyCode) -> bool {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_line(app: &mut App, line: &str) {
    press(app, KeyCode::Char(':'));
    for c in line.chars() {
        press(app, KeyCode::Char(c));
    }
    press(app, KeyCode::Enter);
}

/// The one write a command line queued.
fn write(app: &mut App, line: &str) -> AdminRequest {
    type_line(app, line);
    match app.take_requests().as_slice() {
        [Request::Write(request)] => request.clone(),
        other => panic!("{line:?} queued {other:?}"),
    }
}

fn message(app: &App) -> &str {
    app.message().unwrap_or_default()
}

#[test]
fn the_prompt_is_typed_edited_and_cancelled() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.input, Input::Command(LineInput::default()));
    for c in "qx".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.input, Input::Command(LineInput::new("q")));
    assert!(!app.should_quit(), "q while typing is a letter");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.input, Input::Normal);
    assert!(app.take_requests().is_empty(), "Esc cancels");
    assert!(!app.should_quit());
}

#[test]
fn submit_meta_and_attest_send_what_the_cli_sends() {
    let mut app = fixture::app(4, 30);
    assert_eq!(
        write(&mut app, "submit hello"),
        AdminRequest::Submit {
            data: b"hello".to_vec()
        }
    );
    assert_eq!(message(&app), "sending…");
    let propose = MetaItem::Propose {
        key: "federation.name".into(),
        value: "Acme CI".into(),
    };
    assert_eq!(
        write(&mut app, r#"meta set federation.name "Acme CI""#),
        AdminRequest::SubmitItem {
            module: META,
            data: codec::encode(&propose)
        }
    );
    let attest = AttestItem::Attest {
        subject: "artifact:sha256:9f2c".into(),
        claim: "built from 4e1a".into(),
        detail: None,
    };
    assert_eq!(
        write(
            &mut app,
            r#"attest  artifact:sha256:9f2c "built from 4e1a" "#
        ),
        AdminRequest::SubmitItem {
            module: ATTEST,
            data: codec::encode(&attest)
        }
    );
}

#[test]
fn the_answer_shows_in_the_status_line() {
    let mut app = fixture::app(4, 30);
    let request = Box::new(write(&mut app, "submit x"));
    assert!(app.update(Update::Written {
        request: request.clone(),
        answer: Ok(Some(7))
    }));
    assert!(
        message(&app).starts_with("submitted, nonce 7"),
        "{}",
        message(&app)
    );
    write(&mut app, "submit x");
    app.update(Update::Written {
        request,
        answer: Err("the node refused: outbox full".into()),
    });
    assert_eq!(message(&app), "the node refused: outbox full");
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.message(), None, "a new command clears the last result");
}

#[test]
fn wrong_commands_say_why_in_one_line() {
    let mut app = fixture::app(4, 30);
    for (line, expected) in [
        ("frobnicate", "unknown command \"frobnicate\""),
        ("", "no command"),
        ("block", "usage: block HEIGHT"),
        ("block twelve", "no height \"twelve\""),
        ("rounds now", "unknown command \"rounds\""),
        ("submit", "usage: submit TEXT"),
        ("submit two words", "usage: submit TEXT"),
        ("meta get k", "usage: meta set KEY VALUE"),
        ("meta set k", "usage: meta set KEY VALUE"),
        ("attest subject", "usage: attest SUBJECT CLAIM"),
        ("submit \"open", "unterminated quote"),
        ("screen 8", "no screen 8"),
        ("screen x", "no screen x"),
    ] {
        type_line(&mut app, line);
        assert!(
            message(&app).starts_with(expected),
            "{line:?}: {}",
            message(&app)
        );
        assert!(!message(&app).contains('\n'));
        let sent = app.take_requests();
        assert!(sent.is_empty(), "{line:?} sent {sent:?}");
    }
}

#[test]
fn screen_and_quit_commands() {
    let mut app = fixture::app(4, 30);
    type_line(&mut app, "screen 6");
    assert_eq!(app.screen, Screen::Modules);
    assert_eq!(
        app.take_requests(),
        vec![Request::Modules],
        "the tables are read"
    );
    type_line(&mut app, "quit");
    assert!(app.should_quit());
    let mut app = fixture::app(4, 30);
    type_line(&mut app, "q");
    assert!(app.should_quit());
}

#[test]
fn screens_are_shown_by_name_or_the_first_letters_of_one() {
    let mut app = fixture::app(4, 30);
    for (line, screen) in [
        ("blocks", Screen::Blocks),
        ("gov", Screen::Governance),
        ("Rounds", Screen::Rounds),
        ("j", Screen::Joins),
        ("log", Screen::Log),
        ("o", Screen::Overview),
    ] {
        type_line(&mut app, line);
        assert_eq!(app.screen, screen, "{line}");
    }
    type_line(&mut app, "help");
    assert!(app.help, ":help opens the help");
}

#[test]
fn block_opens_the_block_at_a_height() {
    let mut app = fixture::app(4, 30);
    let height = bfte_shared::round::Height(12);
    type_line(&mut app, "block 12");
    assert_eq!(app.screen, Screen::Blocks);
    assert_eq!(app.open_block(), Some(height));
    assert_eq!(app.take_requests(), vec![Request::Block(height)]);
    let listed = bfte_tui::screens::blocks::visible(&app)
        .nth(app.views.blocks.cursor)
        .map(|b| b.height);
    assert_eq!(listed, Some(height), "selected in the list Esc returns to");
    // Another one replaces it; a height the node lacks is said so.
    type_line(&mut app, "block 3");
    assert_eq!(app.open_block(), Some(bfte_shared::round::Height(3)));
    app.take_requests();
    assert!(app.update(Update::NoBlock(bfte_shared::round::Height(3))));
    assert_eq!(message(&app), "the node holds no block at height 3");
    assert_eq!(app.open_block(), None);
    // Above the finalized height nothing is asked.
    let tip = app.node.finalized_height();
    type_line(&mut app, &format!("block {}", tip.0 + 5));
    assert!(app.take_requests().is_empty());
    assert!(
        message(&app).starts_with("no block at height"),
        "{}",
        message(&app)
    );
}

#[test]
fn the_command_list_narrows_to_the_typed_word() {
    use bfte_tui::app::command::{COMMANDS, matching};
    let names = |line: &str| -> (Vec<&str>, bool) {
        let (found, any) = matching(line);
        (found.iter().map(|c| c.name).collect(), any)
    };
    assert_eq!(names("").0.len(), COMMANDS.len());
    assert_eq!(names("a"), (vec!["attest", "approve"], true));
    assert_eq!(
        names("vote 3"),
        (vec!["vote"], true),
        "the usage of the one typed"
    );
    assert_eq!(names("gov"), (vec!["SCREEN"], true), "a screen's name");
    assert_eq!(names("b"), (vec!["block", "SCREEN"], true));
    let (all, any) = names("frob");
    assert!(
        !any && all.len() == COMMANDS.len(),
        "nothing matches: all of them"
    );
}

#[test]
fn a_read_only_console_refuses_writes_without_sending() {
    let app = App::new(PathBuf::from("/data/peer0/admin-ro.sock"), Theme::plain());
    assert!(app.read_only);
    assert!(!App::new(PathBuf::from("/data/peer0/admin.sock"), Theme::plain()).read_only);
    let mut app = fixture::app(4, 30);
    app.read_only = true;
    type_line(&mut app, "meta set k v");
    assert!(app.take_requests().is_empty());
    assert!(
        message(&app).contains("writes are not possible"),
        "{}",
        message(&app)
    );
    type_line(&mut app, "screen 3");
    assert_eq!(app.screen, Screen::Blocks, "reading still works");
    type_line(&mut app, "block 3");
    assert_eq!(app.take_requests().len(), 1, "and opening a block");
}

#[test]
fn n_and_shift_n_move_among_the_filtered_rows() {
    let mut app = fixture::app(4, 30);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.views.blocks.cursor, 0,
        "without a filter n does nothing"
    );
    press(&mut app, KeyCode::Char('/'));
    for c in "peer1".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let shown = bfte_tui::screens::blocks::visible(&app).count();
    assert!(
        shown > 2 && shown < app.node.blocks.len(),
        "{shown} blocks by peer1"
    );
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.views.blocks.cursor, 2);
    press(&mut app, KeyCode::Char('N'));
    assert_eq!(app.views.blocks.cursor, 1);
    press(&mut app, KeyCode::Char('G'));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.views.blocks.cursor,
        shown - 1,
        "n stops at the last match"
    );
}

#[test]
fn vote_approve_and_reject_send_what_the_cli_sends_without_a_dialog() {
    let mut app = fixture::app(5, 60);
    assert_eq!(
        write(&mut app, "vote 3 yes"),
        AdminRequest::Vote {
            proposal: ProposalId(3),
            yes: true
        }
    );
    assert_eq!(app.input.dialog(), None);
    assert_eq!(
        write(&mut app, "vote #6 no"),
        AdminRequest::Vote {
            proposal: ProposalId(6),
            yes: false
        }
    );
    let dana = fixture::dana();
    let erin = fixture::erin();
    assert_eq!(
        write(&mut app, "approve dana"),
        AdminRequest::Approve { peer: dana }
    );
    assert_eq!(
        write(&mut app, &format!("approve {}", &dana.to_string()[..5])),
        AdminRequest::Approve { peer: dana },
        "a prefix of the id"
    );
    assert_eq!(
        write(&mut app, &format!("reject {erin}")),
        AdminRequest::Reject { peer: erin },
        "the full id"
    );
    assert_eq!(
        write(&mut app, "reject E"),
        AdminRequest::Reject { peer: erin }
    );
}

#[test]
fn a_joiner_must_be_named_unambiguously() {
    let mut app = fixture::app(5, 60);
    let mut data = app.node.governance.data.clone().expect("governance");
    data.joins[1].member.name = "dan".into();
    app.update(Update::Governance(Ok(Box::new(data))));
    for (line, expected) in [
        ("approve da", "\"da\" matches 2 join requests (dana "),
        ("reject zed", "no pending join request matches \"zed\""),
        ("approve", "usage: approve PEER"),
        ("vote 3", "usage: vote ID yes|no"),
        ("vote three yes", "usage: vote ID yes|no"),
        ("vote 3 maybe", "usage: vote ID yes|no"),
    ] {
        type_line(&mut app, line);
        assert!(
            message(&app).starts_with(expected),
            "{line:?}: {}",
            message(&app)
        );
        let sent = app.take_requests();
        assert!(sent.is_empty(), "{line:?} sent {sent:?}");
    }
    app.node.governance.data = None;
    type_line(&mut app, "approve dana");
    assert!(message(&app).starts_with("join requests are not loaded yet"));
}

#[test]
fn a_read_only_console_refuses_command_line_votes() {
    let mut app = fixture::app(5, 60);
    app.read_only = true;
    for line in ["vote 3 yes", "approve dana", "reject erin"] {
        type_line(&mut app, line);
        assert!(app.take_requests().is_empty(), "{line}");
        assert!(
            message(&app).contains("writes are not possible"),
            "{line}: {}",
            message(&app)
        );
    }
}
