//! The Rounds grid and the missed votes with names that are hard to tell apart and with a
//! peer set that changes: labels stay distinct, and rounds outside a peer's membership count
//! neither as votes nor as missed ones.

mod common;

use bfte_shared::admin::{AdminEvent, EventFrame, VoteSort};
use bfte_shared::modules::ctrl::{EpochConfig, Member};
use bfte_shared::round::Round;
use bfte_tui::app::App;
use bfte_tui::client::{Request, Update};
use bfte_tui::fixture;
use bfte_tui::screens::Screen;
use insta::assert_snapshot;

use common::render;

/// The Rounds screen with the peers renamed; no governance read, so the names are the node's.
fn named(names: &[String]) -> App {
    let mut app = fixture::app(names.len(), 60);
    app.node.governance.data = None;
    for (peer, name) in app.node.peers.iter_mut().zip(names) {
        peer.name = name.clone();
    }
    app.screen = Screen::Rounds;
    app
}

/// The row of column headers.
fn header(screen: &str) -> Vec<String> {
    let line = screen
        .lines()
        .find(|line| line.contains("ROUND") && line.contains("LEADER"))
        .expect("a header row");
    line.trim_matches(|c| c == '"' || c == '│')
        .split_whitespace()
        .skip(4)
        .take_while(|label| *label != "WHY")
        .map(String::from)
        .collect()
}

#[test]
fn names_sharing_long_prefixes_read_apart_at_80x24() {
    let names: Vec<String> = [
        "validator-east-1",
        "validator-east-2",
        "validator-west-1",
        "validator-west-2",
        "observer",
    ]
    .map(String::from)
    .to_vec();
    let screen = render(&named(&names), 80, 24);
    assert_eq!(header(&screen), ["vea1", "vea2", "vwe1", "vwe2", "obse"]);
    assert!(
        screen.contains("validator-e") || screen.contains("vea"),
        "the leader column tells them apart too:\n{screen}"
    );
    assert_snapshot!("rounds_long_names_80x24", screen);
}

#[test]
fn sixteen_names_sharing_a_prefix_read_apart_at_200x60() {
    let names: Vec<String> = (0..16).map(|i| format!("federation-node-{i:02}")).collect();
    let screen = render(&named(&names), 200, 60);
    let labels = header(&screen);
    assert_eq!(labels.len(), 16, "{screen}");
    assert_eq!(labels[0], "f00");
    assert_eq!(labels[15], "f15");
    let leaders: Vec<&str> = screen
        .lines()
        .filter_map(|line| line.trim_matches('"').strip_prefix('│'))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|line| line.split_whitespace().nth(1))
        .collect();
    assert!(leaders.len() > 40, "{screen}");
    assert!(
        leaders
            .iter()
            .all(|l| labels.iter().any(|label| label == l)),
        "leaders are labelled as the columns are: {leaders:?}"
    );
    let distinct: std::collections::HashSet<&&str> = leaders.iter().collect();
    assert_eq!(distinct.len(), 16, "every peer leads in turn");
}

fn event(round: u64, event: AdminEvent) -> Update {
    Update::Event(EventFrame {
        at_ms: fixture::START_MS + round * 400,
        event,
    })
}

/// The epoch after the one in force, starting from the block at `start`, with the same peers.
fn next_epoch(app: &App, start: bfte_shared::round::Height) -> EpochConfig {
    let mut epoch = app
        .node
        .governance
        .data
        .as_ref()
        .expect("governance")
        .epoch
        .clone();
    epoch.number += 1;
    epoch.start_height = start;
    epoch
}

/// erin joins by an epoch that starts from the newest block (height 42, round 60), votes in
/// rounds 61 to 63 and misses 64 and 65; round 66 is still open.
fn erin_joins() -> App {
    let mut app = fixture::app(5, 60);
    let mut epoch = next_epoch(&app, app.node.blocks.tip().expect("blocks"));
    epoch.members.push(Member {
        id: fixture::erin(),
        name: "erin".into(),
        addrs: Vec::new(),
    });
    app.update(event(60, AdminEvent::EpochStarted { epoch }));
    assert!(
        app.take_requests().contains(&Request::Peers),
        "a new epoch asks who the peers are"
    );
    let mut peers = app.node.peers.clone();
    let mut erin = peers[1].clone();
    erin.id = fixture::erin();
    erin.name = "erin".into();
    peers.push(erin);
    app.update(Update::Peers(peers));
    for round in 61..=66 {
        let leader = fixture::peer(round as usize % 4);
        app.update(event(
            round,
            AdminEvent::RoundStarted {
                round: Round(round),
                leader,
            },
        ));
        let voters = (0..4).map(fixture::peer);
        let erin = (round <= 63).then(fixture::erin);
        for signer in voters.chain(erin) {
            let kind = VoteSort::Notarize;
            let round = Round(round);
            app.update(event(
                round.0,
                AdminEvent::VoteSeen {
                    round,
                    signer,
                    kind,
                },
            ));
        }
    }
    app
}

