//! Log: the node's log lines as they arrive, filterable; follows the tail unless scrolled.

use bfte_shared::admin::LogLevel;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let height = usize::from(area.height.saturating_sub(2));
    let matching: Vec<_> = app.node.log.filtered(&app.views.log.filter).collect();
    let last = matching.len().saturating_sub(1);
    let cursor = app.views.log.cursor.unwrap_or(last);
    let offset = super::scroll_offset(cursor, height);
    let lines: Vec<Line> = matching
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, line)| {
            let level_style = match line.level {
                LogLevel::Error => theme.bad(),
                LogLevel::Warn => theme.warn(),
                LogLevel::Info => theme.good(),
                LogLevel::Debug | LogLevel::Trace => theme.dim(),
            };
            let row = Line::from(vec![
                Span::styled(format!("{} ", super::clock(line.at_ms)), theme.dim()),
                Span::styled(format!("{:<5} ", line.level.as_str()), level_style),
                Span::raw(line.text.as_str()),
            ]);
            if app.views.log.cursor == Some(index) {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let follow = if app.views.log.cursor.is_none() {
        "following"
    } else {
        "scrolled, G follows"
    };
    let mut title = format!(
        " Log ({} of {} lines, {follow}) ",
        matching.len(),
        app.node.log.len()
    );
    if !app.views.log.filter.is_empty() {
        title.push_str(&format!(
            "filter \"{}\" (Esc clears) ",
            app.views.log.filter
        ));
    }
    let body = if lines.is_empty() {
        vec![Line::styled(
            " no log lines yet (the node forwards what its RUST_LOG lets through)",
            theme.dim(),
        )]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(body).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
