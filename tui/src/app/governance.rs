//! The Governance and Joins screens' part of the state: when to read proposals, join requests
//! and the epoch, which row is selected, and the confirmation dialog a vote, an approval or a
//! rejection goes through.

use bfte_shared::admin::{AdminEvent, AdminRequest};
use bfte_shared::join::PendingJoin;
use bfte_shared::modules::ctrl::{Proposal, ProposalId, ProposalStatus};
use bfte_shared::peer::PeerId;

use super::{App, Input};
use crate::client::Request;
use crate::screens::{governance, joins};
use crate::state::GovernanceData;

/// A write waiting for the user's yes: Cancel is selected until they move to Confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialog {
    pub decision: Decision,
    /// Confirm is selected.
    pub confirm: bool,
}

/// What a dialog asks to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Vote { proposal: ProposalId, yes: bool },
    Approve(PeerId),
    Reject(PeerId),
}

impl Decision {
    /// What Confirm sends.
    pub fn request(self) -> AdminRequest {
        match self {
            Decision::Vote { proposal, yes } => AdminRequest::Vote { proposal, yes },
            Decision::Approve(peer) => AdminRequest::Approve { peer },
            Decision::Reject(peer) => AdminRequest::Reject { peer },
        }
    }
}

impl App {
    /// Asks for proposals, joins and the epoch unless a read is already out; then one more
    /// follows its answer if anything changed meanwhile.
    pub(super) fn refresh_governance(&mut self) {
        let governance = &mut self.node.governance;
        if governance.pending {
            governance.stale = true;
        } else {
            governance.pending = true;
            governance.stale = false;
            self.outbox.push(Request::Governance);
        }
    }

    /// Reads again if the node's governance changed and a screen shows it; `true` if it asked.
    pub(super) fn refresh_governance_if_stale(&mut self) -> bool {
        let governance = &self.node.governance;
        if governance.stale && !governance.pending && self.screen.shows_governance() {
            self.refresh_governance();
            return true;
        }
        false
    }

    /// After an event: a join request or a new epoch is announced on every screen (an admin may
    /// be waiting for it anywhere), and a screen that shows governance reads it again if the
    /// event could not be applied in place. `true` when the screen changed.
    pub(super) fn governance_event(&mut self, event: &AdminEvent) -> bool {
        let announced = match event {
            AdminEvent::JoinRequested { join } => {
                let name = &join.member.name;
                self.say(format!(
                    "join request from {} ({}): screen 5 approves or rejects it",
                    if name.is_empty() { "a new node" } else { name },
                    join.member.id.short()
                ));
                true
            }
            AdminEvent::EpochStarted { epoch } => {
                self.say(format!(
                    "epoch {} started at height {} with {} peers",
                    epoch.number,
                    epoch.start_height,
                    epoch.members.len()
                ));
                true
            }
            _ => false,
        };
        announced | self.refresh_governance_if_stale()
    }

    /// A failed read keeps what it had and says why. The selection stays on the same
    /// proposal and join request as rows come and go around them.
    pub(super) fn governance_answered(&mut self, answer: Result<Box<GovernanceData>, String>) {
        let selection = self.governance_selection();
        let governance = &mut self.node.governance;
        governance.pending = false;
        match answer {
            Ok(data) => {
                governance.data = Some(*data);
                governance.error = None;
            }
            Err(error) => governance.error = Some(error),
        }
        self.keep_governance_selection(selection);
        self.refresh_governance_if_stale();
    }

    /// The proposal and the join request selected now.
    pub(super) fn governance_selection(&self) -> (Option<ProposalId>, Option<PeerId>) {
        (
            self.selected_proposal().map(|p| p.id),
            self.selected_join().map(|j| j.member.id),
        )
    }

