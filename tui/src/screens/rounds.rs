//! Rounds: the current round live on top (`live_round.rs`), then recent rounds as rows, peers
//! as columns, with what each peer did in each round and why a dummy round went dummy.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use bfte_shared::admin::DummyCause;
use bfte_shared::peer::PeerId;

use super::labels::distinct_labels;
use super::live_round;
use crate::app::App;
use crate::state::{Outcome, PeerMarks, RoundRow};

/// Width of one peer's column: room for "PNDF" and a gap.
const PEER_COLUMN: u16 = 5;
const LEADER_COLUMN: u16 = 10;

/// What the cells (what a peer proposed and which votes it sent) and the outcomes mean, as
/// many to a line as fit.
const LEGEND: [&str; 10] = [
    "P proposed",
    "N notarize",
    "D dummy",
    "F finalize",
    "· nothing seen",
    "– not a member",
    "✔ finalized",
    "■ notarized",
    "◇ dummy",
    "… open",
];
/// A cell of a round in which the peer was not a member: neither a vote nor a missed one.
const NOT_MEMBER: &str = "–";

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let legend_lines = legend(usize::from(area.width));
    let legend_height = u16::try_from(legend_lines.len()).unwrap_or(1);
    let [live, grid, legend] = Layout::vertical([
        Constraint::Length(live_round::HEIGHT),
        Constraint::Min(3),
        Constraint::Length(legend_height),
    ])
    .areas(area);
    live_round::draw(frame, live, app);
    let node = &app.node;
    let names: Vec<String> = node.peers.iter().map(|p| node.name_of(&p.id)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let leaders = distinct_labels(&names, usize::from(LEADER_COLUMN));
    let leader = |id: &PeerId| {
        node.peers
            .iter()
            .position(|p| p.id == *id)
            .and_then(|at| leaders.get(at).cloned())
            .unwrap_or_else(|| node.name_of(id))
    };
    let visible = usize::from(grid.height.saturating_sub(3));
    let offset = super::scroll_offset(app.views.rounds.cursor, visible);
    let rows = node
        .rounds
        .newest()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(index, (round, row))| {
            let mut cells = vec![
                Cell::from(round.to_string()),
                Cell::from(row.leader.map_or("-".to_string(), |l| leader(&l))),
                Cell::from(
                    row.duration_ms()
                        .map_or("…".to_string(), |ms| format!("{ms}")),
                ),
                outcome_cell(row, app),
            ];
            cells.extend(node.peers.iter().map(|peer| {
                Cell::from(if node.rounds.is_member(&peer.id, *round) {
                    glyphs(row.marks(&peer.id))
                } else {
                    NOT_MEMBER
                })
            }));
            // The leader's name is in its own column.
            cells.push(Cell::from(
                row.cause.as_ref().map_or(String::new(), DummyCause::brief),
            ));
            let row_widget = Row::new(cells);
            if index == app.views.rounds.cursor {
                row_widget.style(app.theme.selected())
            } else {
                row_widget
            }
        });
    let mut header = vec![
        "ROUND".to_string(),
        "LEADER".to_string(),
        "MS".to_string(),
        "OUTCOME".to_string(),
    ];
    header.extend(distinct_labels(&names, usize::from(PEER_COLUMN) - 1));
    header.push("WHY DUMMY".to_string());
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(LEADER_COLUMN),
        Constraint::Length(6),
        Constraint::Length(11),
    ];
    widths.extend(node.peers.iter().map(|_| Constraint::Length(PEER_COLUMN)));
    widths.push(Constraint::Fill(1));
    let title = format!(" Rounds ({} kept, newest first) ", node.rounds.len());
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(app.theme.title()))
        .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, grid);
    frame.render_widget(Paragraph::new(legend_lines).style(app.theme.dim()), legend);
}

/// The legend's entries, greedily on lines of at most `width` columns.
fn legend(width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<String> = Vec::new();
    for entry in LEGEND {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + entry.chars().count() <= width => {
                line.push_str("  ");
                line.push_str(entry);
            }
            _ => lines.push(format!(" {entry}")),
        }
    }
    lines.into_iter().map(Line::raw).collect()
}

/// A peer's marks as letters, from a table (this runs for every cell of every frame).
fn glyphs(marks: PeerMarks) -> &'static str {
    const GLYPHS: [&str; 16] = [
        "·", "P", "N", "PN", "D", "PD", "ND", "PND", "F", "PF", "NF", "PNF", "DF", "PDF", "NDF",
        "PNDF",
    ];
    let index = usize::from(marks.proposed)
        | usize::from(marks.notarize) << 1
        | usize::from(marks.dummy) << 2
        | usize::from(marks.finalize) << 3;
    GLYPHS[index]
}

fn outcome_cell(row: &RoundRow, app: &App) -> Cell<'static> {
    let theme = app.theme;
    match row.outcome {
        Outcome::Finalized => Cell::from("✔ final").style(theme.good()),
        Outcome::Notarized => Cell::from("■ notarized").style(theme.accent()),
        Outcome::Dummy => Cell::from("◇ dummy").style(theme.warn()),
        Outcome::Open => Cell::from("… open").style(theme.dim()),
    }
}
