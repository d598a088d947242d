//! The console's state and how it changes: updates from the node here, keys from the user in
//! `act.rs`. Nothing here awaits or draws; each handler says whether the screen needs a
//! redraw, and requests for the node are queued for the connection task.

mod act;
pub mod command;
mod governance;
mod input;
mod modules;
mod views;

use std::path::PathBuf;

use bfte_shared::admin::ADMIN_READ_ONLY_SOCKET;
use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::round::Height;

use crate::client::{Request, Update};
use crate::screens::Screen;
use crate::state::NodeView;
use crate::theme::Theme;

pub use governance::{Decision, Dialog};
pub use input::{Input, LineInput};
pub use views::{ListView, LogView, ModulesView, View, Views};

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
    /// The selection and filter of each screen.
    pub views: Views,
    /// Where keys go: the screen, a line being typed, or a dialog.
    pub input: Input,
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
            views: Views::default(),
            input: Input::Normal,
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
                self.views.blocks.cursor = 0;
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
            // Paused, the view stays as it was; the first read after the pause catches up.
            Update::Status(status) => return !self.paused && self.node.reread(*status),
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
                if self.node.blocks.opening != Some(height) {
                    return false;
                }
                self.node.blocks.opening = None;
                self.say(format!("the node holds no block at height {height}"));
            }
            Update::Modules(answer) => self.modules_answered(answer),
            Update::Governance(answer) => self.governance_answered(answer),
            Update::Written { request, answer } => self.written(&request, answer),
        }
        true
    }

    fn apply(&mut self, frame: &EventFrame) -> bool {
        let tip = self.node.blocks.tip();
        let selection = is_governance(&frame.event).then(|| self.governance_selection());
        let changed = self.node.apply(frame);
        if let Some(selection) = selection {
            self.keep_governance_selection(selection);
        }
        // Keep the selected block selected as new ones arrive above it.
        let blocks = &mut self.views.blocks;
        if blocks.cursor > 0 && blocks.filter.is_empty() && self.node.blocks.tip() != tip {
            blocks.cursor += 1;
        }
        match frame.event {
            // A new epoch changes who the peers are.
            AdminEvent::PeerConnected { .. } | AdminEvent::EpochStarted { .. } => {
                self.outbox.push(Request::Peers)
            }
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

/// Events that change proposals, join requests or the epoch.
fn is_governance(event: &AdminEvent) -> bool {
    matches!(
        event,
        AdminEvent::ProposalChanged { .. }
            | AdminEvent::JoinRequested { .. }
            | AdminEvent::JoinClosed { .. }
            | AdminEvent::EpochStarted { .. }
    )
}
