//! The `:` command line: parsing a line into a [`Command`], and running it on the app. Writes
//! go to the connection task as [`Request::Write`]; their answer comes back as
//! [`Update::Written`](crate::client::Update::Written).

use bfte_shared::admin::AdminRequest;
use bfte_shared::codec;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, META};

use super::App;
use crate::client::Request;
use crate::keys::Action;
use crate::screens::Screen;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A request that changes the node (submit, meta set, attest).
    Write(AdminRequest),
    Show(Screen),
    Quit,
}

const USAGE: &str = "commands: submit TEXT, meta set KEY VALUE, attest SUBJECT CLAIM, screen N, q (quote values with spaces)";

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
        ["q" | "quit"] => Ok(Command::Quit),
        [] => Err(USAGE.into()),
        [other, ..] => Err(format!("unknown command {other:?}; {USAGE}")),
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
        match parse(line) {
            Err(error) => self.message = Some(error),
            Ok(Command::Quit) => self.act(Action::Quit),
            Ok(Command::Show(screen)) => self.act(Action::Show(screen)),
            Ok(Command::Write(_)) if self.read_only => {
                self.message = Some(
                    "read-only console (admin-ro.sock): writes are not possible; open bfte tui without --read-only".into(),
                );
            }
            Ok(Command::Write(request)) => {
                self.message = Some("sending…".into());
                self.outbox.push(Request::Write(request));
            }
        }
    }

    /// The node's answer to a write.
    pub(super) fn written(&mut self, answer: Result<u64, String>) {
        self.message = Some(match answer {
            Ok(nonce) => format!("submitted, nonce {nonce}; it counts once finalized"),
            Err(refusal) => refusal,
        });
    }
}
