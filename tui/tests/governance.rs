//! The Governance and Joins screens' keys and reads on the app state alone: no terminal, no
//! node. Votes, approvals and rejections go through a dialog with Cancel the default.

use bfte_shared::admin::{AdminEvent, AdminRequest, EventFrame, LogLevel};
use bfte_shared::join::PendingJoin;
use bfte_shared::modules::ctrl::{Proposal, ProposalId, ProposalStatus};
use bfte_shared::round::Height;
use bfte_tui::app::{App, Decision, Dialog, MESSAGE_MS};
use bfte_tui::client::{Request, Update};
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(app: &mut App, code: KeyCode) -> bool {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The fixture on `screen`, with the read that opening it asked for answered.
fn on(screen: Screen) -> App {
    let mut app = fixture::app(5, 60);
    press(&mut app, KeyCode::Char(screen.key()));
    assert_eq!(app.take_requests(), vec![Request::Governance]);
    app.update(answer());
    app
}

fn answer() -> Update {
    let now = fixture::START_MS + 60 * 400;
    Update::Governance(Ok(Box::new(fixture::governance(now))))
}

fn event(event: AdminEvent) -> Update {
    Update::Event(EventFrame {
        at_ms: fixture::START_MS + 100_000,
        event,
    })
}

fn message(app: &App) -> &str {
    app.message().unwrap_or_default()
}

fn vote(proposal: u64, yes: bool) -> Vec<Request> {
    vec![Request::Write(AdminRequest::Vote {
        proposal: ProposalId(proposal),
        yes,
    })]
}

#[test]
fn y_asks_with_cancel_selected_and_enter_on_cancel_sends_nothing() {
    let mut app = on(Screen::Governance);
    assert_eq!(app.selected_proposal().map(|p| p.id), Some(ProposalId(6)));
    assert!(press(&mut app, KeyCode::Char('y')));
    assert_eq!(
        app.input.dialog(),
        Some(&Dialog {
            decision: Decision::Vote {
                proposal: ProposalId(6),
                yes: true
            },
            confirm: false
        })
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.input.dialog(), None);
    assert!(app.take_requests().is_empty(), "Cancel is the default");
    assert_eq!(message(&app), "cancelled");
}

#[test]
fn tab_then_enter_confirms_and_sends_the_vote() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Tab);
    assert!(app.input.dialog().is_some_and(|d| d.confirm));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.input.dialog(), None);
    assert_eq!(app.take_requests(), vote(6, true));
    assert_eq!(message(&app), "sending…");

    // n votes no here (not "next match"); the arrows move between the buttons too.
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_requests(), vote(6, false));
}

#[test]
fn esc_cancels_and_other_keys_do_not_reach_the_screen() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('y'));
    assert!(!press(&mut app, KeyCode::Char('q')), "q is not quit here");
    assert!(!app.should_quit());
    assert!(!press(&mut app, KeyCode::Char('3')));
    assert_eq!(app.screen, Screen::Governance);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.input.dialog(), None);
    assert!(app.take_requests().is_empty());
    press(&mut app, KeyCode::Char('y'));
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit(), "Ctrl-C still quits");
}

#[test]
fn closed_proposals_take_no_vote() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('G'));
    let last = app.selected_proposal().expect("a proposal");
    assert_ne!(last.status, ProposalStatus::Open);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.input.dialog(), None);
    assert!(
        message(&app).contains("proposal 1 is closed"),
        "{}",
        message(&app)
    );
}

#[test]
fn a_read_only_console_refuses_votes_approvals_and_rejections() {
    let mut app = on(Screen::Governance);
    app.read_only = true;
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.input.dialog(), None);
    assert!(
        message(&app).starts_with("read-only console (admin-ro.sock): votes are not possible"),
        "{}",
        message(&app)
    );
    press(&mut app, KeyCode::Char('5'));
    for (key, what) in [('a', "approvals"), ('r', "rejections")] {
        press(&mut app, KeyCode::Char(key));
        assert_eq!(app.input.dialog(), None);
        assert!(message(&app).contains(what), "{}", message(&app));
    }
    assert!(app.take_requests().is_empty());
}

