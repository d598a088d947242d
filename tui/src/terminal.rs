//! Taking over the terminal and giving it back: raw mode and the alternate screen on entry,
//! restored on exit and on panic, so a crash never leaves a broken terminal.

use std::io::{Stdout, stdout};

use anyhow::Context;
use crossterm::ExecutableCommand;
use crossterm::cursor::Show;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Console = Terminal<CrosstermBackend<Stdout>>;

/// Enters raw mode and the alternate screen and installs a panic hook that undoes both.
pub fn enter() -> anyhow::Result<Console> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode().context("cannot put the terminal in raw mode (is this a terminal?)")?;
    stdout()
        .execute(EnterAlternateScreen)
        .context("cannot switch to the alternate screen")?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.clear()?;
    Ok(terminal)
}

/// Gives the terminal back; safe to call more than once.
pub fn restore() {
    // Best effort: each step is independent and there is nobody to report a failure to.
    let _ = disable_raw_mode();
    let _ = stdout().execute(LeaveAlternateScreen);
    let _ = stdout().execute(Show);
}