    /// Moves the cursors back onto what was selected, after rows came or went around it.
    pub(super) fn keep_governance_selection(
        &mut self,
        (proposal, join): (Option<ProposalId>, Option<PeerId>),
    ) {
        let proposals = governance::visible(self);
        self.views.governance.cursor = proposals
            .iter()
            .position(|p| Some(p.id) == proposal)
            .unwrap_or(self.views.governance.cursor)
            .min(proposals.len().saturating_sub(1));
        let joins = joins::visible(self);
        self.views.joins.cursor = joins
            .iter()
            .position(|j| Some(j.member.id) == join)
            .unwrap_or(self.views.joins.cursor)
            .min(joins.len().saturating_sub(1));
    }

    pub fn selected_proposal(&self) -> Option<&Proposal> {
        governance::visible(self)
            .get(self.views.governance.cursor)
            .copied()
    }

    pub fn selected_join(&self) -> Option<&PendingJoin> {
        joins::visible(self).get(self.views.joins.cursor).copied()
    }

    /// `y` or `n` on the Governance screen: a dialog for an open proposal, else why not.
    pub(super) fn ask_vote(&mut self, yes: bool) {
        let decision = match self.selected_proposal() {
            None => Err("no proposal selected".to_string()),
            Some(p) if p.status != ProposalStatus::Open => Err(format!(
                "proposal {} is closed: only open proposals take votes",
                p.id
            )),
            Some(p) => Ok(Decision::Vote {
                proposal: p.id,
                yes,
            }),
        };
        self.ask(decision, "votes are");
    }

    /// `a` or `r` on the Joins screen: a dialog for the selected join request.
    pub(super) fn ask_join(&mut self, approve: bool) {
        let decision = match self.selected_join() {
            None => Err("no join request selected".to_string()),
            Some(join) if approve => Ok(Decision::Approve(join.member.id)),
            Some(join) => Ok(Decision::Reject(join.member.id)),
        };
        let what = if approve {
            "approvals are"
        } else {
            "rejections are"
        };
        self.ask(decision, what);
    }

    fn ask(&mut self, decision: Result<Decision, String>, what: &str) {
        if self.read_only {
            self.say(read_only_refusal(what));
            return;
        }
        match decision {
            Ok(decision) => {
                self.message = None;
                self.input = Input::Dialog(Dialog {
                    decision,
                    confirm: false,
                });
            }
            Err(why) => self.say(why),
        }
    }

    /// Enter in a dialog: does what is selected.
    pub(super) fn decide(&mut self, dialog: Dialog) {
        if dialog.confirm {
            self.send(dialog.decision.request());
        } else {
            self.say("cancelled");
        }
    }

    /// Queues a write, unless this console may not write.
    pub(super) fn send(&mut self, request: AdminRequest) {
        if self.read_only {
            self.say(read_only_refusal("writes are"));
            return;
        }
        self.say("sending…");
        self.outbox.push(Request::Write(request));
    }

    /// A pending joiner named by its full id, or by a prefix of its id or name that only it has.
    pub(super) fn joiner(&self, text: &str) -> Result<PeerId, String> {
        if let Ok(id) = text.parse::<PeerId>() {
            return Ok(id);
        }
        let Some(data) = &self.node.governance.data else {
            return Err(format!(
                "join requests are not loaded yet: give {text}'s full id, or look at screen 5 first"
            ));
        };
        let needle = text.to_lowercase();
        let matching: Vec<&PendingJoin> = data
            .joins
            .iter()
            .filter(|join| {
                join.member.id.to_string().starts_with(&needle)
                    || join.member.name.to_lowercase().starts_with(&needle)
            })
            .collect();
        match matching.as_slice() {
            [join] => Ok(join.member.id),
            [] => Err(format!(
                "no pending join request matches \"{text}\" (screen 5 lists them)"
            )),
            several => Err(format!(
                "\"{text}\" matches {} join requests ({}): give more of the id",
                several.len(),
                several
                    .iter()
                    .map(|j| format!("{} {}", j.member.name, j.member.id.short()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// What a read-only console says instead of writing.
pub(super) fn read_only_refusal(what: &str) -> String {
    format!(
        "read-only console (admin-ro.sock): {what} not possible; open bfte tui without --read-only"
    )
}
