//! Rounds: recent rounds as rows, peers as columns, with what each peer did in each round.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::labels::distinct_labels;
use crate::app::App;
use crate::state::{Outcome, PeerMarks, RoundRow};

/// Width of one peer's column: room for "PNDF" and a gap.
const PEER_COLUMN: u16 = 5;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let [grid, legend] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let node = &app.node;
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
                Cell::from(row.leader.map_or("-".to_string(), |l| node.name_of(&l))),
                Cell::from(
                    row.duration_ms()
                        .map_or("…".to_string(), |ms| format!("{ms}")),
                ),
                outcome_cell(row, app),
            ];
            cells.extend(
                node.peers
                    .iter()
                    .map(|peer| Cell::from(glyphs(row.marks(&peer.id)))),
            );
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
    let names: Vec<&str> = node.peers.iter().map(|p| p.name.as_str()).collect();
    header.extend(distinct_labels(&names, usize::from(PEER_COLUMN) - 1));
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(11),
    ];
    widths.extend(node.peers.iter().map(|_| Constraint::Length(PEER_COLUMN)));
    let title = format!(" Rounds ({} kept, newest first) ", node.rounds.len());
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(app.theme.title()))
        .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, grid);
    frame.render_widget(
        Paragraph::new(Line::styled(
            " P proposed  N notarize vote  D dummy vote  F finalize vote  · nothing seen   \
             ✔ finalized  ■ notarized  ◇ dummy  … open",
            app.theme.dim(),
        )),
        legend,
    );
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
