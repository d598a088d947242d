//! The confirmation dialog over Governance and Joins: exactly what the write changes and what
//! it does to the tally, worked out from the state as it is now, with Cancel and Confirm.

use bfte_shared::modules::ctrl::{Change, ProposalId, ProposalStatus};
use bfte_shared::peer::PeerId;
use ratatui::Frame;
use ratatui::layout::{Alignment, Flex, Rect};
use ratatui::text::{Line, Span};

use crate::app::{App, Decision, Dialog};
use crate::keys::{self, Mode};
use crate::state::{GovernanceData, consequence, status_text};

const WIDTH: u16 = 84;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, dialog: &Dialog) {
    let (title, text, confirm) = content(app, dialog.decision);
    let width = WIDTH.min(area.width);
    let inner = usize::from(width.saturating_sub(4));
    let mut lines: Vec<Line> = Vec::new();
    for paragraph in text {
        lines.extend(
            super::wrap(&paragraph, inner)
                .into_iter()
                .map(|line| Line::raw(format!(" {line}"))),
        );
    }
    lines.push(Line::raw(""));
    let button = |label: &str, selected: bool| {
        if selected {
            Span::styled(format!("▶ {label} ◀"), app.theme.selected())
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    lines.push(
        Line::from(vec![
            button("Cancel", !dialog.confirm),
            Span::raw("      "),
            button(&confirm, dialog.confirm),
        ])
        .alignment(Alignment::Center),
    );
    lines.push(
        Line::styled(keys::hints(Mode::Dialog).join(" · "), app.theme.dim())
            .alignment(Alignment::Center),
    );
    super::popup(frame, area, Flex::Center, width, &title, lines);
}

/// The title, the paragraphs and the Confirm button's label for a decision.
fn content(app: &App, decision: Decision) -> (String, Vec<String>, String) {
    let data = app.node.governance.data.as_ref();
    match decision {
        Decision::Vote { proposal, yes } => {
            let word = if yes { "yes" } else { "no" };
            (
                format!(" Vote {word} on proposal {proposal}? "),
                vote_text(app, data, proposal, yes),
                format!("Vote {word}"),
            )
        }
        Decision::Approve(peer) => (
            format!(" Approve the join request of {}? ", app.joiner_name(&peer)),
            approve_text(app, data, &peer),
            "Approve".into(),
        ),
        Decision::Reject(peer) => (
            format!(" Reject the join request of {}? ", app.joiner_name(&peer)),
            vec![
                format!("Peer: {} ({peer})", app.joiner_name(&peer)),
                "Drops the request on this node only: other peers keep theirs, and it is not a \
                 vote against adding the peer."
                    .into(),
            ],
            "Reject".into(),
        ),
    }
}

fn vote_text(app: &App, data: Option<&GovernanceData>, id: ProposalId, yes: bool) -> Vec<String> {
    let Some((data, proposal)) = data.and_then(|d| d.proposal(id).map(|p| (d, p))) else {
        return vec![format!(
            "Proposal {id} is no longer listed; the node decides whether the vote counts."
        )];
    };
    let mut text = vec![
        format!(
            "Change: {}{}",
            super::governance::describe(app, proposal),
            if matches!(proposal.change, Change::SetParams(_)) {
                "; every other parameter keeps its value in force"
            } else {
                ""
            }
        ),
        format!(
            "Proposed by {} at height {}.{}",
            app.node.name_of(&proposal.proposer),
            proposal.height,
            if proposal.change.ends_epoch() {
                format!(
                    " Passing it ends epoch {}: consensus runs under the new configuration from \
                     the block that passes it.",
                    data.epoch.number
                )
            } else {
                String::new()
            }
        ),
        format!("Now: {}.", data.tally(proposal).describe()),
    ];
    if proposal.status != ProposalStatus::Open {
        text.push(format!(
            "It is {} meanwhile: the node will refuse the vote.",
            status_text(&proposal.status)
        ));
    } else if let Some(own) = app.node.status.as_ref().map(|s| s.peer_id) {
        text.push(format!(
            "{}, once a block carrying the vote is finalized.",
            sentence(&consequence(proposal, &data.epoch, &own, yes))
        ));
    }
    text
}

fn approve_text(app: &App, data: Option<&GovernanceData>, peer: &PeerId) -> Vec<String> {
    let Some((data, join)) = data.and_then(|d| d.join(peer).map(|j| (d, j))) else {
        return vec![format!(
            "The join request of {peer} is no longer listed; the node decides."
        )];
    };
    let member = &join.member;
    let mut text = vec![
        format!("Peer: {} ({})", app.joiner_name(peer), member.id),
        format!(
            "Asked at {} UTC, naming the block at height {}.",
            super::clock(join.requested_ms),
            join.pin_height
        ),
    ];
    match data.open_addition(peer) {
        Some(proposal) => {
            text.push(format!(
                "Approving votes yes on proposal {}: {}. Now: {}.",
                proposal.id,
                proposal.change.describe(),
                data.tally(proposal).describe()
            ));
            if let Some(own) = app.node.status.as_ref().map(|s| s.peer_id) {
                text.push(format!(
                    "{}.",
                    sentence(&consequence(proposal, &data.epoch, &own, true))
                ));
            }
        }
        None => text.push(format!(
            "Approving proposes the change \"{}\" with this node's yes vote; {} yes of {} peers \
             in force pass it.",
            Change::AddPeer(member.clone()).describe(),
            crate::state::quorum(&data.epoch),
            data.epoch.members.len()
        )),
    }
    text.push(format!(
        "The peer votes once the change passes; passing it ends epoch {}.",
        data.epoch.number
    ));
    text
}

/// A sentence from a clause: its first letter upper case.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
