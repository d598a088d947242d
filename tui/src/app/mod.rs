//! The console's state and how it changes: updates from the node and keys from the user.
//! Nothing here awaits or draws; each handler says whether the screen needs a redraw, and
//! requests for the node are queued for the connection task.

pub mod command;
mod governance;
mod modules;

use std::path::PathBuf;

use bfte_shared::admin::ADMIN_READ_ONLY_SOCKET;
use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::round::Height;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::client::{Request, Update};
use crate::keys::{self, Action};
use crate::screens::Screen;
use crate::state::{ModuleTab, NodeView};
use crate::theme::Theme;

pub use governance::{Decision, Dialog};

/// Rows a page key moves.
const PAGE: usize = 20;
/// Events held while paused; beyond that the pause ends so the view cannot drift from the node.
const MAX_HELD: usize = 100_000;
/// Node time a status-line message stays.
pub const MESSAGE_MS: u64 = 5_000;

/// The link to the node as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting {
        attempt: u32,
        error: Option<String>,
    },
    Connected {
        /// The node restarted (or the connection dropped) and the console reconnected.
        reconnected: bool,
    },
}

/// Typing a filter after `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub node: NodeView,
    pub link: Link,
    /// The admin socket, for the connection line.
    pub socket: PathBuf,
    pub theme: Theme,
    pub screen: Screen,
    pub help: bool,
    /// Live updates are held back while paused.
    pub paused: bool,
    held: Vec<EventFrame>,
    /// Selected row per screen, newest first (log: oldest first, `None` follows the tail).
    pub rounds_cursor: usize,
    pub blocks_cursor: usize,
    pub log_cursor: Option<usize>,
    /// Modules: the module selected in the list, the row selected in its table, and whether
    /// the keys move in the table (after Enter) or in the list.
    pub module: usize,
    pub module_cursor: usize,
    pub module_in_table: bool,
    /// Governance and Joins: the selected proposal and join request.
    pub governance_cursor: usize,
    pub joins_cursor: usize,
    pub blocks_filter: String,
    pub governance_filter: String,
    pub joins_filter: String,
    pub log_filter: String,
    pub modules_filter: String,
    /// `Some` while the user types a filter.
    pub filter_input: Option<FilterInput>,
    /// `Some` while the user types a command after `:`.
    pub command_input: Option<String>,
    /// `Some` while a vote, approval or rejection waits for confirmation.
    pub dialog: Option<Dialog>,
    /// The status line's message: a command's result or error, an announcement. It goes after
    /// [`MESSAGE_MS`] of node time or when a key changes the screen.
    message: Option<String>,
    /// Node time of the first event seen while the message showed: its clock runs on events,
    /// so an expiry needs no timer and the console stays idle when the node is.
    message_since: Option<u64>,
    /// Attached to the read-only socket: commands that write are refused here.
    pub read_only: bool,
    outbox: Vec<Request>,
    quit: bool,
    connections: u32,
}

