//! What a key does: the keymap turns it into an [`Action`] for the input mode, and the action
//! changes the state: switch screens, move the screen's view, open and go back, or type into,
//! confirm and cancel what the input holds.

use bfte_shared::round::Height;
use crossterm::event::KeyEvent;

use super::App;
use super::input::{Input, LineInput};
use super::views::View;
use crate::client::Request;
use crate::keys::{self, Action};
use crate::screens::{self, Screen};
use crate::state::ModuleTab;

impl App {
    /// Handles one key; `true` when the screen changed.
    pub fn on_key(&mut self, key: KeyEvent) -> bool {
        let Some(action) = keys::action(&key, self.input.mode(), self.screen) else {
            return false;
        };
        if self.help && action != Action::Quit {
            // Any key closes the help; it shows over everything else.
            self.help = false;
            return true;
        }
        self.act(action);
        true
    }

    fn act(&mut self, action: Action) {
        let screen = self.screen;
        self.act_on(action);
        if self.screen != screen {
            // What the last screen said does not belong on the next one.
            self.message = None;
        }
        if self.screen == Screen::Modules && screen != Screen::Modules {
            self.refresh_modules();
        }
        // Read on entering (the CLI may have rejected a join request, which no event tells).
        if self.screen.shows_governance() && !screen.shows_governance() {
            self.refresh_governance();
        }
    }

    /// [`act`](Self::act) without what a change of screen brings, which the caller sees to.
    pub(super) fn act_on(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::NextScreen => self.screen = self.screen.next(),
            Action::PreviousScreen => self.screen = self.screen.previous(),
            Action::Show(screen) => self.screen = screen,
            Action::Up => self.navigate(|view, rows| view.move_by(-1, rows)),
            Action::Down => self.navigate(|view, rows| view.move_by(1, rows)),
            Action::PageUp => self.navigate(|view, rows| view.page(-1, rows)),
            Action::PageDown => self.navigate(|view, rows| view.page(1, rows)),
            Action::Top => self.navigate(|view, rows| view.move_to(false, rows)),
            Action::Bottom => self.navigate(|view, rows| view.move_to(true, rows)),
            // The filter already hides the rows that do not match, so the next match is the
            // next shown row; without a filter there is nothing to match.
            Action::NextMatch | Action::PreviousMatch if self.filter().is_empty() => {}
            Action::NextMatch => self.navigate(|view, rows| view.move_by(1, rows)),
            Action::PreviousMatch => self.navigate(|view, rows| view.move_by(-1, rows)),
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::Filter if self.screen.filterable() => {
                self.input = Input::Filter(LineInput::new(self.filter()));
            }
            Action::Filter => {}
            Action::Command => {
                self.message = None;
                self.input = Input::Command(LineInput::default());
            }
            Action::Pause if self.paused => self.resume(),
            Action::Pause => self.paused = true,
            Action::Vote(yes) => self.ask_vote(yes),
            Action::Approve => self.ask_join(true),
            Action::Reject => self.ask_join(false),
            Action::Type(c) => {
                if let Some(line) = self.input.line_mut() {
                    line.push(c);
                }
            }
            Action::Erase => {
                if let Some(line) = self.input.line_mut() {
                    line.pop();
                }
            }
            Action::Accept => self.accept(),
            Action::Cancel => {
                if let Input::Dialog(_) = std::mem::take(&mut self.input) {
                    self.say("cancelled");
                }
            }
            Action::Toggle | Action::Choose(_) => {
                if let Input::Dialog(dialog) = &mut self.input {
                    dialog.confirm = match action {
                        Action::Choose(confirm) => confirm,
                        _ => !dialog.confirm,
                    };
                }
            }
        }
    }

    /// Enter while typing or in a dialog: the input is over either way.
    fn accept(&mut self) {
        match std::mem::take(&mut self.input) {
            Input::Normal => {}
            Input::Filter(line) => self.set_filter(line.into_text()),
            Input::Command(line) => self.run_command(line.text()),
            Input::Dialog(dialog) => self.decide(dialog),
        }
    }

    /// The filter of the current screen; empty where there is none.
    fn filter(&self) -> &str {
        self.views.get(self.screen).map_or("", |view| view.filter())
    }

    fn set_filter(&mut self, text: String) {
        if let Some(view) = self.views.get_mut(self.screen) {
            view.set_filter(text);
        }
    }

    /// Moves the selection of the current screen's view, except behind an open block: the
    /// list is hidden there, and a cursor moved unseen would open another block next.
    fn navigate(&mut self, movement: impl FnOnce(&mut dyn View, usize)) {
        if self.screen == Screen::Blocks && self.open_block().is_some() {
            return;
        }
        let rows = self.rows();
        if let Some(view) = self.views.get_mut(self.screen) {
            movement(view, rows);
        }
    }

    /// How many rows the current screen's view moves among: what its filter leaves.
    fn rows(&self) -> usize {
        match self.screen {
            Screen::Overview => 0,
            Screen::Rounds => self.node.rounds.len(),
            Screen::Blocks => screens::blocks::visible(self).count(),
            Screen::Governance => screens::governance::visible(self).len(),
            Screen::Joins => screens::joins::visible(self).len(),
            Screen::Log => self.node.log.filtered(&self.views.log.filter).count(),
            Screen::Modules if self.views.modules.in_table => screens::modules::rows(self).len(),
            Screen::Modules => ModuleTab::ALL.len(),
        }
    }

    fn open(&mut self) {
        match self.screen {
            // Data keeps no state: there is no table to move in.
            Screen::Modules => {
                self.views.modules.in_table = self.selected_module() != ModuleTab::Data;
            }
            // Enter while a block is still loading asks again.
            Screen::Blocks if self.node.blocks.detail.is_none() => {
                let selected = screens::blocks::visible(self)
                    .nth(self.views.blocks.cursor)
                    .map(|b| b.height);
                if let Some(height) = selected {
                    self.request_block(height);
                }
            }
            _ => {}
        }
    }

    /// `:block HEIGHT`: the Blocks screen with that block open, selected in the list when the
    /// list holds it, so that Esc goes back to it. A height above the finalized one is
    /// refused here; one the node no longer holds, by the node.
    pub(super) fn show_block(&mut self, height: Height) {
        let finalized = self.node.finalized_height();
        if self.node.status.is_some() && height > finalized {
            self.say(format!(
                "no block at height {height} yet: the finalized height is {finalized}"
            ));
            return;
        }
        self.screen = Screen::Blocks;
        let row = screens::blocks::visible(self).position(|b| b.height == height);
        if let Some(row) = row {
            self.views.blocks.cursor = row;
        }
        self.request_block(height);
    }

    fn request_block(&mut self, height: Height) {
        let blocks = &mut self.node.blocks;
        blocks.detail = None;
        blocks.outcome = None;
        blocks.opening = Some(height);
        self.outbox.push(Request::Block(height));
    }

    fn back(&mut self) {
        let blocks = &mut self.node.blocks;
        if self.screen == Screen::Blocks && (blocks.detail.is_some() || blocks.opening.is_some()) {
            blocks.detail = None;
            blocks.outcome = None;
            blocks.opening = None;
        } else if self.screen == Screen::Modules && self.views.modules.in_table {
            self.views.modules.in_table = false;
        } else if !self.filter().is_empty() {
            self.set_filter(String::new());
        }
    }
}
