//! The keymap: one table that both decides what a key does and renders the help screen, so the
//! help can never disagree with the keys. A binding may hold on one screen only; there it
//! comes before the bindings that hold everywhere (`n` votes no on Governance).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::screens::Screen;

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
}

/// One line of the keymap.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the help shows the keys.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// The one screen the binding holds on; `None` for every screen.
    pub screen: Option<Screen>,
}

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

/// Every binding except the screen digits, which come from [`Screen::ALL`].
pub const BINDINGS: &[Binding] = &[
    bind(
        &[KeyCode::Char('?')],
        "?",
        Action::Help,
        "show or hide this help",
    ),
    bind(&[KeyCode::Char('q')], "q", Action::Quit, "quit"),
    bind(&[KeyCode::Tab], "Tab", Action::NextScreen, "next screen"),
    bind(
        &[KeyCode::BackTab],
        "Shift-Tab",
        Action::PreviousScreen,
        "previous screen",
    ),
    bind(
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑ k",
        Action::Up,
        "move up",
    ),
    bind(
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓ j",
        Action::Down,
        "move down",
    ),
    bind(&[KeyCode::PageUp], "PgUp", Action::PageUp, "one page up"),
    bind(
        &[KeyCode::PageDown],
        "PgDn",
        Action::PageDown,
        "one page down",
    ),
    bind(
        &[KeyCode::Home, KeyCode::Char('g')],
        "g Home",
        Action::Top,
        "first row",
    ),
    bind(
        &[KeyCode::End, KeyCode::Char('G')],
        "G End",
        Action::Bottom,
        "last row (the log follows new lines)",
    ),
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
        "next match of the filter",
    ),
    bind(
        &[KeyCode::Char('N')],
        "N",
        Action::PreviousMatch,
        "previous match of the filter",
    ),
    bind(
        &[KeyCode::Char(':')],
        ":",
        Action::Command,
        "command line (Enter on an empty one lists the commands)",
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
];

/// What `key` asks for on `screen` in normal mode (not while typing a filter or a command).
pub fn action(key: &KeyEvent, screen: Screen) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Action::Quit);
    }
    if let KeyCode::Char(digit) = key.code
        && let Some(screen) = Screen::ALL.iter().find(|s| s.key() == digit)
    {
        return Some(Action::Show(*screen));
    }
    let bound = |scope: Option<Screen>| {
        BINDINGS
            .iter()
            .find(|binding| binding.screen == scope && binding.keys.contains(&key.code))
            .map(|binding| binding.action)
    };
    bound(Some(screen)).or_else(|| bound(None))
}

/// The screens on which a binding of their own takes one of `binding`'s keys, so the help
/// says where the key means something else.
fn shadowed_on(binding: &Binding) -> Vec<&'static str> {
    BINDINGS
        .iter()
        .filter(|other| other.screen.is_some() && binding.screen.is_none())
        .filter(|other| other.keys.iter().any(|k| binding.keys.contains(k)))
        .filter_map(|other| other.screen.map(|screen| screen.title()))
        .collect()
}

/// The help text: (keys, what they do), in keymap order with the screens after.
pub fn help_lines() -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = BINDINGS
        .iter()
        .map(|b| {
            let help = match b.screen {
                Some(screen) => format!("{}: {}", screen.title(), b.help),
                None => match shadowed_on(b).as_slice() {
                    [] => b.help.to_string(),
                    screens => format!("{} (not on {})", b.help, screens.join(", ")),
                },
            };
            (b.label.to_string(), help)
        })
        .collect();
    // One line for the digits: the title bar names the screens beside them.
    let keys: Vec<char> = Screen::ALL.iter().map(|s| s.key()).collect();
    if let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        lines.push((
            format!("{first}-{last}"),
            "show a screen (numbered in the title bar)".into(),
        ));
    }
    lines.push(("Ctrl-C".into(), "quit".into()));
    lines
}