impl App {
    pub fn new(socket: PathBuf, theme: Theme) -> App {
        let read_only = socket
            .file_name()
            .is_some_and(|name| name == ADMIN_READ_ONLY_SOCKET);
        App {
            node: NodeView::default(),
            link: Link::Connecting {
                attempt: 0,
                error: None,
            },
            socket,
            theme,
            screen: Screen::Overview,
            help: false,
            paused: false,
            held: Vec::new(),
            rounds_cursor: 0,
            blocks_cursor: 0,
            log_cursor: None,
            module: 0,
            module_cursor: 0,
            module_in_table: false,
            governance_cursor: 0,
            joins_cursor: 0,
            blocks_filter: String::new(),
            governance_filter: String::new(),
            joins_filter: String::new(),
            log_filter: String::new(),
            modules_filter: String::new(),
            filter_input: None,
            command_input: None,
            dialog: None,
            message: None,
            message_since: None,
            read_only,
            outbox: Vec::new(),
            quit: false,
            connections: 0,
        }
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Requests for the node queued since the last call.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.outbox)
    }

    /// Events held back by the pause.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// What the status line says besides the link.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Shows `text` in the status line for [`MESSAGE_MS`] of node time from the next event
    /// (from this one when an event says it).
    fn say(&mut self, text: impl Into<String>) {
        self.message = Some(text.into());
        self.message_since = None;
    }

    /// Node time reached `now_ms`: drops a message shown for [`MESSAGE_MS`]; `true` if it did.
    fn age_message(&mut self, now_ms: u64) -> bool {
        if self.message.is_none() {
            return false;
        }
        let since = *self.message_since.get_or_insert(now_ms);
        if now_ms.saturating_sub(since) < MESSAGE_MS {
            return false;
        }
        self.message = None;
        true
    }

    /// Applies what the connection task reports; `true` when the screen changed.
    pub fn update(&mut self, update: Update) -> bool {
        match update {
            Update::Connecting { attempt, error } => {
                self.link = Link::Connecting { attempt, error };
                // The session that held the requests is gone; the next one is asked afresh.
                self.node.modules.pending = false;
                self.node.governance.pending = false;
            }
            Update::Connected(snapshot) => {
                self.connections += 1;
                self.link = Link::Connected {
                    reconnected: self.connections > 1,
                };
                self.held.clear();
                self.node.load(*snapshot);
                self.blocks_cursor = 0;
                if self.screen == Screen::Modules {
                    self.refresh_modules();
                }
                self.refresh_governance_if_stale();
            }
            Update::Event(frame) => {
                let at = frame.at_ms;
                let changed = if !self.paused {
                    self.apply(&frame)
                } else {
                    self.held.push(frame);
                    let full = self.held.len() >= MAX_HELD;
                    if full {
                        self.resume();
                    }
                    full
                };
                // Held events are node time passing too.
                return changed | self.age_message(at);
            }
            Update::Peers(peers) => {
                if self.node.peers == peers {
                    return false;
                }
                self.node.peers = peers;
            }
            Update::Block(detail) => {
                if self.node.blocks.opening != Some(detail.block.header.height) {
                    return false;
                }
                self.node.blocks.opening = None;
                self.node.blocks.detail = Some(*detail);
            }
            Update::Outcome(height, outcome) => {
                if self.open_block() != Some(height) {
                    return false;
                }
                self.node.blocks.outcome = outcome.map(|o| *o);
            }
            Update::NoBlock(height) => {
                if self.node.blocks.opening == Some(height) {
                    self.node.blocks.opening = None;
                }
            }
            Update::Modules(answer) => self.modules_answered(answer),
            Update::Governance(answer) => self.governance_answered(answer),
            Update::Written { request, answer } => self.written(&request, answer),
        }
        true
    }

    fn apply(&mut self, frame: &EventFrame) -> bool {
        let tip = self.node.blocks.tip();
        let changed = self.node.apply(frame);
        // Keep the selected block selected as new ones arrive above it.
        if self.blocks_cursor > 0 && self.blocks_filter.is_empty() && self.node.blocks.tip() != tip
        {
            self.blocks_cursor += 1;
        }
        match frame.event {
            AdminEvent::PeerConnected { .. } => self.outbox.push(Request::Peers),
            // Only a finalized block changes module state; only the Modules screen shows it.
            AdminEvent::Finalized { .. } if self.screen == Screen::Modules => {
                self.refresh_modules();
            }
            _ => {}
        }
        changed | self.governance_event(&frame.event)
    }

    fn resume(&mut self) {
        self.paused = false;
        for frame in std::mem::take(&mut self.held) {
            self.apply(&frame);
        }
    }

    /// Handles one key; `true` when the screen changed.
    pub fn on_key(&mut self, key: KeyEvent) -> bool {
        if self.command_input.is_some() {
            return self.command_key(key);
        }
        if self.dialog.is_some() {
            return self.dialog_key(key);
        }
        if let Some(input) = &mut self.filter_input {
            match key.code {
                KeyCode::Enter => {
                    let text = std::mem::take(&mut input.text);
                    self.filter_input = None;
                    self.set_filter(text);
                }
                KeyCode::Esc => self.filter_input = None,
                KeyCode::Backspace => {
                    input.text.pop();
                }
                KeyCode::Char(c) => input.text.push(c),
                _ => return false,
            }
            return true;
        }
        let Some(action) = keys::action(&key, self.screen) else {
            return false;
        };
        if self.help && !matches!(action, Action::Quit) {
            // Any key closes the help; it shows over everything else.
            self.help = false;
            return true;
        }
        self.act(action);
        true
    }

    /// A key while the command line is open.
    fn command_key(&mut self, key: KeyEvent) -> bool {
        let Some(input) = &mut self.command_input else {
            return false;
        };
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.quit = true;
            }
            KeyCode::Enter => {
                let line = std::mem::take(input);
                self.command_input = None;
                self.run_command(&line);
            }
            KeyCode::Esc => self.command_input = None,
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) => input.push(c),
            _ => return false,
        }
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

    fn act_on(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::NextScreen => self.screen = self.screen.next(),
            Action::PreviousScreen => self.screen = self.screen.previous(),
            Action::Show(screen) => self.screen = screen,
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(PAGE as i64)),
            Action::PageDown => self.move_by(PAGE as i64),
            Action::Top => self.move_to_end(false),
            Action::Bottom => self.move_to_end(true),
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::Filter => {
                if self.screen.filterable() {
                    self.filter_input = Some(FilterInput {
                        text: self.filter().to_string(),
                    });
                }
            }
            Action::Command => {
                self.message = None;
                self.command_input = Some(String::new());
            }
            Action::NextMatch => self.next_match(1),
            Action::PreviousMatch => self.next_match(-1),
            Action::Pause => {
                if self.paused {
                    self.resume();
                } else {
                    self.paused = true;
                }
            }
            Action::Vote(yes) => self.ask_vote(yes),
            Action::Approve => self.ask_join(true),
            Action::Reject => self.ask_join(false),
        }
    }

    /// The filter of the current screen.
    pub fn filter(&self) -> &str {
        match self.screen {
            Screen::Blocks => &self.blocks_filter,
            Screen::Governance => &self.governance_filter,
            Screen::Joins => &self.joins_filter,
            Screen::Log => &self.log_filter,
            Screen::Modules => &self.modules_filter,
            Screen::Overview | Screen::Rounds => "",
        }
    }

    fn set_filter(&mut self, text: String) {
        match self.screen {
            Screen::Blocks => {
                self.blocks_filter = text;
                self.blocks_cursor = 0;
            }
            Screen::Governance => {
                self.governance_filter = text;
                self.governance_cursor = 0;
            }
            Screen::Joins => {
                self.joins_filter = text;
                self.joins_cursor = 0;
            }
            Screen::Log => {
                self.log_filter = text;
                self.log_cursor = None;
            }
            Screen::Modules => {
                self.modules_filter = text;
                self.module_cursor = 0;
            }
            Screen::Overview | Screen::Rounds => {}
        }
    }

    /// `n`/`N`: the filter already hides the rows that do not match, so the next match is
    /// the next shown row.
    fn next_match(&mut self, delta: i64) {
        if !self.filter().is_empty() {
            self.move_by(delta);
        }
    }

    fn rows(&self) -> usize {
        match self.screen {
            Screen::Overview => 0,
            Screen::Rounds => self.node.rounds.len(),
            Screen::Blocks => crate::screens::blocks::visible(self).count(),
            Screen::Governance => crate::screens::governance::visible(self).len(),
            Screen::Joins => crate::screens::joins::visible(self).len(),
            Screen::Log => self.node.log.filtered(&self.log_filter).count(),
            Screen::Modules if self.module_in_table => crate::screens::modules::rows(self).len(),
            Screen::Modules => ModuleTab::ALL.len(),
        }
    }

    fn move_by(&mut self, delta: i64) {
        let last = self.rows().saturating_sub(1);
        let step = |cursor: usize| {
            let moved = cursor as i64 + delta;
            moved.clamp(0, last as i64) as usize
        };
        match self.screen {
            Screen::Overview => {}
            Screen::Rounds => self.rounds_cursor = step(self.rounds_cursor),
            Screen::Blocks if self.node.blocks.detail.is_none() => {
                self.blocks_cursor = step(self.blocks_cursor);
            }
            Screen::Blocks => {}
            Screen::Governance => self.governance_cursor = step(self.governance_cursor),
            Screen::Joins => self.joins_cursor = step(self.joins_cursor),
            Screen::Log => {
                let moved = step(self.log_cursor.unwrap_or(last));
                self.log_cursor = (moved < last).then_some(moved);
            }
            Screen::Modules if self.module_in_table => {
                self.module_cursor = step(self.module_cursor)
            }
            Screen::Modules => self.select_module(step(self.module)),
        }
    }

    fn move_to_end(&mut self, bottom: bool) {
        let last = self.rows().saturating_sub(1);
        let target = if bottom { last } else { 0 };
        match self.screen {
            Screen::Overview => {}
            Screen::Rounds => self.rounds_cursor = target,
            Screen::Blocks => self.blocks_cursor = target,
            Screen::Governance => self.governance_cursor = target,
            Screen::Joins => self.joins_cursor = target,
            Screen::Log => self.log_cursor = (!bottom).then_some(0),
            Screen::Modules if self.module_in_table => self.module_cursor = target,
            Screen::Modules => self.select_module(target),
        }
    }

    fn open(&mut self) {
        if self.screen == Screen::Modules {
            // Data keeps no state: there is no table to move in.
            self.module_in_table = self.selected_module() != ModuleTab::Data;
            return;
        }
        if self.screen != Screen::Blocks || self.node.blocks.detail.is_some() {
            return;
        }
        let selected = crate::screens::blocks::visible(self)
            .nth(self.blocks_cursor)
            .map(|b| b.height);
        if let Some(height) = selected {
            self.node.blocks.opening = Some(height);
            self.node.blocks.outcome = None;
            self.outbox.push(Request::Block(height));
        }
    }

    fn back(&mut self) {
        let blocks = &mut self.node.blocks;
        if self.screen == Screen::Blocks && (blocks.detail.is_some() || blocks.opening.is_some()) {
            blocks.detail = None;
            blocks.outcome = None;
            blocks.opening = None;
        } else if self.screen == Screen::Modules && self.module_in_table {
            self.module_in_table = false;
        } else if !self.filter().is_empty() {
            self.set_filter(String::new());
        }
    }

    /// The height of the block being opened or shown, if any.
    pub fn open_block(&self) -> Option<Height> {
        self.node
            .blocks
            .detail
            .as_ref()
            .map(|d| d.block.header.height)
            .or(self.node.blocks.opening)
    }
}
