//! Drawing: a pure function of [`App`]. The frame is a title bar with the screen tabs, the
//! current screen, and a status bar with the connection; help and "too small" draw over it.

pub mod blocks;
mod chrome;
mod help;
mod log;
pub mod modules;
mod overview;
mod rounds;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use crate::app::App;

/// Below this the console says so instead of drawing a garbled screen.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The console's screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Overview,
    Rounds,
    Blocks,
    Modules,
    Log,
}

impl Screen {
    /// Tab order. Each screen keeps the number TUI.md gives it: Governance (4) and Joins (5)
    /// go between Blocks and Modules once the admin API has proposals and join requests.
    pub const ALL: [Screen; 5] = [
        Screen::Overview,
        Screen::Rounds,
        Screen::Blocks,
        Screen::Modules,
        Screen::Log,
    ];

    /// The digit that shows the screen.
    pub fn key(self) -> char {
        match self {
            Screen::Overview => '1',
            Screen::Rounds => '2',
            Screen::Blocks => '3',
            Screen::Modules => '6',
            Screen::Log => '7',
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Rounds => "Rounds",
            Screen::Blocks => "Blocks",
            Screen::Modules => "Modules",
            Screen::Log => "Log",
        }
    }

    /// Whether `/` filters this screen's table.
    pub fn filterable(self) -> bool {
        matches!(self, Screen::Blocks | Screen::Modules | Screen::Log)
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
        Screen::Modules => modules::draw(frame, body, app),
        Screen::Log => log::draw(frame, body, app),
    }
    chrome::status_bar(frame, status, app);
    if app.help {
        help::draw(frame, body, app);
    }
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

/// The first row to show so that `cursor` stays inside `height` rows.
pub(crate) fn scroll_offset(cursor: usize, height: usize) -> usize {
    cursor.saturating_sub(height.saturating_sub(1))
}