#[test]
fn a_approves_and_r_rejects_the_selected_join_request() {
    let mut app = on(Screen::Joins);
    assert_eq!(
        app.selected_join().map(|j| j.member.id),
        Some(fixture::dana())
    );
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        app.input.dialog().map(|d| (d.decision, d.confirm)),
        Some((Decision::Approve(fixture::dana()), false))
    );
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.take_requests(),
        vec![Request::Write(AdminRequest::Approve {
            peer: fixture::dana()
        })]
    );

    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    let reject = AdminRequest::Reject {
        peer: fixture::erin(),
    };
    assert_eq!(app.take_requests(), vec![Request::Write(reject.clone())]);
    // Done at once; no event follows, so the list is read again.
    app.update(Update::Written {
        request: Box::new(reject),
        answer: Ok(None),
    });
    assert!(
        message(&app).starts_with("rejection of erin done"),
        "{}",
        message(&app)
    );
    assert_eq!(app.take_requests(), vec![Request::Governance]);
}

#[test]
fn keys_of_one_screen_do_nothing_on_another() {
    let mut app = on(Screen::Joins);
    assert!(!press(&mut app, KeyCode::Char('y')));
    press(&mut app, KeyCode::Char('1'));
    for key in ['y', 'a', 'r'] {
        assert!(!press(&mut app, KeyCode::Char(key)), "{key}");
    }
    assert_eq!(app.input.dialog(), None);
}

#[test]
fn the_vote_result_shows_in_the_status_line() {
    let mut app = on(Screen::Governance);
    let request = Box::new(AdminRequest::Vote {
        proposal: ProposalId(6),
        yes: true,
    });
    app.update(Update::Written {
        request: request.clone(),
        answer: Ok(Some(12)),
    });
    assert_eq!(
        message(&app),
        "vote yes on proposal 6 submitted, nonce 12; it counts once finalized"
    );
    app.update(Update::Written {
        request,
        answer: Err("the node refused: proposal 6 is not open".into()),
    });
    assert_eq!(
        message(&app),
        "vote yes on proposal 6: the node refused: proposal 6 is not open"
    );
}

/// The fixture's proposal `id` with `peer` voting `yes`.
fn voted(id: u64, peer: usize, yes: bool) -> Proposal {
    let mut proposal = fixture::governance(0)
        .proposal(ProposalId(id))
        .cloned()
        .expect("fixture proposal");
    proposal.votes.push((fixture::peer(peer), yes));
    proposal
}

fn erin_request() -> PendingJoin {
    fixture::governance(0)
        .join(&fixture::erin())
        .cloned()
        .expect("erin's request")
}

