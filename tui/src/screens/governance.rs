//! Governance: the epoch in force, the consensus_ctrl proposals with their tally against the
//! peers in force, and who voted what on the selected one; `y`/`n` vote through a dialog.

use bfte_shared::modules::ctrl::{Change, EpochConfig, Proposal, ProposalStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use crate::app::App;
use crate::state::{GovernanceData, describe_change, quorum, status_text, vote_of};

/// A proposal's change in a table's row: as [`describe`] says it, with peers by name and short
/// id (the votes panel and the dialog give the whole line).
pub(super) fn summary(app: &App, proposal: &Proposal) -> String {
    match &proposal.change {
        Change::AddPeer(member) => proposal
            .change
            .describe()
            .replace(&member.id.to_string(), &member.id.short()),
        Change::RemovePeer { id } => {
            format!("remove peer {} ({})", app.node.name_of(id), id.short())
        }
        _ => describe(app, proposal),
    }
}

/// A proposal's change in full; an open parameters proposal names only what it changes.
pub(super) fn describe(app: &App, proposal: &Proposal) -> String {
    let epoch = app.node.governance.data.as_ref().map(|data| &data.epoch);
    describe_change(proposal, epoch)
}

/// The proposals the table lists, newest first, after the filter (id, change, proposer or
/// status containing it).
pub fn visible(app: &App) -> Vec<&Proposal> {
    let Some(data) = &app.node.governance.data else {
        return Vec::new();
    };
    let needle = app.views.governance.filter.to_lowercase();
    data.proposals
        .iter()
        .filter(|p| {
            needle.is_empty()
                || p.id.to_string() == needle.trim_start_matches('#')
                || [
                    summary(app, p),
                    app.node.name_of(&p.proposer),
                    status_text(&p.status),
                ]
                .iter()
                .any(|text| text.to_lowercase().contains(&needle))
        })
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let governance = &app.node.governance;
    let Some(data) = &governance.data else {
        super::joins::not_loaded(frame, area, app, " Governance ");
        return;
    };
    let votes = votes_lines(app, data, usize::from(area.width.saturating_sub(3)));
    // The table keeps at least eight rows; the votes panel gets the rest it needs.
    let votes_height = u16::try_from(votes.len() + 2).unwrap_or(u16::MAX);
    let [epoch, table, votes_area] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(8),
        Constraint::Length(votes_height),
    ])
    .areas(area);
    draw_epoch(frame, epoch, app, &data.epoch);
    draw_table(frame, table, app, data);
    let title = match app.selected_proposal() {
        Some(proposal) => format!(
            " Votes on proposal {} · {} ",
            proposal.id,
            status_text(&proposal.status)
        ),
        None => " Votes ".into(),
    };
    frame.render_widget(
        Paragraph::new(votes).block(Block::default().borders(Borders::ALL).title(title)),
        votes_area,
    );
}

fn draw_epoch(frame: &mut Frame, area: Rect, app: &App, epoch: &EpochConfig) {
    let quorum = quorum(epoch);
    let names: Vec<String> = epoch
        .members
        .iter()
        .map(|m| app.node.name_of(&m.id))
        .collect();
    let text = format!(
        " epoch {} from height {} · {} peers in force, a change passes with {} yes: {}",
        epoch.number,
        epoch.start_height,
        epoch.members.len(),
        quorum,
        names.join(", ")
    );
    frame.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Epoch in force "),
        ),
        area,
    );
}

/// The proposals table's column that gives way below [`NARROW`] columns: the votes panel
/// names the proposer too, and every other column keeps its label.
const PROPOSER: usize = 2;
const NARROW: u16 = 100;

