//! A replica's Overview: where it stands against its sources (it never votes, so rounds,
//! leaders and vote rates say nothing here), the federation's members it may fetch from, and
//! the replicas it serves in turn.

use bfte_shared::admin::{Replication, Status};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::served::{self, megabytes};
use crate::app::App;

/// Cells of the catch-up bar.
const BAR: u64 = 30;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, status: &Status, replication: &Replication) {
    let [top, progress, serving] = Layout::vertical([
        Constraint::Length(10),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area);
    let [panel, sources] =
        Layout::horizontal([Constraint::Length(44), Constraint::Min(20)]).areas(top);
    draw_panel(frame, panel, app, status, replication);
    draw_sources(frame, sources, app, status);
    draw_progress(frame, progress, app, status, replication);
    served::draw(frame, serving, app, status);
}

fn draw_panel(frame: &mut Frame, area: Rect, app: &App, status: &Status, r: &Replication) {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<11}"), app.theme.dim()),
            Span::raw(value),
        ])
    };
    let (state, _) = state(r, app);
    let lag = r.lag_heights(status.finalized_height);
    let lines = vec![
        field(
            "source",
            match (&r.source, r.source_path) {
                (Some(source), Some(path)) => format!("{source} ({})", path.as_str()),
                (Some(source), None) => source.clone(),
                (None, _) => "-".into(),
            },
        ),
        field("state", state.into()),
        field(
            "this node",
            format!("{} ({})", status.peer_id.short(), status.role),
        ),
        field("finalized", format!("height {}", status.finalized_height)),
        field("target", format!("height {}", r.target_height)),
        field(
            "lag",
            format!(
                "{lag} height{} ({:.1} s)",
                if lag == 1 { "" } else { "s" },
                r.lag_ms as f64 / 1000.0
            ),
        ),
        field("bytes in", megabytes(r.bytes_in)),
        field("bytes out", megabytes(r.bytes_out)),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Replication "),
        ),
        area,
    );
}

/// The members of the epoch the replica is in: whom it may fetch from, and which one it does.
fn draw_sources(frame: &mut Frame, area: Rect, app: &App, status: &Status) {
    let lines: Vec<Line> = status
        .peers
        .iter()
        .map(|peer| {
            let name = if peer.name.is_empty() {
                "-"
            } else {
                &peer.name
            };
            let (mark, style) = if peer.connected {
                ("▶", app.theme.good())
            } else {
                (" ", app.theme.dim())
            };
            let used = if peer.connected { "  in use" } else { "" };
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::raw(format!("{name:<14} {}", peer.id.short())),
                Span::styled(used, style),
            ])
        })
        .collect();
    let title = " Sources (the epoch's members) ";
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn draw_progress(frame: &mut Frame, area: Rect, app: &App, status: &Status, r: &Replication) {
    let (state, style) = state(r, app);
    let line = if r.following {
        Span::styled(
            format!(" {state}: blocks are pushed to it as they finalize"),
            style,
        )
    } else if r.source.is_none() {
        Span::styled(format!(" {state}: trying the sources again"), style)
    } else {
        let (tip, target) = (status.finalized_height.0, r.target_height.0.max(1));
        let done = (tip.min(target) * BAR / target) as usize;
        let percent = tip.min(target) * 100 / target;
        Span::styled(
            format!(
                " {state}: [{}{}] {percent}%  height {tip} of {target}",
                "█".repeat(done),
                "░".repeat(BAR as usize - done)
            ),
            style,
        )
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Following, catching up, or without a source: glyph and words, never colour alone.
fn state(r: &Replication, app: &App) -> (&'static str, ratatui::style::Style) {
    match (r.following, r.source.is_some()) {
        (true, _) => ("● following", app.theme.good()),
        (false, true) => ("◐ catching up", app.theme.warn()),
        (false, false) => ("○ no source answers", app.theme.bad()),
    }
}