#[test]
fn governance_events_update_the_screen_in_place_without_a_read() {
    let mut app = on(Screen::Governance);
    app.update(event(AdminEvent::ProposalChanged {
        proposal: voted(5, 2, true),
    }));
    let data = app.node.governance.data.clone().expect("data");
    assert_eq!(
        data.proposal(ProposalId(5)).map(|p| p.votes.len()),
        Some(2),
        "the new vote is in"
    );
    assert_eq!(app.selected_proposal().map(|p| p.id), Some(ProposalId(6)));

    // A new proposal goes on top; the selection stays on the proposal it was on.
    let mut seventh = voted(5, 2, true);
    seventh.id = ProposalId(7);
    assert!(app.update(event(AdminEvent::ProposalChanged { proposal: seventh })));
    let ids: Vec<u64> = app
        .node
        .governance
        .data
        .as_ref()
        .expect("data")
        .proposals
        .iter()
        .map(|p| p.id.0)
        .collect();
    assert_eq!(ids, vec![7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(app.selected_proposal().map(|p| p.id), Some(ProposalId(6)));

    let mut epoch = data.epoch.clone();
    epoch.number = 2;
    epoch.start_height = Height(45);
    assert!(app.update(event(AdminEvent::EpochStarted {
        epoch: epoch.clone()
    })));
    assert_eq!(message(&app), "epoch 2 started at height 45 with 5 peers");
    assert_eq!(
        app.node.governance.data.as_ref().map(|d| &d.epoch),
        Some(&epoch)
    );

    // Joins: a request closed goes, a new one comes.
    press(&mut app, KeyCode::Char('5'));
    assert!(app.update(event(AdminEvent::JoinClosed {
        peer: fixture::erin(),
        admitted: false,
    })));
    assert_eq!(
        app.node.governance.data.as_ref().map(|d| d.joins.len()),
        Some(1)
    );
    assert!(app.update(event(AdminEvent::JoinRequested {
        join: erin_request()
    })));
    assert_eq!(
        app.node.governance.data.as_ref().map(|d| d.joins.len()),
        Some(2)
    );
    assert_eq!(
        app.take_requests(),
        vec![Request::Peers],
        "no event needed a governance read; the new epoch asks who the peers are"
    );
}

#[test]
fn governance_events_during_a_read_read_once_more_one_read_at_a_time() {
    let mut app = fixture::app(5, 60);
    app.take_requests();
    let changed = AdminEvent::ProposalChanged {
        proposal: voted(5, 2, true),
    };
    app.update(event(changed.clone()));
    assert!(app.take_requests().is_empty(), "not shown: not read");

    press(&mut app, KeyCode::Char('4'));
    assert_eq!(
        app.take_requests(),
        vec![Request::Governance],
        "opening reads"
    );
    // The answer on its way may predate these: they are not applied, a read follows it.
    for _ in 0..5 {
        app.update(event(changed.clone()));
    }
    assert!(app.take_requests().is_empty(), "one read out at a time");
    assert!(app.update(answer()), "the answer redraws");
    assert_eq!(
        app.take_requests(),
        vec![Request::Governance],
        "changed meanwhile: once more"
    );
    app.update(answer());
    assert!(app.take_requests().is_empty(), "nothing new: no more");

    // The connection drops with the read out; the next connection reads again.
    app.update(event(changed));
    press(&mut app, KeyCode::Char('5'));
    app.update(Update::Connecting {
        attempt: 1,
        error: None,
    });
    let snapshot = bfte_tui::state::Snapshot {
        status: app.node.status.clone().expect("status"),
        peers: app.node.peers.clone(),
        blocks: fixture::stored_blocks(5, 5),
    };
    app.update(Update::Connected(Box::new(snapshot)));
    assert_eq!(app.take_requests(), vec![Request::Governance]);
}

#[test]
fn a_join_request_is_announced_on_any_screen() {
    let mut app = fixture::app(5, 60);
    let requested = AdminEvent::JoinRequested {
        join: erin_request(),
    };
    assert!(app.update(event(requested)));
    assert!(
        message(&app).starts_with("join request from erin (5jfgyy7c): screen 5"),
        "{}",
        message(&app)
    );
}

#[test]
fn status_messages_go_after_five_seconds_of_node_time_or_on_another_screen() {
    let mut app = fixture::app(5, 60);
    let t0 = fixture::START_MS + 100_000;
    let at = |ms: u64, event: AdminEvent| Update::Event(EventFrame { at_ms: ms, event });
    let log = |ms| {
        at(
            ms,
            AdminEvent::Log {
                level: LogLevel::Info,
                line: "tick".into(),
            },
        )
    };
    let requested = AdminEvent::JoinRequested {
        join: erin_request(),
    };
    app.update(at(t0, requested));
    assert!(message(&app).starts_with("join request from erin"));
    app.update(log(t0 + MESSAGE_MS - 1));
    assert!(message(&app).starts_with("join request from erin"));
    assert!(
        app.update(log(t0 + MESSAGE_MS)),
        "the message going is a redraw"
    );
    assert_eq!(app.message(), None);

    // A message a key gave starts its clock at the next event; a new one starts it again.
    press(&mut app, KeyCode::Char('4'));
    app.update(answer());
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(message(&app), "cancelled");
    let t1 = t0 + 60_000;
    app.update(log(t1));
    app.update(log(t1 + MESSAGE_MS - 1_000));
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Esc);
    app.update(log(t1 + MESSAGE_MS));
    assert_eq!(message(&app), "cancelled", "the second cancel shows anew");
    // Held events while paused count as node time too.
    press(&mut app, KeyCode::Char('p'));
    assert!(app.update(log(t1 + 2 * MESSAGE_MS)));
    assert_eq!(app.message(), None);
    press(&mut app, KeyCode::Char('p'));

    // Keys that stay on the screen keep the message; one that changes the screen drops it.
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(message(&app), "cancelled");
    assert!(press(&mut app, KeyCode::Char('1')));
    assert_eq!(app.message(), None);
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Joins);
    assert_eq!(app.message(), None, "Tab changes the screen too");
}

