//! The blocks/s chart: the last minute on a real time axis (seconds before the latest node
//! time seen) with a y scale, so a second without a finalized block plots as zero and a stall
//! as a flat line on the axis.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};

use crate::app::App;
use crate::state::WINDOW_SECS;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let rates = &app.node.rates;
    let blocks = rates.blocks();
    let newest = blocks.len().saturating_sub(1) as f64;
    let points: Vec<(f64, f64)> = blocks
        .iter()
        .enumerate()
        .map(|(second, count)| (second as f64 - newest, *count as f64))
        .collect();
    let top = blocks.iter().copied().max().unwrap_or(0).max(1);
    let window = WINDOW_SECS as f64;
    let label = |text: String| Span::styled(text, app.theme.dim());
    let title = format!(
        " Blocks/s, last {WINDOW_SECS} s (avg {:.1}) ",
        rates.blocks_per_sec()
    );
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(app.theme.accent())
            .data(&points),
    ])
    .block(Block::default().borders(Borders::ALL).title(title))
    .x_axis(Axis::default().bounds([-window, 0.0]).labels([
        label(format!("-{WINDOW_SECS} s")),
        label(format!("-{} s", WINDOW_SECS / 2)),
        label("now".into()),
    ]))
    .y_axis(
        Axis::default()
            .bounds([0.0, top as f64])
            .labels([label("0".into()), label(top.to_string())]),
    );
    frame.render_widget(chart, area);
}
