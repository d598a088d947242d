//! Where keys go besides the screen (a filter or command line being typed, or a dialog), and
//! the editing of those lines.

use super::Dialog;
use crate::keys::Mode;

/// The input state; one at a time by construction, so no key can reach two of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Input {
    /// Keys go to the screen.
    #[default]
    Normal,
    /// Typing a filter after `/`.
    Filter(LineInput),
    /// Typing a command after `:`.
    Command(LineInput),
    /// A vote, approval or rejection waits for confirmation.
    Dialog(Dialog),
}

impl Input {
    /// The keymap's mode for this state.
    pub fn mode(&self) -> Mode {
        match self {
            Input::Normal => Mode::Normal,
            Input::Filter(_) => Mode::Filter,
            Input::Command(_) => Mode::Command,
            Input::Dialog(_) => Mode::Dialog,
        }
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        match self {
            Input::Dialog(dialog) => Some(dialog),
            _ => None,
        }
    }

    pub(super) fn line_mut(&mut self) -> Option<&mut LineInput> {
        match self {
            Input::Filter(line) | Input::Command(line) => Some(line),
            Input::Normal | Input::Dialog(_) => None,
        }
    }
}

/// A line being typed; it is edited at its end only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
}

impl LineInput {
    pub fn new(text: &str) -> LineInput {
        LineInput { text: text.into() }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub(super) fn push(&mut self, c: char) {
        self.text.push(c);
    }

    pub(super) fn pop(&mut self) {
        self.text.pop();
    }

    pub(super) fn into_text(self) -> String {
        self.text
    }
}