#[test]
fn a_refused_read_keeps_what_was_shown() {
    let mut app = on(Screen::Governance);
    app.update(event(AdminEvent::ProposalChanged {
        proposal: voted(6, 0, true),
    }));
    app.update(Update::Governance(
        Err("cannot read proposals: disk".into()),
    ));
    assert!(app.node.governance.data.is_some());
    assert!(app.node.governance.error.is_some());
    app.update(answer());
    assert!(app.node.governance.error.is_none());
}

#[test]
fn the_selection_stays_on_its_proposal_as_new_ones_arrive() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_proposal().map(|p| p.id), Some(ProposalId(5)));
    let mut data = fixture::governance(fixture::START_MS);
    let mut newer = data.proposals[0].clone();
    newer.id = ProposalId(7);
    data.proposals.insert(0, newer);
    app.update(Update::Governance(Ok(Box::new(data))));
    assert_eq!(app.selected_proposal().map(|p| p.id), Some(ProposalId(5)));
    assert_eq!(app.views.governance.cursor, 2);
}

#[test]
fn filters_keep_matching_proposals_and_join_requests() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('/'));
    for c in "add peer".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let shown: Vec<u64> = bfte_tui::screens::governance::visible(&app)
        .iter()
        .map(|p| p.id.0)
        .collect();
    assert_eq!(shown, vec![5, 2]);
    press(&mut app, KeyCode::Esc);
    assert_eq!(bfte_tui::screens::governance::visible(&app).len(), 6);

    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Char('/'));
    for c in "2001:db8".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.selected_join().map(|j| j.member.id),
        Some(fixture::erin())
    );
    assert_eq!(bfte_tui::screens::joins::visible(&app).len(), 1);
}

#[test]
fn n_votes_no_on_governance_even_under_a_filter_and_is_the_next_match_on_blocks() {
    let mut app = on(Screen::Governance);
    press(&mut app, KeyCode::Char('/'));
    // The filter has an n: typed, it is a letter, not a vote.
    for c in "open".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.input.dialog(), None);
    press(&mut app, KeyCode::Enter);
    let shown = bfte_tui::screens::governance::visible(&app);
    assert!(shown.len() > 1, "{} open proposals", shown.len());
    assert!(shown.iter().all(|p| p.status == ProposalStatus::Open));
    press(&mut app, KeyCode::Char('j'));
    let second = app.selected_proposal().map(|p| p.id).expect("a proposal");
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.input.dialog(),
        Some(&Dialog {
            decision: Decision::Vote {
                proposal: second,
                yes: false
            },
            confirm: false
        })
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.views.governance.cursor, 1, "n did not move the cursor");

    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('/'));
    for c in "peer1".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.views.blocks.cursor, 1, "n is the next match here");
    assert_eq!(app.input.dialog(), None);
}

#[test]
fn in_a_dialog_h_and_n_select_cancel_l_and_y_select_confirm() {
    let mut app = on(Screen::Governance);
    let confirm = |app: &App| app.input.dialog().map(|d| d.confirm);
    press(&mut app, KeyCode::Char('y'));
    assert!(press(&mut app, KeyCode::Char('l')));
    assert_eq!(confirm(&app), Some(true));
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(confirm(&app), Some(true), "l selects, it does not toggle");
    press(&mut app, KeyCode::Char('h'));
    assert_eq!(confirm(&app), Some(false));
    press(&mut app, KeyCode::Enter);
    assert!(app.take_requests().is_empty(), "h selected Cancel");
    assert_eq!(message(&app), "cancelled");

    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(confirm(&app), Some(true));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(confirm(&app), Some(false), "n in the dialog selects Cancel");
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_requests(), vote(6, false));
}
