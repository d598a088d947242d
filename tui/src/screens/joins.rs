//! Joins: the join requests this node holds as pending, with how far the vote to add each one
//! got; `a` approves (votes yes on adding it), `r` rejects (drops it here), both through a
//! dialog.

use bfte_shared::join::PendingJoin;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use crate::app::App;
use crate::state::GovernanceData;

/// The join requests the table lists, after the filter (name, id or address containing it).
pub fn visible(app: &App) -> Vec<&PendingJoin> {
    let Some(data) = &app.node.governance.data else {
        return Vec::new();
    };
    let needle = app.views.joins.filter.to_lowercase();
    data.joins
        .iter()
        .filter(|join| {
            let member = &join.member;
            needle.is_empty()
                || member.name.to_lowercase().contains(&needle)
                || member.id.to_string().starts_with(&needle)
                || member.addrs.iter().any(|a| a.contains(&needle))
        })
        .collect()
}

/// "loading" or why the read failed, until the first answer.
pub(super) fn not_loaded(frame: &mut Frame, area: Rect, app: &App, title: &str) {
    let text = match &app.node.governance.error {
        Some(error) => format!(" could not read proposals and join requests: {error}"),
        None => " loading proposals, join requests and the epoch ...".into(),
    };
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// What a title adds while a read is out or after one failed.
pub(super) fn freshness(app: &App) -> String {
    let governance = &app.node.governance;
    match &governance.error {
        Some(error) => format!("· refresh failed: {error} "),
        None if governance.pending => "· refreshing… ".into(),
        None => String::new(),
    }
}

/// How the vote to add `join` stands: the open proposal's yes votes, or none yet.
fn approval(data: &GovernanceData, join: &PendingJoin) -> String {
    match data.open_addition(&join.member.id) {
        Some(proposal) => {
            let tally = data.tally(proposal);
            format!(
                "proposal {}: {} of {} yes",
                proposal.id, tally.yes, tally.quorum
            )
        }
        None => "no proposal yet".into(),
    }
}

fn name(join: &PendingJoin) -> String {
    if join.member.name.is_empty() {
        "(no name)".into()
    } else {
        join.member.name.clone()
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(data) = &app.node.governance.data else {
        not_loaded(frame, area, app, " Join requests ");
        return;
    };
    let [table, detail] = Layout::vertical([Constraint::Min(6), Constraint::Length(8)]).areas(area);
    draw_table(frame, table, app, data);
    draw_detail(frame, detail, app, data);
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App, data: &GovernanceData) {
    let now = app.node.last_event_ms;
    let visible = visible(app);
    let mut title = format!(
        " Join requests ({} pending on this node) · a approves, r rejects ",
        data.joins.len()
    );
    if !app.views.joins.filter.is_empty() {
        title.push_str(&format!(
            "· filter \"{}\" (Esc clears) ",
            app.views.joins.filter
        ));
    }
    title.push_str(&freshness(app));
    let block = Block::default().borders(Borders::ALL).title(title);
    if visible.is_empty() {
        let text = if data.joins.is_empty() {
            " no pending join requests: a new node asks with an invite from this federation"
        } else {
            " no join request matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let height = usize::from(area.height.saturating_sub(3));
    let offset = super::scroll_offset(app.views.joins.cursor, height);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, join)| {
            let requested = match now {
                Some(now) => format!("{} ago", super::age(now, join.requested_ms)),
                None => super::clock(join.requested_ms),
            };
            let row = Row::new(vec![
                name(join),
                join.member.id.short(),
                join.member.addrs.join(", "),
                join.pin_height.to_string(),
                requested,
                approval(data, join),
            ]);
            if index == app.views.joins.cursor {
                row.style(app.theme.selected())
            } else {
                row
            }
        });
    let header = Row::new(vec![
        "NAME",
        "ID",
        "ADDRESSES",
        "PINNED AT",
        "REQUESTED",
        "APPROVAL",
    ])
    .style(app.theme.title());
    let widths = [
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Min(20),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(24),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

fn draw_detail(frame: &mut Frame, area: Rect, app: &App, data: &GovernanceData) {
    let Some(join) = app.selected_join() else {
        frame.render_widget(
            Block::default().borders(Borders::ALL).title(" Request "),
            area,
        );
        return;
    };
    let member = &join.member;
    let addresses = if member.addrs.is_empty() {
        "no address".to_string()
    } else {
        member.addrs.join(", ")
    };
    let approve = match data.open_addition(&member.id) {
        Some(proposal) => format!(
            "a: vote yes on proposal {} that adds it ({})",
            proposal.id,
            data.tally(proposal).describe()
        ),
        None => "a: propose adding it, with this node's yes vote".into(),
    };
    let text = [
        format!("id        {}", member.id),
        format!("addresses {addresses}"),
        format!(
            "pinned    height {} (the invite's block it names) · asked at {} UTC",
            join.pin_height,
            super::clock(join.requested_ms)
        ),
        approve,
        "r: drop the request on this node only (other peers keep theirs)".into(),
    ];
    let width = usize::from(area.width.saturating_sub(3));
    let lines: Vec<Line> = text
        .iter()
        .flat_map(|paragraph| super::wrap(paragraph, width))
        .map(|line| Line::raw(format!(" {line}")))
        .collect();
    let title = format!(" Request of {} ", name(join));
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
