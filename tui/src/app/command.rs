//! The `:` command line: parsing a line into a [`Command`], and running it on the app. Writes
//! go to the connection task as [`Request::Write`](crate::client::Request::Write) without a
//! dialog, as the CLI sends them; their answer comes back as
//! [`Update::Written`](crate::client::Update::Written).

use bfte_shared::admin::AdminRequest;
use bfte_shared::codec;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::ctrl::ProposalId;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, META};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

use super::App;
use super::governance::read_only_refusal;
use crate::keys::Action;
use crate::screens::Screen;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A request that changes the node (submit, meta set, attest, vote).
    Write(AdminRequest),
    /// Approve or reject the pending joiner the text names (its id, or a unique prefix of its
    /// id or name): resolved against the join requests the console holds.
    Approve(String),
    Reject(String),
    Show(Screen),
    /// Show the Blocks screen with the finalized block at this height open.
    Block(Height),
    Help,
    Quit,
}

/// A command as the list under the `:` prompt shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// The first word.
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
}

const fn command(name: &'static str, usage: &'static str, help: &'static str) -> CommandHelp {
    CommandHelp { name, usage, help }
}

/// Every command, in the order the list shows them; [`parse`] accepts each.
pub const COMMANDS: &[CommandHelp] = &[
    command("submit", "submit TEXT", "submit TEXT as a data item"),
    command("meta", "meta set KEY VALUE", "propose a metadata value"),
    command(
        "attest",
        "attest SUBJECT CLAIM",
        "attest CLAIM about SUBJECT",
    ),
    command(
        "vote",
        "vote ID yes|no",
        "vote on proposal ID (as screen 4 lists it)",
    ),
    command(
        "approve",
        "approve PEER",
        "approve a join request (id, or prefix of id or name)",
    ),
    command("reject", "reject PEER", "drop a join request on this node"),
    command(
        "block",
        "block HEIGHT",
        "open the finalized block at HEIGHT",
    ),
    command(
        "SCREEN",
        "SCREEN",
        "show a screen by name or first letters: overview, rounds, blocks, governance, \
         joins, modules, log (or screen 1-7)",
    ),
    command("help", "help", "the keys of the screen"),
    command("q", "q", "quit"),
];

/// The commands whose name starts with the first word of `line`, or all of them when none
/// does; and whether any did.
pub fn matching(line: &str) -> (Vec<CommandHelp>, bool) {
    let word = line.split_whitespace().next().unwrap_or("").to_lowercase();
    let typed_whole = line.trim_start().len() > word.len();
    let found: Vec<CommandHelp> = COMMANDS
        .iter()
        .filter(|c| {
            let name = c.name.to_lowercase();
            let screen = c.name == "SCREEN" && screen_named(&word).is_some();
            screen
                || if typed_whole {
                    name == word
                } else {
                    name.starts_with(&word)
                }
        })
        .copied()
        .collect();
    if found.is_empty() {
        (COMMANDS.to_vec(), false)
    } else {
        (found, true)
    }
}

/// The screen whose name `word` is, or starts only its name.
fn screen_named(word: &str) -> Option<Screen> {
    if word.is_empty() {
        return None;
    }
    let word = word.to_lowercase();
    let named: Vec<Screen> = Screen::ALL
        .into_iter()
        .filter(|s| s.title().to_lowercase().starts_with(&word))
        .collect();
    match named.as_slice() {
        [screen] => Some(*screen),
        _ => None,
    }
}

const UNKNOWN: &str = "the list under the prompt shows the commands";
const VOTE_USAGE: &str = "usage: vote ID yes|no (ID as screen 4 lists it)";
const PEER_USAGE: &str = "PEER (its id, or a unique prefix of a pending joiner's id or name)";

