//! The frame around every screen: title bar with tabs, status bar, "terminal too small".

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{MIN_HEIGHT, MIN_WIDTH, Screen};
use crate::app::{App, Input, Link};
use crate::keys::{self, Mode};

pub fn too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "terminal too small: {}x{}, the console needs at least {MIN_WIDTH}x{MIN_HEIGHT} (q quits)",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}

/// The title: who this node is, then the screen tabs. When both do not fit, the other tabs
/// shrink to their digits first, then the federation's id and name give way: the node's own
/// identity goes last.
pub fn title_bar(frame: &mut Frame, area: Rect, app: &App) {
    let width = usize::from(area.width);
    let brand = Span::styled(" BFTE ", app.theme.title());
    let (full, compact) = (tabs(app, false), tabs(app, true));
    let width_of = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let abouts = about(app);
    // The full title, then the other tabs as digits, then less of the federation.
    let choice = abouts
        .first()
        .map(|about| (about, &full))
        .into_iter()
        .chain(abouts.iter().map(|about| (about, &compact)))
        .find(|(about, tabs)| {
            brand.width() + Span::raw(about.as_str()).width() + width_of(tabs) <= width
        });
    let (about, tabs) = match choice {
        Some((about, tabs)) => (about.clone(), tabs),
        None => {
            // Not even the node's identity fits beside the digits: it is cut.
            let room = width.saturating_sub(brand.width() + width_of(&compact) + 2);
            let who = abouts.last().map_or("", String::as_str);
            (
                format!("{}… ", who.chars().take(room).collect::<String>()),
                &compact,
            )
        }
    };
    let mut spans = vec![brand, Span::raw(about)];
    let used = width_of(&spans) + width_of(tabs);
    spans.push(Span::raw(" ".repeat(width.saturating_sub(used))));
    spans.extend(tabs.iter().cloned());
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Who this node is, longest first: with the federation's name and id, with its name only,
/// alone. Empty until the first status.
fn about(app: &App) -> Vec<String> {
    let Some(status) = &app.node.status else {
        return vec![String::new()];
    };
    // A node without a name (a replica) goes by its short id: once is enough.
    let short = status.peer_id.short();
    let name = app.node.name_of(&status.peer_id);
    let who = if name == short {
        format!("{short} ({})", status.role)
    } else {
        format!("{name} {short} ({})", status.role)
    };
    let federation = &status.federation_name;
    vec![
        format!("{federation} ({}) · {who} ", status.federation_id.0.short()),
        format!("{federation} · {who} "),
        format!("{who} "),
    ]
}

/// The screen tabs; `compact` shows the other screens by their digit only.
fn tabs(app: &App, compact: bool) -> Vec<Span<'static>> {
    Screen::ALL
        .iter()
        .map(|screen| {
            if *screen == app.screen {
                Span::styled(
                    format!("[{} {}]", screen.key(), screen.title()),
                    app.theme.selected(),
                )
            } else if compact {
                Span::raw(format!(" {} ", screen.key()))
            } else {
                Span::raw(format!(" {} {} ", screen.key(), screen.title()))
            }
        })
        .collect()
}

pub fn status_bar(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let typing = match &app.input {
        Input::Filter(line) => Some((" / filter: ", line)),
        Input::Command(line) => Some((" :", line)),
        Input::Normal | Input::Dialog(_) => None,
    };
    if let Some((prompt, line)) = typing {
        let hints = keys::hints(app.input.mode()).join(", ");
        let line = Line::from(vec![
            Span::styled(prompt, theme.title()),
            Span::raw(format!("{}_", line.text())),
            Span::styled(format!("   {hints}"), theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let socket = app.socket.display();
    let mut spans = match &app.link {
        Link::Connecting { attempt, error } => {
            let mut text = format!(" ○ connecting to node at {socket}");
            if *attempt > 1 {
                text.push_str(&format!(" (attempt {attempt})"));
            }
            if let Some(error) = error {
                text.push_str(&format!(": {error}"));
            }
            vec![Span::styled(text, theme.warn())]
        }
        Link::Connected { reconnected } => {
            let text = if *reconnected {
                " ● node restarted, reconnected".to_string()
            } else {
                format!(" ● connected to {socket}")
            };
            vec![Span::styled(text, theme.good())]
        }
    };
    if app.paused {
        spans.push(Span::styled(
            format!("  ‖ PAUSED ({} updates held, p resumes)", app.held()),
            theme.warn(),
        ));
    }
    if let Some(message) = app.message() {
        spans.push(Span::styled(format!("  {message}"), theme.accent()));
    }
    let hint = format!(" {} ", keys::hints(Mode::Normal).join("  "));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let gap = usize::from(area.width).saturating_sub(used + hint.chars().count());
    spans.push(Span::raw(" ".repeat(gap)));
    spans.push(Span::styled(hint, theme.dim()));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).alignment(Alignment::Left),
        area,
    );
}
