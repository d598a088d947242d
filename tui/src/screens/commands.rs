//! The commands under the `:` prompt while one is typed: all of them at first, then those the
//! typed word starts, so the list doubles as the usage of the command being typed.

use ratatui::Frame;
use ratatui::layout::{Flex, Rect};
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::app::command;

/// Room for every usage and its text on an 80-column terminal.
const WIDTH: u16 = 80;

/// Draws the list at the foot of `area`, just above the prompt.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, line: &str) {
    let (commands, found) = command::matching(line);
    let width = WIDTH.min(area.width);
    let usage_width = commands
        .iter()
        .map(|c| c.usage.chars().count())
        .max()
        .unwrap_or(0);
    // Borders, a leading space, the gap after the usage.
    let text_width = usize::from(width).saturating_sub(usage_width + 6);
    let mut lines = Vec::new();
    for command in &commands {
        for (n, text) in super::wrap(command.help, text_width)
            .into_iter()
            .enumerate()
        {
            let usage = if n == 0 { command.usage } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {usage:<usage_width$}  "), app.theme.accent()),
                Span::raw(text),
            ]));
        }
    }
    let title = if found {
        " Commands (quote values with spaces) ".to_string()
    } else {
        let word = line.split_whitespace().next().unwrap_or_default();
        format!(" No command starts with \"{word}\"; the commands are ")
    };
    super::popup(frame, area, Flex::End, width, &title, lines);
}