/// Parses a command line (without the `:`); the error is one line for the status bar.
pub fn parse(line: &str) -> Result<Command, String> {
    let words = split(line)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["submit", text] => Ok(Command::Write(AdminRequest::Submit {
            data: text.as_bytes().to_vec(),
        })),
        ["submit", ..] => Err("usage: submit TEXT (quote text with spaces)".into()),
        ["meta", "set", key, value] => Ok(item(
            META,
            codec::encode(&MetaItem::Propose {
                key: key.to_string(),
                value: value.to_string(),
            }),
        )),
        ["meta", ..] => Err("usage: meta set KEY VALUE (quote values with spaces)".into()),
        ["attest", subject, claim] => Ok(item(
            ATTEST,
            codec::encode(&AttestItem::Attest {
                subject: subject.to_string(),
                claim: claim.to_string(),
                detail: None,
            }),
        )),
        ["attest", ..] => Err("usage: attest SUBJECT CLAIM (quote values with spaces)".into()),
        ["vote", id, choice] => {
            let id = id.trim_start_matches('#').parse().map_err(|_| VOTE_USAGE)?;
            let yes = match *choice {
                "yes" | "y" => true,
                "no" | "n" => false,
                _ => return Err(VOTE_USAGE.into()),
            };
            Ok(Command::Write(AdminRequest::Vote {
                proposal: ProposalId(id),
                yes,
            }))
        }
        ["vote", ..] => Err(VOTE_USAGE.into()),
        ["approve", peer] => Ok(Command::Approve(peer.to_string())),
        ["approve", ..] => Err(format!("usage: approve {PEER_USAGE}")),
        ["reject", peer] => Ok(Command::Reject(peer.to_string())),
        ["reject", ..] => Err(format!("usage: reject {PEER_USAGE}")),
        ["screen", n] => {
            let mut digits = n.chars();
            let screen = match (digits.next(), digits.next()) {
                (Some(digit), None) => Screen::ALL.iter().find(|s| s.key() == digit),
                _ => None,
            };
            screen
                .copied()
                .ok_or_else(|| {
                    let keys: Vec<String> =
                        Screen::ALL.iter().map(|s| s.key().to_string()).collect();
                    format!("no screen {n}: the screens are {}", keys.join(", "))
                })
                .map(Command::Show)
        }
        ["screen", ..] => Err("usage: screen N".into()),
        ["block", height] => height
            .parse()
            .map(|height| Command::Block(Height(height)))
            .map_err(|_| format!("no height {height:?}: usage: block HEIGHT")),
        ["block", ..] => Err("usage: block HEIGHT (blocks shows the list)".into()),
        ["help" | "?"] => Ok(Command::Help),
        ["q" | "quit"] => Ok(Command::Quit),
        [] => Err(format!("no command: {UNKNOWN}")),
        [word] => screen_named(word)
            .map(Command::Show)
            .ok_or_else(|| format!("unknown command {word:?}: {UNKNOWN}")),
        [other, ..] => Err(format!("unknown command {other:?}: {UNKNOWN}")),
    }
}

fn item(module: bfte_shared::item::ModuleId, data: Vec<u8>) -> Command {
    Command::Write(AdminRequest::SubmitItem { module, data })
}

/// Splits on spaces; double quotes keep spaces inside one word.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    words.extend(word);
    Ok(words)
}

impl App {
    /// Runs a command line typed after `:`.
    pub(super) fn run_command(&mut self, line: &str) {
        let request = match parse(line) {
            Err(error) => Err(error),
            Ok(Command::Quit) => return self.act_on(Action::Quit),
            Ok(Command::Show(screen)) => return self.act_on(Action::Show(screen)),
            Ok(Command::Help) => return self.act_on(Action::Help),
            Ok(Command::Block(height)) => return self.show_block(height),
            Ok(_) if self.read_only => Err(read_only_refusal("writes are")),
            Ok(Command::Write(request)) => Ok(request),
            Ok(Command::Approve(peer)) => self
                .joiner(&peer)
                .map(|peer| AdminRequest::Approve { peer }),
            Ok(Command::Reject(peer)) => {
                self.joiner(&peer).map(|peer| AdminRequest::Reject { peer })
            }
        };
        match request {
            Ok(request) => self.send(request),
            Err(error) => self.say(error),
        }
    }

    /// The node's answer to a write, for the status line.
    pub(super) fn written(&mut self, request: &AdminRequest, answer: Result<Option<u64>, String>) {
        let what = match request {
            AdminRequest::Vote { proposal, yes } => Some(format!(
                "vote {} on proposal {proposal}",
                if *yes { "yes" } else { "no" }
            )),
            AdminRequest::Approve { peer } => {
                Some(format!("approval of {}", self.joiner_name(peer)))
            }
            AdminRequest::Reject { peer } => {
                Some(format!("rejection of {}", self.joiner_name(peer)))
            }
            _ => None,
        };
        self.say(match (what, answer) {
            (None, Ok(nonce)) => format!(
                "submitted, nonce {}; it counts once finalized",
                nonce.unwrap_or_default()
            ),
            (Some(what), Ok(Some(nonce))) => {
                format!("{what} submitted, nonce {nonce}; it counts once finalized")
            }
            (Some(what), Ok(None)) => {
                format!("{what} done: the request is dropped here, other peers keep theirs")
            }
            (None, Err(refusal)) => refusal,
            (Some(what), Err(refusal)) => format!("{what}: {refusal}"),
        });
        if matches!(request, AdminRequest::Reject { .. }) {
            // No event says a join request was dropped here: read the list again.
            self.node.governance.stale = true;
            self.refresh_governance_if_stale();
        }
    }

    /// A joiner's name as its request gives it, else as the node knows it.
    pub fn joiner_name(&self, peer: &PeerId) -> String {
        self.node
            .governance
            .data
            .as_ref()
            .and_then(|data| data.join(peer))
            .filter(|join| !join.member.name.is_empty())
            .map_or_else(|| self.node.name_of(peer), |join| join.member.name.clone())
    }
}
