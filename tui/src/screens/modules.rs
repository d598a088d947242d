//! Modules: the built-in modules on the left with their entry counts, the selected module's
//! state on the right (metadata with pending proposals, attested statements, proven
//! misbehaviour, the peer set history and proposals of consensus_ctrl). Enter moves the keys
//! into the table, Esc back to the list.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use crate::app::App;
use crate::state::{MetaRow, ModuleTab, ModuleTables, StatementRow, status_text};

const LIST_WIDTH: u16 = 22;

/// The selected module's rows as cells, after the filter (any cell containing it).
pub fn rows(app: &App) -> Vec<Vec<String>> {
    let Some(tables) = &app.node.modules.tables else {
        return Vec::new();
    };
    let needle = app.views.modules.filter.to_lowercase();
    let keep = |cells: &Vec<String>| {
        needle.is_empty() || cells.iter().any(|c| c.to_lowercase().contains(&needle))
    };
    match app.selected_module() {
        ModuleTab::Data => Vec::new(),
        ModuleTab::Meta => tables.meta.iter().map(|row| meta_cells(app, row)).collect(),
        ModuleTab::Attest => tables.statements.iter().map(statement_cells).collect(),
        ModuleTab::Evidence => tables
            .proofs
            .iter()
            .map(|proof| {
                vec![
                    format!(
                        "✗ {} ({})",
                        app.node.name_of(&proof.offender),
                        proof.offender.short()
                    ),
                    proof.round.to_string(),
                    proof.kind.clone(),
                    "vote to remove".into(),
                ]
            })
            .collect(),
        ModuleTab::Ctrl => ctrl_cells(app, tables),
    }
    .into_iter()
    .filter(keep)
    .collect()
}

/// Each epoch with the peers it started with (until the next one started), then each proposal.
fn ctrl_cells(app: &App, tables: &ModuleTables) -> Vec<Vec<String>> {
    let epochs = tables.epochs.iter().enumerate().map(|(index, epoch)| {
        let names: Vec<String> = epoch
            .members
            .iter()
            .map(|m| app.node.name_of(&m.id))
            .collect();
        let until = tables.epochs.get(index + 1).map_or_else(
            || "✔ in force".to_string(),
            |next| format!("until height {}", next.start_height),
        );
        vec![
            format!("epoch {}", epoch.number),
            epoch.start_height.to_string(),
            format!("{} peers: {}", names.len(), names.join(", ")),
            until,
        ]
    });
    let proposals = tables.ctrl_proposals.iter().map(|proposal| {
        vec![
            format!("proposal {}", proposal.id),
            proposal.height.to_string(),
            super::governance::summary(app, proposal),
            status_text(&proposal.status),
        ]
    });
    epochs.chain(proposals).collect()
}

