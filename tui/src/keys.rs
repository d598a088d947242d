//! The keymap: one table that decides what a key does in each input mode and renders the help
//! screen and the on-screen hints, so neither can disagree with the keys. A binding may hold on
//! one screen only; there it comes before the bindings that hold everywhere (`n` votes no on
//! Governance). Ctrl-C quits in every mode, so a half-typed line never traps the user.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::screens::Screen;

/// Where keys go: the screen, a line being typed, or a confirmation dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter after `/`.
    Filter,
    /// Typing a command after `:`.
    Command,
    /// A vote, approval or rejection waits for confirmation.
    Dialog,
}

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    NextScreen,
    PreviousScreen,
    Show(Screen),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Filter,
    NextMatch,
    PreviousMatch,
    Command,
    Pause,
    /// Vote on the selected proposal (yes when true), through a confirmation dialog.
    Vote(bool),
    /// Approve or reject the selected join request, through a confirmation dialog.
    Approve,
    Reject,
    /// A character typed into the filter or the command line.
    Type(char),
    /// Backspace in the filter or the command line.
    Erase,
    /// Enter while typing or in a dialog: apply the filter, run the command, do what the
    /// dialog has selected.
    Accept,
    /// Esc while typing or in a dialog.
    Cancel,
    /// Dialog: switch between Cancel and Confirm.
    Toggle,
    /// Dialog: select Confirm (true) or Cancel.
    Choose(bool),
}

/// One line of the keymap.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the help and the hints show the keys.
    pub label: &'static str,
    pub action: Action,
    /// What the help says; only normal mode's bindings are in the help, and one shown on the
    /// line of the binding before it says nothing of its own.
    pub help: &'static str,
    /// The one screen the binding holds on; `None` for every screen.
    pub screen: Option<Screen>,
    /// The modes the binding holds in.
    pub modes: &'static [Mode],
    /// What the mode's hint line says after the label; `None` keeps the binding out of it.
    pub hint: Option<&'static str>,
    /// The help shows it on the line of the binding before it, whose text speaks for both
    /// (up and down, next and previous): the help fits an 80x24 terminal.
    pub same_line: bool,
}

const NORMAL: &[Mode] = &[Mode::Normal];
const TYPING: &[Mode] = &[Mode::Filter, Mode::Command];
const DIALOG: &[Mode] = &[Mode::Dialog];

const fn bind(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
        screen: None,
        modes: NORMAL,
        hint: None,
        same_line: false,
    }
}

const fn on(
    screen: Screen,
    key: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        screen: Some(screen),
        ..bind(key, label, action, help)
    }
}

/// A binding of the filter, the command line or the dialog; the hints show these, not the help.
const fn input(
    modes: &'static [Mode],
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
) -> Binding {
    Binding {
        modes,
        ..bind(keys, label, action, "")
    }
}

impl Binding {
    const fn hint(self, hint: &'static str) -> Binding {
        Binding {
            hint: Some(hint),
            ..self
        }
    }

    const fn same_line(self) -> Binding {
        Binding {
            same_line: true,
            ..self
        }
    }
}

