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

pub fn title_bar(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let mut tabs = Vec::new();
    for screen in Screen::ALL {
        let label = format!(" {} {} ", screen.key(), screen.title());
        if screen == app.screen {
            tabs.push(Span::styled(
                format!("[{}]", label.trim()),
                theme.selected(),
            ));
        } else {
            tabs.push(Span::raw(label));
        }
    }
    let tabs_width: usize = tabs.iter().map(|s| s.width()).sum();
    let mut about = String::new();
    if let Some(status) = &app.node.status {
        // A node without a name (a replica) goes by its short id: once is enough.
        let short = status.peer_id.short();
        let name = app.node.name_of(&status.peer_id);
        let who = if name == short {
            short
        } else {
            format!("{name} {short}")
        };
        about = format!(
            "{} ({}) · {who} ({}) ",
            status.federation_name,
            status.federation_id.0.short(),
            status.role
        );
    }
    // The tabs always show whole; a long federation or peer name gives way.
    let room = usize::from(area.width).saturating_sub(tabs_width + 6);
    if about.chars().count() > room {
        about = about
            .chars()
            .take(room.saturating_sub(2))
            .collect::<String>()
            + "… ";
    }
    let mut spans = vec![Span::styled(" BFTE ", theme.title()), Span::raw(about)];
    let left_width: usize = spans.iter().map(|s| s.width()).sum();
    let gap = usize::from(area.width).saturating_sub(left_width + tabs_width);
    spans.push(Span::raw(" ".repeat(gap)));
    spans.extend(tabs);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
