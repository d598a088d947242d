//! Shared by the console's tests: render an app on ratatui's test backend, masked.

use bfte_tui::app::App;
use bfte_tui::screens;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The text of one frame of `app` at `width` x `height`, with hashes and times masked.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| screens::draw(frame, app))
        .expect("draw");
    mask(&terminal.backend().to_string())
}

/// Replaces times of day (`hh:mm:ss`) and hex runs of 8 or more characters that hold both a
/// digit and a letter (hashes) with placeholders of the same width, so layouts stay visible
/// and snapshots do not churn when a fixture's hashing changes.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if is_time(&chars[i..]) {
            out.push_str("hh:mm:ss");
            i += 8;
            continue;
        }
        let boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
            .count();
        let ends = chars
            .get(i + run)
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let run_chars = &chars[i..i + run];
        if boundary
            && ends
            && run >= 8
            && run_chars.iter().any(char::is_ascii_digit)
            && run_chars.iter().any(char::is_ascii_alphabetic)
        {
            out.extend(std::iter::repeat_n('#', run));
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn is_time(chars: &[char]) -> bool {
    chars.len() >= 8
        && chars[..8].iter().enumerate().all(|(n, c)| {
            if n == 2 || n == 5 {
                *c == ':'
            } else {
                c.is_ascii_digit()
            }
        })
}