#[test]
fn missed_votes_count_only_the_rounds_since_the_peer_joined() {
    let app = erin_joins();
    let erin = fixture::erin();
    assert_eq!(app.node.rounds.missed_votes(&erin, 50), 2);
    let mut overview = app.clone();
    overview.screen = Screen::Overview;
    let screen = render(&overview, 120, 36);
    let row = screen
        .lines()
        .find(|line| line.contains("erin"))
        .expect("erin is listed");
    assert!(
        row.trim_end_matches(['"', ' ', '│']).ends_with(" 2"),
        "MISSED is 2:\n{row}"
    );
}

#[test]
fn rounds_before_a_peer_joined_show_it_was_not_a_member() {
    let mut app = erin_joins();
    app.screen = Screen::Rounds;
    let screen = render(&app, 200, 60);
    let cell = |round: &str| -> String {
        let line = screen
            .lines()
            .find(|line| line.trim_start_matches(['"', '│']).starts_with(round))
            .unwrap_or_else(|| panic!("round {round}:\n{screen}"));
        line.trim_matches(['"', '│', ' '])
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(cell("60 "), "–", "{screen}");
    assert_eq!(cell("63 "), "N");
    assert_eq!(cell("64 "), "·", "a member that sent nothing");
    assert_snapshot!("rounds_after_a_peer_joined_200x60", screen);
}

/// The old epoch's blocks above the one a new epoch starts from leave the chain: the list
/// drops them, and so does the grid their rounds, so the new epoch's blocks at those heights
/// and its rounds take their places.
#[test]
fn an_epoch_from_an_earlier_block_drops_what_left_the_chain() {
    let mut app = fixture::app(5, 60);
    let start = bfte_shared::round::Height(40);
    let start_round = app
        .node
        .blocks
        .newest()
        .find(|b| b.height == start)
        .map(|b| b.round)
        .expect("block 40");
    let epoch = next_epoch(&app, start);
    app.update(event(60, AdminEvent::EpochStarted { epoch }));
    assert_eq!(app.node.blocks.tip(), Some(start));
    assert_eq!(app.node.finalized_height(), start);
    let newest = app.node.rounds.newest().next().map(|(round, _)| *round);
    assert_eq!(newest, Some(start_round), "later rounds are run again");
    let again = AdminEvent::Finalized {
        height: bfte_shared::round::Height(41),
        round: start_round.next(),
        block: bfte_shared::hash::Hash::tagged(b"test", b"new epoch"),
        proposer: fixture::peer(1),
        items: 0,
        proposed_here_us: None,
    };
    app.update(event(61, again));
    assert_eq!(
        app.node.blocks.tip(),
        Some(bfte_shared::round::Height(41)),
        "the new epoch's block at 41 is listed"
    );
}

/// An epoch that started while the console was away shows at the reconnect as another peer
/// set: the rounds seen before count for neither the peer that came nor the one that went.
#[test]
fn a_reconnect_with_another_peer_set_counts_from_then_on() {
    let mut app = fixture::app(5, 60);
    let mut peers = app.node.peers.clone();
    let gone = peers.remove(3).id;
    let mut erin = peers[1].clone();
    erin.id = fixture::erin();
    erin.name = "erin".into();
    peers.push(erin);
    app.update(Update::Connected(Box::new(bfte_tui::state::Snapshot {
        status: app.node.status.clone().expect("status"),
        peers,
        blocks: Vec::new(),
    })));
    assert_eq!(app.node.rounds.missed_votes(&fixture::erin(), 50), 0);
    assert_eq!(app.node.rounds.missed_votes(&gone, 50), 0);
    assert!(
        app.node.rounds.missed_votes(&fixture::peer(4), 50) > 0,
        "still counted"
    );
}