fn draw_table(frame: &mut Frame, area: Rect, app: &App, data: &GovernanceData) {
    let narrow = area.width < NARROW;
    let own = app.node.status.as_ref().map(|s| s.peer_id);
    let visible = visible(app);
    let height = usize::from(area.height.saturating_sub(3));
    let offset = super::scroll_offset(app.views.governance.cursor, height);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, proposal)| {
            let tally = data.tally(proposal);
            let open = proposal.status == ProposalStatus::Open;
            let mine = match own.and_then(|own| vote_of(proposal, &own)) {
                Some(true) => "yes",
                Some(false) => "no",
                None if open => "not yet",
                None => "—",
            };
            let status = match proposal.status {
                ProposalStatus::Open => match tally.missing() {
                    1 => "○ open, 1 more yes".to_string(),
                    more => format!("○ open, {more} more yes"),
                },
                _ => status_text(&proposal.status),
            };
            let mut cells = vec![
                proposal.id.to_string(),
                summary(app, proposal),
                app.node.name_of(&proposal.proposer),
                tally.yes.to_string(),
                tally.no.to_string(),
                format!("{} of {}", tally.quorum, tally.peers),
                mine.to_string(),
                status,
            ];
            if narrow {
                cells.remove(PROPOSER);
            }
            let row = Row::new(cells);
            if index == app.views.governance.cursor {
                row.style(app.theme.selected())
            } else {
                row
            }
        });
    let open = data
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Open)
        .count();
    let mut title = format!(
        " Proposals ({}, {open} open; newest first) · y/n vote on the selected one ",
        data.proposals.len()
    );
    if !app.views.governance.filter.is_empty() {
        title.push_str(&format!(
            "· filter \"{}\" (Esc clears) ",
            app.views.governance.filter
        ));
    }
    title.push_str(&super::joins::freshness(app));
    let block = Block::default().borders(Borders::ALL).title(title);
    if visible.is_empty() {
        let text = if data.proposals.is_empty() {
            " no proposals yet (approving a join request makes one)"
        } else {
            " no proposal matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let mut header = vec![
        "ID",
        "CHANGE",
        "PROPOSER",
        "YES",
        "NO",
        "QUORUM",
        "THIS NODE",
        "STATUS",
    ];
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Min(30),
        Constraint::Length(10),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(24),
    ];
    if narrow {
        header.remove(PROPOSER);
        widths.remove(PROPOSER);
        widths[1] = Constraint::Min(20);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(app.theme.title()))
        .block(block);
    frame.render_widget(table, area);
}

/// The selected proposal in full and every peer in force with its vote, in `width` columns.
fn votes_lines<'a>(app: &App, data: &GovernanceData, width: usize) -> Vec<Line<'a>> {
    let Some(proposal) = app.selected_proposal() else {
        return Vec::new();
    };
    let node = &app.node;
    let own = node.status.as_ref().map(|s| s.peer_id);
    let mut lines: Vec<Line> = super::wrap(&describe(app, proposal), width)
        .into_iter()
        .map(|line| Line::raw(format!(" {line}")))
        .collect();
    lines.push(Line::raw(format!(
        " proposed by {} at height {} · {}",
        node.name_of(&proposal.proposer),
        proposal.height,
        data.tally(proposal).describe()
    )));
    // Yes, then no, then not yet: who is missing reads at a glance.
    let mut members: Vec<_> = data
        .epoch
        .members
        .iter()
        .map(|m| (vote_of(proposal, &m.id), m.id))
        .collect();
    members.sort_by_key(|(vote, _)| match vote {
        Some(true) => 0,
        Some(false) => 1,
        None => 2,
    });
    for (vote, id) in members {
        let (mark, word, style) = match vote {
            Some(true) => ("✔", "yes", app.theme.good()),
            Some(false) => ("✗", "no", app.theme.bad()),
            None => ("·", "not yet", app.theme.dim()),
        };
        let mut notes = Vec::new();
        if id == proposal.proposer {
            notes.push("proposer");
        }
        if Some(id) == own {
            notes.push("this node");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  {}", notes.join(", "))
        };
        lines.push(Line::from(vec![
            Span::styled(format!("   {mark} {word:<8}"), style),
            Span::raw(format!("{} ({}){notes}", node.name_of(&id), id.short())),
        ]));
    }
    let uncounted: Vec<String> = proposal
        .votes
        .iter()
        .filter(|(voter, _)| data.epoch.member(voter).is_none())
        .map(|(voter, yes)| {
            format!(
                "{} {}",
                node.name_of(voter),
                if *yes { "yes" } else { "no" }
            )
        })
        .collect();
    if !uncounted.is_empty() {
        lines.push(Line::styled(
            format!(
                "   not counted (no longer peers in force): {}",
                uncounted.join(", ")
            ),
            app.theme.dim(),
        ));
    }
    lines
}
