//! Blocks: finalized blocks newest first; Enter opens one (header, certificate signers,
//! items), Esc goes back.

use bfte_shared::admin::BlockDetail;
use bfte_shared::ledger::ItemOutcome;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use crate::app::App;
use crate::decode;
use crate::state::BlockSummary;

/// The blocks the list shows, newest first, after the filter (height, hash prefix or proposer).
pub fn visible(app: &App) -> impl Iterator<Item = &BlockSummary> {
    let needle = app.views.blocks.filter.to_lowercase();
    app.node.blocks.newest().filter(move |block| {
        needle.is_empty()
            || block.height.to_string() == needle
            || block.hash.to_string().starts_with(&needle)
            || app
                .node
                .name_of(&block.proposer)
                .to_lowercase()
                .contains(&needle)
    })
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match (&app.node.blocks.detail, app.node.blocks.opening) {
        (Some(detail), _) => draw_detail(frame, area, app, detail),
        (None, Some(height)) => frame.render_widget(
            Paragraph::new(format!(" loading block {height} ... (Esc goes back)"))
                .block(Block::default().borders(Borders::ALL).title(" Block ")),
            area,
        ),
        (None, None) => draw_list(frame, area, app),
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let visible_rows = usize::from(area.height.saturating_sub(3));
    let offset = super::scroll_offset(app.views.blocks.cursor, visible_rows);
    let rows = visible(app)
        .enumerate()
        .skip(offset)
        .take(visible_rows)
        .map(|(index, block)| {
            let row = Row::new(vec![
                block.height.to_string(),
                block.round.to_string(),
                block.hash.short(),
                block.items.to_string(),
                app.node.name_of(&block.proposer),
                super::clock(block.at_ms),
            ]);
            if index == app.views.blocks.cursor {
                row.style(app.theme.selected())
            } else {
                row
            }
        });
    let header = Row::new(vec![
        "HEIGHT",
        "ROUND",
        "HASH",
        "ITEMS",
        "PROPOSER",
        "TIME (UTC)",
    ])
    .style(app.theme.title());
    let mut title = format!(
        " Finalized blocks ({} loaded, newest first; Enter opens) ",
        app.node.blocks.len()
    );
    if !app.views.blocks.filter.is_empty() {
        title.push_str(&format!(
            "filter \"{}\" (Esc clears) ",
            app.views.blocks.filter
        ));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(14),
            Constraint::Length(10),
        ],
    )
    .header(header)
    .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, area);
}

fn draw_detail(frame: &mut Frame, area: Rect, app: &App, detail: &BlockDetail) {
    let node = &app.node;
    let header = &detail.block.header;
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<13}"), app.theme.dim()),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        Line::styled(" Header", app.theme.title()),
        field("height", header.height.to_string()),
        field("round", header.round.to_string()),
        field("hash", detail.block.hash().to_string()),
        field("parent", header.parent.to_string()),
        field(
            "proposer",
            format!(
                "{} ({})",
                node.name_of(&header.proposer),
                header.proposer.short()
            ),
        ),
        field("time (UTC)", super::clock(header.timestamp_ms)),
        field("state root", header.state_root.to_string()),
        Line::raw(""),
        Line::styled(" Certificate", app.theme.title()),
    ];
    match &detail.certificate {
        Some(certificate) => {
            lines.push(field(
                "finalize",
                format!(
                    "round {}, {} of {} peers signed",
                    certificate.round,
                    detail.signers.len(),
                    node.peers.len()
                ),
            ));
            for signer in &detail.signers {
                lines.push(Line::raw(format!(
                    "   ✔ {} ({})",
                    node.name_of(signer),
                    signer.short()
                )));
            }
        }
        None => lines.push(Line::raw(
            "   none of its own: finalized together with a later block",
        )),
    }
    lines.push(Line::raw(""));
    let outcome = app.node.blocks.outcome.as_ref();
    let applied = if outcome.is_some() {
        ""
    } else {
        ", outcomes not known (the ledger has not applied the block yet)"
    };
    // An item signs a batch of entries; each entry has its own outcome. Items of one entry
    // (most of them) read as before, a batch's entries carry their index.
    let payload = &detail.block.payload;
    let entries = payload.entry_count();
    let count = if entries == payload.items.len() {
        entries.to_string()
    } else {
        format!("{entries} entries in {} signed items", payload.items.len())
    };
    lines.push(Line::styled(
        format!(" Items ({count}{applied})"),
        app.theme.title(),
    ));
    // Long items, effects and reasons wrap under their own start: an item's text starts after
    // "   ✔ ", an effect or a reason 2 columns further in.
    let width = usize::from(area.width.saturating_sub(2));
    let indented = |text: &str, indent: usize| {
        super::wrap(text, width.saturating_sub(indent))
            .into_iter()
            .map(move |line| format!("{:indent$}{line}", ""))
    };
    let flattened = payload.items.iter().flat_map(|item| {
        let batch = item.entries.len() > 1;
        item.entry_refs()
            .map(move |(at, entry)| (item, batch.then_some(at.index), entry))
    });
    for (index, (item, in_batch, entry)) in flattened.enumerate() {
        let result = outcome.and_then(|o| o.entries.get(index));
        let (mark, style) = match result {
            Some(ItemOutcome::Applied { .. }) => ("✔", app.theme.good()),
            Some(ItemOutcome::Rejected { .. }) => ("✗", app.theme.bad()),
            None => ("·", app.theme.dim()),
        };
        let at = in_batch.map_or(String::new(), |i| format!(" #{i}"));
        let text = format!(
            "{} · {} nonce {}{at}",
            decode::describe(entry),
            node.name_of(&item.author),
            item.nonce
        );
        for (n, line) in super::wrap(&text, width.saturating_sub(5))
            .into_iter()
            .enumerate()
        {
            let lead = if n == 0 {
                format!("   {mark} ")
            } else {
                " ".repeat(5)
            };
            lines.push(Line::from(vec![Span::styled(lead, style), Span::raw(line)]));
        }
        match result {
            Some(ItemOutcome::Rejected { reason }) => {
                let reason = format!("rejected: {reason}");
                lines.extend(indented(&reason, 7).map(|line| Line::styled(line, style)));
            }
            Some(ItemOutcome::Applied { effects }) => {
                for effect in effects {
                    let text = decode::describe_effect(effect);
                    lines.extend(
                        indented(&text, 7).map(|line| Line::styled(line, app.theme.accent())),
                    );
                }
            }
            None => {}
        }
    }
    if let Some(outcome) = outcome {
        lines.push(Line::raw(format!(
            " {} state entries changed; state root {}",
            outcome.changes.len(),
            outcome.state_root
        )));
    }
    let title = format!(" Block {} (Esc back) ", header.height);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
