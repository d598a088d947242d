//! Drawing: a pure function of [`App`]. The frame is a title bar with the screen tabs, the
//! current screen, and a status bar with the connection; help and "too small" draw over it.

mod alerts;
pub mod blocks;
mod chrome;
mod commands;
mod dialog;
pub mod governance;
mod help;
pub mod joins;
mod labels;
mod live_round;
mod log;
pub mod modules;
mod overview;
mod rate_chart;
mod replication;
mod rounds;
mod served;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::{App, Input};

/// Below this the console says so instead of drawing a garbled screen.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The console's screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Overview,
    Rounds,
    Blocks,
    Governance,
    Joins,
    Modules,
    Log,
}

impl Screen {
    /// Tab order; each screen keeps the number TUI.md gives it.
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Rounds,
        Screen::Blocks,
        Screen::Governance,
        Screen::Joins,
        Screen::Modules,
        Screen::Log,
    ];

    /// The digit that shows the screen.
    pub fn key(self) -> char {
        match self {
            Screen::Overview => '1',
            Screen::Rounds => '2',
            Screen::Blocks => '3',
            Screen::Governance => '4',
            Screen::Joins => '5',
            Screen::Modules => '6',
            Screen::Log => '7',
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Rounds => "Rounds",
            Screen::Blocks => "Blocks",
            Screen::Governance => "Governance",
            Screen::Joins => "Joins",
            Screen::Modules => "Modules",
            Screen::Log => "Log",
        }
    }

    /// Whether `/` filters this screen's table.
    pub fn filterable(self) -> bool {
        !matches!(self, Screen::Overview | Screen::Rounds)
    }

    /// Whether the screen shows proposals, join requests or the epoch.
    pub fn shows_governance(self) -> bool {
        matches!(self, Screen::Governance | Screen::Joins)
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Screen {
        Screen::ALL[(self.index() + 1) % Screen::ALL.len()]
    }

    pub fn previous(self) -> Screen {
        Screen::ALL[(self.index() + Screen::ALL.len() - 1) % Screen::ALL.len()]
    }
}

/// Draws the whole console.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        chrome::too_small(frame, area);
        return;
    }
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::title_bar(frame, title, app);
    match app.screen {
        Screen::Overview => overview::draw(frame, body, app),
        Screen::Rounds => rounds::draw(frame, body, app),
        Screen::Blocks => blocks::draw(frame, body, app),
        Screen::Governance => governance::draw(frame, body, app),
        Screen::Joins => joins::draw(frame, body, app),
        Screen::Modules => modules::draw(frame, body, app),
        Screen::Log => log::draw(frame, body, app),
    }
    chrome::status_bar(frame, status, app);
    match &app.input {
        Input::Dialog(dialog) => dialog::draw(frame, body, app, dialog),
        Input::Command(line) => commands::draw(frame, body, app, line.text()),
        Input::Normal | Input::Filter(_) => {}
    }
    if app.help {
        help::draw(frame, body, app);
    }
}

/// Draws `lines` in a bordered box of `width` columns centred over `area` (or at its foot,
/// with `Flex::End`), clearing what is under it: the help, the confirmation dialog and the
/// command list.
pub(crate) fn popup(
    frame: &mut Frame,
    area: Rect,
    vertical: Flex,
    width: u16,
    title: &str,
    lines: Vec<Line>,
) {
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let [column] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(vertical)
        .areas(column);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        popup,
    );
}

/// UTC wall-clock time of day for a node timestamp.
pub(crate) fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// How long ago `then_ms` was at node time `now_ms`, in its two largest units: "1m 35s".
pub(crate) fn age(now_ms: u64, then_ms: u64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {}s", secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// Greedy word wrap into lines of at most `width` characters; runs of spaces inside a line
/// stay (they align labels), longer words are cut.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if word.is_empty() {
            if !line.is_empty() {
                line.push(' ');
            }
            continue;
        }
        let mut word: Vec<char> = word.chars().collect();
        let used = line.chars().count();
        if used > 0 && used + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
        }
        if !line.is_empty() {
            line.push(' ');
        }
        while line.chars().count() + word.len() > width {
            let room = width.saturating_sub(line.chars().count());
            line.extend(word.drain(..room));
            lines.push(std::mem::take(&mut line));
        }
        line.extend(word);
    }
    lines.push(line);
    lines
}

/// The first row to show so that `cursor` stays inside `height` rows.
pub(crate) fn scroll_offset(cursor: usize, height: usize) -> usize {
    cursor.saturating_sub(height.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::{age, wrap};

    #[test]
    fn wrap_breaks_at_spaces_keeps_aligning_runs_and_cuts_long_words() {
        assert_eq!(wrap("id        abc", 40), vec!["id        abc"]);
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("a 0123456789", 4), vec!["a", "0123", "4567", "89"]);
        assert_eq!(wrap("", 4), vec![""]);
        // Spaces past the width do not break a line of their own, nor panic.
        assert_eq!(wrap("x      y", 3)[0].trim_end(), "x");
    }

    #[test]
    fn age_shows_the_two_largest_units() {
        assert_eq!(age(95_000, 0), "1m 35s");
        assert_eq!(age(12_000, 0), "12s");
        assert_eq!(age(3 * 3_600_000 + 60_000, 0), "3h 1m");
        assert_eq!(age(2 * 86_400_000 + 3_600_000, 0), "2d 1h");
        assert_eq!(age(0, 5_000), "0s", "a clock behind the request");
    }
}
