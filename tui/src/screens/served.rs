//! The replicas this node serves its history to, as a table on the Overview of a voter and of
//! a replica.

use bfte_shared::admin::{ServedReplica, Status};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, status: &Status) {
    let count = status.serving.len();
    // Borders and the header take three rows; say so when the rest cannot show them all.
    let room = usize::from(area.height.saturating_sub(3));
    let shown = if count > room {
        format!(" ({room} shown)")
    } else {
        String::new()
    };
    let title = format!(
        " Serving {count} replica{}{shown} · {} out ",
        if count == 1 { "" } else { "s" },
        megabytes(status.bytes_out)
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    if count == 0 {
        let line = " · no replica follows this node now";
        frame.render_widget(
            Paragraph::new(line).style(app.theme.dim()).block(block),
            area,
        );
        return;
    }
    let rows = status.serving.iter().map(|replica| {
        let (state, style) = state(replica, app);
        Row::new(vec![
            Cell::from(replica.peer_id.short()),
            Cell::from(state).style(style),
            Cell::from(replica.height.to_string()),
            Cell::from(megabytes(replica.bytes_out)),
            Cell::from(replica.path.map_or("-", |p| p.as_str())),
            Cell::from(replica.rtt_us.map_or("-".to_string(), |us| {
                format!("{:.1} ms", us as f64 / 1000.0)
            })),
            Cell::from(remote(replica)),
        ])
    });
    let header = Row::new(vec![
        "ID", "STATE", "HEIGHT", "OUT", "PATH", "RTT", "REMOTE",
    ])
    .style(app.theme.title());
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(13),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}

/// Following (pushed new blocks as they finalize) or still catching up: glyph and word.
fn state(replica: &ServedReplica, app: &App) -> (&'static str, Style) {
    if replica.following {
        ("● following", app.theme.good())
    } else {
        ("◐ catching up", app.theme.warn())
    }
}

/// The address without its kind, which PATH says: `ip:port` or the relay's URL.
fn remote(replica: &ServedReplica) -> String {
    let remote = replica.remote.as_deref().unwrap_or("-");
    let bare = remote
        .strip_prefix("ip:")
        .or_else(|| remote.strip_prefix("relay:"));
    bare.unwrap_or(remote).to_string()
}

pub(super) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
