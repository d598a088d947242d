//! The current round, live (as tmtop shows CometBFT's): how long it has run, its notarize and
//! dummy votes against the quorum, the previous round's finalize votes, and who has not voted.
//! Everything is what the node reported seeing; the clock is the latest event's.

use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::App;
use crate::state::{Outcome, PeerMarks};

/// Rows, the border included.
pub const HEIGHT: u16 = 6;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let Some(status) = &node.status else {
        return;
    };
    let round = status.round;
    let quorum = status.quorum as usize;
    let members: Vec<PeerId> = node
        .peers
        .iter()
        .map(|p| p.id)
        .filter(|id| node.rounds.is_member(id, round))
        .collect();
    let row = node.rounds.get(round);
    let marks = |id: &PeerId| row.map_or(PeerMarks::default(), |row| row.marks(id));
    let count = |voted: fn(PeerMarks) -> bool| members.iter().filter(|id| voted(marks(id))).count();
    let notarize = count(|m| m.notarize);
    let dummy = count(|m| m.dummy);
    let running = row
        .and_then(|row| row.started_ms)
        .zip(node.last_event_ms)
        .map_or("-".into(), |(started, now)| {
            format!("{:.1} s", now.saturating_sub(started) as f64 / 1000.0)
        });
    let tally = |name: &str, votes: usize| {
        Line::from(vec![
            Span::styled(format!(" {name:<10}"), app.theme.dim()),
            Span::styled(
                bar(votes, members.len(), quorum),
                if votes >= quorum {
                    app.theme.good()
                } else {
                    app.theme.warn()
                },
            ),
            Span::raw(format!(" {votes} votes, {quorum} needed")),
        ])
    };
    let missing: Vec<String> = members
        .iter()
        .filter(|id| !marks(id).notarize && !marks(id).dummy)
        .map(|id| node.name_of(id))
        .collect();
    let lines = vec![
        tally("notarize", notarize),
        tally("dummy", dummy),
        previous(app, round, &members, quorum),
        Line::from(vec![
            Span::styled(" not voted ", app.theme.dim()),
            Span::raw(if missing.is_empty() {
                "– everyone voted".to_string()
            } else {
                missing.join(", ")
            }),
        ]),
    ];
    let leader = node.name_of(&status.leader);
    let title = format!(" Round {round} (live): leader {leader}, running {running} ");
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The round before: its finalize votes, or why it went dummy.
fn previous(app: &App, round: Round, members: &[PeerId], quorum: usize) -> Line<'static> {
    let label = Span::styled(" finalize  ", app.theme.dim());
    let Some(before) = round.0.checked_sub(1).map(Round) else {
        return Line::from(vec![label, Span::raw("-")]);
    };
    let Some(row) = app.node.rounds.get(before) else {
        return Line::from(vec![label, Span::raw(format!("round {before}: not seen"))]);
    };
    if row.outcome == Outcome::Dummy {
        let why = row.cause.as_ref().map_or("-".into(), |c| c.brief());
        return Line::from(vec![
            label,
            Span::styled(
                format!("round {before} went dummy: {why}"),
                app.theme.warn(),
            ),
        ]);
    }
    let votes = members.iter().filter(|id| row.marks(id).finalize).count();
    let style = if votes >= quorum {
        app.theme.good()
    } else {
        app.theme.warn()
    };
    Line::from(vec![
        label,
        Span::styled(bar(votes, members.len(), quorum), style),
        Span::raw(format!(" {votes} votes, {quorum} needed (round {before})")),
    ])
}

/// `votes` of `members` as filled and empty squares, a bar after the quorum's square:
/// "■■■□|□" reads without colour.
fn bar(votes: usize, members: usize, quorum: usize) -> String {
    (0..members)
        .map(|i| {
            let square = if i < votes { '■' } else { '□' };
            if i + 1 == quorum && quorum < members {
                format!("{square}|")
            } else {
                square.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_bar_marks_the_quorum() {
        assert_eq!(bar(3, 5, 4), "■■■□|□");
        assert_eq!(bar(4, 4, 3), "■■■|■");
        assert_eq!(bar(1, 1, 1), "■");
    }
}