/// Every binding except the screen digits, which come from [`Screen::ALL`], and the characters
/// typed into a line.
pub const BINDINGS: &[Binding] = &[
    bind(
        &[KeyCode::Char('?')],
        "?",
        Action::Help,
        "show or hide this help",
    )
    .hint("help"),
    bind(
        &[KeyCode::Char('q')],
        "q",
        Action::Quit,
        "quit (Ctrl-C quits too, also while typing)",
    )
    .hint("quit"),
    bind(
        &[KeyCode::Tab],
        "Tab",
        Action::NextScreen,
        "next or previous screen",
    ),
    bind(&[KeyCode::BackTab], "Shift-Tab", Action::PreviousScreen, "").same_line(),
    bind(
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑ k",
        Action::Up,
        "move up or down",
    ),
    bind(
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓ j",
        Action::Down,
        "",
    )
    .same_line(),
    bind(
        &[KeyCode::PageUp],
        "PgUp",
        Action::PageUp,
        "one page up or down",
    ),
    bind(&[KeyCode::PageDown], "PgDn", Action::PageDown, "").same_line(),
    bind(
        &[KeyCode::Home, KeyCode::Char('g')],
        "g Home",
        Action::Top,
        "first or last row (at the last the log follows)",
    ),
    bind(
        &[KeyCode::End, KeyCode::Char('G')],
        "G End",
        Action::Bottom,
        "",
    )
    .same_line(),
    bind(
        &[KeyCode::Enter],
        "Enter",
        Action::Open,
        "open a block; move into a module's table",
    ),
    bind(
        &[KeyCode::Esc],
        "Esc",
        Action::Back,
        "back, close help, clear the filter",
    ),
    bind(
        &[KeyCode::Char('/')],
        "/",
        Action::Filter,
        "filter the table (blocks, governance, joins, modules, log)",
    ),
    bind(
        &[KeyCode::Char('n')],
        "n",
        Action::NextMatch,
        "next or previous filter match",
    ),
    bind(&[KeyCode::Char('N')], "N", Action::PreviousMatch, "").same_line(),
    bind(
        &[KeyCode::Char(':')],
        ":",
        Action::Command,
        "command line: writes as the CLI, :blocks, :block 12, ...",
    ),
    bind(
        &[KeyCode::Char('p')],
        "p",
        Action::Pause,
        "pause or resume live updates",
    ),
    on(
        Screen::Governance,
        &[KeyCode::Char('y')],
        "y",
        Action::Vote(true),
        "vote yes on the selected proposal",
    ),
    on(
        Screen::Governance,
        &[KeyCode::Char('n')],
        "n",
        Action::Vote(false),
        "vote no on the selected proposal",
    ),
    on(
        Screen::Joins,
        &[KeyCode::Char('a')],
        "a",
        Action::Approve,
        "approve the selected join request",
    ),
    on(
        Screen::Joins,
        &[KeyCode::Char('r')],
        "r",
        Action::Reject,
        "reject the selected join request",
    ),
    input(&[Mode::Filter], &[KeyCode::Enter], "Enter", Action::Accept).hint("applies"),
    input(&[Mode::Command], &[KeyCode::Enter], "Enter", Action::Accept).hint("runs"),
    input(TYPING, &[KeyCode::Backspace], "Backspace", Action::Erase),
    input(
        DIALOG,
        &[
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Left,
            KeyCode::Right,
        ],
        "Tab or ←/→",
        Action::Toggle,
    )
    .hint("choose"),
    input(
        DIALOG,
        &[KeyCode::Char('h'), KeyCode::Char('n')],
        "h n",
        Action::Choose(false),
    ),
    input(
        DIALOG,
        &[KeyCode::Char('l'), KeyCode::Char('y')],
        "l y",
        Action::Choose(true),
    ),
    input(DIALOG, &[KeyCode::Enter], "Enter", Action::Accept).hint("does it"),
    input(
        &[Mode::Filter, Mode::Command, Mode::Dialog],
        &[KeyCode::Esc],
        "Esc",
        Action::Cancel,
    )
    .hint("cancels"),
];

/// What `key` asks for in `mode` on `screen`; `None` for a key that does nothing there.
pub fn action(key: &KeyEvent, mode: Mode, screen: Screen) -> Option<Action> {
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    if control && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if mode == Mode::Normal {
        if control {
            return None;
        }
        if let KeyCode::Char(digit) = key.code
            && let Some(screen) = Screen::ALL.iter().find(|s| s.key() == digit)
        {
            return Some(Action::Show(*screen));
        }
    }
    let bound = |scope: Option<Screen>| {
        BINDINGS
            .iter()
            .find(|b| b.modes.contains(&mode) && b.screen == scope && b.keys.contains(&key.code))
            .map(|binding| binding.action)
    };
    bound(Some(screen))
        .or_else(|| bound(None))
        .or(match key.code {
            KeyCode::Char(c) if TYPING.contains(&mode) => Some(Action::Type(c)),
            _ => None,
        })
}