fn meta_cells(app: &App, row: &MetaRow) -> Vec<String> {
    // Proposals grouped by value, the most supported first, so a split vote reads at a glance.
    let mut by_value: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (peer, value) in &row.proposals {
        by_value
            .entry(value.as_str())
            .or_default()
            .push(app.node.name_of(peer));
    }
    let mut groups: Vec<_> = by_value.into_iter().collect();
    for (_, peers) in &mut groups {
        peers.sort();
    }
    groups.sort_by_key(|(_, peers)| std::cmp::Reverse(peers.len()));
    let pending = groups
        .iter()
        .map(|(value, peers)| format!("\"{value}\" by {}", peers.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        row.key.clone(),
        row.value
            .as_ref()
            .map_or_else(|| "— none agreed".into(), |v| format!("\"{v}\"")),
        if pending.is_empty() {
            "—".into()
        } else {
            pending
        },
    ]
}

fn statement_cells(row: &StatementRow) -> Vec<String> {
    vec![
        row.subject.clone(),
        row.claim.clone(),
        row.attesters.to_string(),
        row.final_at
            .map_or_else(|| "… pending".into(), |h| format!("✔ at height {h}")),
    ]
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    // Below this the list goes above the table, which then keeps every column and label.
    const SIDE_BY_SIDE: u16 = 100;
    let [list, table] = if area.width < SIDE_BY_SIDE {
        let rows = u16::try_from(ModuleTab::ALL.len() + 2).unwrap_or(u16::MAX);
        Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(area)
    } else {
        Layout::horizontal([Constraint::Length(LIST_WIDTH), Constraint::Min(0)]).areas(area)
    };
    draw_list(frame, list, app);
    draw_table(frame, table, app);
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let tables = app.node.modules.tables.as_ref();
    let lines: Vec<Line> = ModuleTab::ALL
        .iter()
        .enumerate()
        .map(|(index, module)| {
            let count = match (module, tables) {
                (ModuleTab::Data, _) => "no state".to_string(),
                (_, Some(tables)) => tables.count(*module).to_string(),
                (_, None) => "…".to_string(),
            };
            let selected = index == app.views.modules.module;
            let mark = if selected { "▶" } else { " " };
            let line = Line::raw(format!("{mark} {:<9}{count:>8}", module.name()));
            if selected && !app.views.modules.in_table {
                line.style(app.theme.selected())
            } else {
                line
            }
        })
        .collect();
    let title = if app.views.modules.in_table {
        " Modules "
    } else {
        " Modules (Enter) "
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App) {
    let module = app.selected_module();
    let modules = &app.node.modules;
    let Some(tables) = &modules.tables else {
        let text = match &modules.error {
            Some(error) => format!(" could not read module state: {error}"),
            None => " loading module state ...".into(),
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" State ")),
            area,
        );
        return;
    };
    let mut title = title(module, tables);
    if app.views.modules.in_table {
        title.push_str("· Esc back to the list ");
    }
    if !app.views.modules.filter.is_empty() {
        title.push_str(&format!(
            "· filter \"{}\" (Esc clears) ",
            app.views.modules.filter
        ));
    }
    if tables.undecoded > 0 {
        title.push_str(&format!("· {} entries did not decode ", tables.undecoded));
    }
    if let Some(error) = &modules.error {
        title.push_str(&format!("· refresh failed: {error} "));
    }
    let block = Block::default().borders(Borders::ALL).title(title);
    let (headers, widths): (&[&str], &[Constraint]) = match module {
        ModuleTab::Data => {
            let text = " data keeps no state: its items are opaque payloads, ordered and \
                finalized; the Blocks screen (3) shows them.";
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
                area,
            );
            return;
        }
        ModuleTab::Meta => (
            &["KEY", "AGREED VALUE", "PENDING PROPOSALS"],
            &[
                Constraint::Length(23),
                Constraint::Length(18),
                Constraint::Min(0),
            ],
        ),
        ModuleTab::Attest => (
            &["SUBJECT", "CLAIM", "ATTESTERS", "FINAL"],
            &[
                Constraint::Percentage(32),
                Constraint::Percentage(32),
                Constraint::Length(9),
                Constraint::Min(18),
            ],
        ),
        ModuleTab::Ctrl => (
            &["WHAT", "HEIGHT", "PEERS OR CHANGE", "STATUS"],
            &[
                Constraint::Length(12),
                Constraint::Length(7),
                Constraint::Min(30),
                Constraint::Length(24),
            ],
        ),
        ModuleTab::Evidence => (
            &["OFFENDER", "ROUND", "PROOF", "SUGGESTED"],
            &[
                Constraint::Length(24),
                Constraint::Length(8),
                Constraint::Min(28),
                Constraint::Length(14),
            ],
        ),
    };
    let height = usize::from(area.height.saturating_sub(3));
    let offset = super::scroll_offset(app.views.modules.cursor, height);
    let rows = rows(app)
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, cells)| {
            let row = Row::new(cells);
            if app.views.modules.in_table && index == app.views.modules.cursor {
                row.style(app.theme.selected())
            } else {
                row
            }
        });
    let table = Table::new(rows, widths.iter().copied())
        .header(Row::new(headers.iter().copied()).style(app.theme.title()))
        .block(block);
    frame.render_widget(table, area);
}

fn title(module: ModuleTab, tables: &ModuleTables) -> String {
    match module {
        ModuleTab::Data => " data: opaque payloads ".into(),
        ModuleTab::Meta => format!(
            " meta: a key takes a value once a quorum proposed it ({} keys, {} with pending proposals) ",
            tables.meta.len(),
            tables
                .meta
                .iter()
                .filter(|row| !row.proposals.is_empty())
                .count()
        ),
        ModuleTab::Attest => format!(
            " attest: statements ({} final of {}) ",
            tables
                .statements
                .iter()
                .filter(|s| s.final_at.is_some())
                .count(),
            tables.statements.len()
        ),
        ModuleTab::Evidence => format!(
            " evidence: proven misbehaviour, suggested: vote to remove ({}) ",
            tables.proofs.len()
        ),
        ModuleTab::Ctrl => format!(
            " consensus_ctrl: peer set history ({} epochs) and proposals ({}; screen 4 votes) ",
            tables.epochs.len(),
            tables.ctrl_proposals.len()
        ),
    }
}
