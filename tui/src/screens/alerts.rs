//! The alert list under the Overview: stalls and recoveries, disconnects, epochs and evidence,
//! newest first, each with its node time and a glyph that reads without colour.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::clock;
use crate::app::App;
use crate::state::{Alert, AlertKind};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let room = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = if node.alerts.is_empty() {
        vec![Line::styled(
            " · none since the console started",
            app.theme.dim(),
        )]
    } else {
        node.alerts
            .newest()
            .take(room)
            .map(|alert| {
                let style = if alert.kind.is_bad() {
                    app.theme.bad()
                } else {
                    app.theme.good()
                };
                Line::from(vec![
                    Span::styled(format!(" {}  ", clock(alert.at_ms)), app.theme.dim()),
                    Span::styled(describe(alert, app), style),
                ])
            })
            .collect()
    };
    let title = format!(" Alerts ({}, newest first, UTC) ", node.alerts.len());
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn describe(alert: &Alert, app: &App) -> String {
    let name = |id| app.node.name_of(id);
    match &alert.kind {
        AlertKind::Stalled(why) => format!("⚠ finality stalled: {why}"),
        AlertKind::Recovered => "✓ finality recovered".into(),
        AlertKind::Disconnected(peer) => format!("○ {} disconnected", name(peer)),
        AlertKind::Reconnected(peer) => format!("● {} connected", name(peer)),
        AlertKind::Epoch {
            number,
            start_height,
            peers,
        } => format!("◆ epoch {number} from height {start_height}: {peers} peers"),
        AlertKind::Evidence {
            offender,
            round,
            what,
        } => format!(
            "‼ evidence: {} signed {what} in round {round}",
            name(offender)
        ),
    }
}
