//! The help overlay, generated from the keymap: the current screen's keys first.

use ratatui::Frame;
use ratatui::layout::{Flex, Rect};
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::keys;

/// Wide enough for the longest line, narrow enough for an 80-column terminal.
const WIDTH: u16 = 76;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines: Vec<Line> = Vec::new();
    for section in keys::help_sections(app.screen) {
        lines.push(Line::styled(
            format!(" {}", section.title),
            app.theme.title(),
        ));
        lines.extend(section.lines.into_iter().map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("  {keys:<14}"), app.theme.accent()),
                Span::raw(what),
            ])
        }));
    }
    // The first section names the screen.
    let title = " Keys (any key closes) ";
    super::popup(
        frame,
        area,
        Flex::Center,
        WIDTH.min(area.width),
        title,
        lines,
    );
}