/// The hints of `mode` for a status line or a dialog: "Enter applies", "Esc cancels".
pub fn hints(mode: Mode) -> Vec<String> {
    BINDINGS
        .iter()
        .filter(|b| b.modes.contains(&mode))
        .filter_map(|b| b.hint.map(|hint| format!("{} {hint}", b.label)))
        .collect()
}

/// One part of the help: a title and its lines of (keys, what they do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    pub title: String,
    pub lines: Vec<(String, String)>,
}

/// Normal mode's bindings: the ones the help lists.
fn normal() -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(|b| b.modes.contains(&Mode::Normal))
}

/// Normal mode's bindings grouped into the help's lines: a binding and those shown on its line.
fn help_groups() -> Vec<Vec<&'static Binding>> {
    let mut groups: Vec<Vec<&'static Binding>> = Vec::new();
    for binding in normal() {
        match groups.last_mut() {
            Some(group) if binding.same_line => group.push(binding),
            _ => groups.push(vec![binding]),
        }
    }
    groups
}

/// The screen-specific bindings that take one of `group`'s keys away on their screen.
fn shadowing(group: &[&Binding]) -> Vec<&'static Binding> {
    normal()
        .filter(|other| other.screen.is_some())
        .filter(|other| {
            group
                .iter()
                .any(|b| b.screen.is_none() && other.keys.iter().any(|k| b.keys.contains(k)))
        })
        .collect()
}

/// The help for `screen`: its own keys first, then the keys of every screen (saying where a
/// key means something else), then the other screens' keys.
pub fn help_sections(screen: Screen) -> Vec<HelpSection> {
    let groups = help_groups();
    let line = |group: &[&Binding], text: String| {
        let keys: Vec<&str> = group.iter().map(|b| b.label).collect();
        (keys.join(" "), text)
    };
    let scoped = |mine: bool| -> Vec<(String, String)> {
        groups
            .iter()
            .filter(|group| {
                group
                    .first()
                    .and_then(|b| b.screen)
                    .is_some_and(|s| (s == screen) == mine)
            })
            .map(|group| {
                let first = group[0];
                let text = match first.screen {
                    Some(s) if s != screen => format!("{}: {}", s.title(), first.help),
                    _ => first.help.to_string(),
                };
                line(group, text)
            })
            .collect()
    };
    let mut everywhere: Vec<(String, String)> = groups
        .iter()
        .filter(|group| group.first().is_some_and(|b| b.screen.is_none()))
        .map(|group| {
            let shadows = shadowing(group);
            let here: Vec<&str> = shadows
                .iter()
                .filter(|b| b.screen == Some(screen))
                .map(|b| b.label)
                .collect();
            let elsewhere: Vec<&str> = shadows
                .iter()
                .filter(|b| b.screen != Some(screen))
                .filter_map(|b| b.screen.map(Screen::title))
                .collect();
            let mut text = group[0].help.to_string();
            if !here.is_empty() {
                text.push_str(&format!(" ({} not here)", here.join(" ")));
            } else if let Some(label) = shadows.first().map(|b| b.label) {
                text.push_str(&format!(" ({label} not on {})", elsewhere.join(", ")));
            }
            line(group, text)
        })
        .collect();
    // One line for the digits: the title bar names the screens beside them.
    let keys: Vec<char> = Screen::ALL.iter().map(|s| s.key()).collect();
    if let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        everywhere.push((
            format!("{first}-{last}"),
            "show a screen (numbered in the title bar)".into(),
        ));
    }
    let sections = [
        (screen.title().to_string(), scoped(true)),
        ("Every screen".to_string(), everywhere),
        ("Other screens".to_string(), scoped(false)),
    ];
    sections
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(title, lines)| HelpSection { title, lines })
        .collect()
}
