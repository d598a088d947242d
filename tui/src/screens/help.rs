//! The help overlay, generated from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::keys;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let lines: Vec<Line> = keys::help_lines()
        .into_iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<11}"), app.theme.accent()),
                Span::raw(what),
            ])
        })
        .collect();
    super::popup(frame, area, 72, " Keys (any key closes) ", lines);
}
