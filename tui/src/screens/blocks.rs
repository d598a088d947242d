//! Blocks: finalized blocks newest first; Enter opens one (header, certificate signers,
//! items), Esc goes back.

use bfte_shared::admin::BlockDetail;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use crate::app::App;
use crate::state::BlockSummary;

/// Bytes of an item's data shown in the block view.
const PREVIEW_BYTES: usize = 48;

/// The blocks the list shows, newest first, after the filter (height, hash prefix or proposer).
pub fn visible(app: &App) -> impl Iterator<Item = &BlockSummary> {
    let needle = app.blocks_filter.to_lowercase();
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
    let offset = super::scroll_offset(app.blocks_cursor, visible_rows);
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
            if index == app.blocks_cursor {
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
    if !app.blocks_filter.is_empty() {
        title.push_str(&format!("filter \"{}\" (Esc clears) ", app.blocks_filter));
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
    lines.push(Line::styled(
        format!(" Items ({})", detail.block.payload.items.len()),
        app.theme.title(),
    ));
    for item in &detail.block.payload.items {
        lines.push(Line::raw(format!(
            "   module {} · {} nonce {} · {} bytes · {}",
            item.module.0,
            node.name_of(&item.author),
            item.nonce,
            item.data.len(),
            preview(&item.data)
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

/// Item data as text when it is printable, hex otherwise; decoding per module comes with the
/// ledger's modules.
fn preview(data: &[u8]) -> String {
    let head = &data[..data.len().min(PREVIEW_BYTES)];
    let more = if data.len() > PREVIEW_BYTES {
        "…"
    } else {
        ""
    };
    match std::str::from_utf8(head) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("\"{text}\"{more}"),
        _ => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}{more}")
        }
    }
}
