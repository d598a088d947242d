//! Overview: where consensus is, how fast blocks finalize, every peer's connection and the
//! replicas this node serves. A replica's overview is its replication instead
//! (`replication.rs`).

use bfte_shared::admin::PeerInfo;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table};

use super::labels::distinct_labels;
use super::{replication, served};
use crate::app::App;
use crate::state::{KEPT_ROUNDS, STALL_ROUNDS, STALL_SECS, Stall, WINDOW_SECS};

/// Closed rounds over which missed votes are counted.
const MISSED_WINDOW: usize = 50;
const NAME_COLUMN: u16 = 14;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let status = app.node.status.as_ref();
    if let Some((status, replication)) = status.and_then(|s| s.replication.as_ref().map(|r| (s, r)))
    {
        replication::draw(frame, area, app, status, replication);
        return;
    }
    let serving = status.map_or(0, |s| s.serving.len());
    let peers_height = u16::try_from(app.node.peers.len() + 3).unwrap_or(u16::MAX);
    let [top, alert, rest] = Layout::vertical([
        Constraint::Length(8),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    // The served replicas only when there are any, in what the peers leave (every peer shows
    // first: a peer down matters more), with at least one row.
    let served_height = match serving {
        0 => 0,
        count => u16::try_from(count + 3)
            .unwrap_or(u16::MAX)
            .min(10)
            .min(rest.height.saturating_sub(peers_height))
            .max(4),
    };
    let [peers, served] = Layout::vertical([
        Constraint::Min(peers_height.min(5)),
        Constraint::Length(served_height),
    ])
    .areas(rest);
    let [consensus, rates] =
        Layout::horizontal([Constraint::Length(44), Constraint::Min(20)]).areas(top);
    draw_consensus(frame, consensus, app);
    draw_rates(frame, rates, app);
    draw_alert(frame, alert, app);
    draw_peers(frame, peers, app);
    if let Some(status) = status.filter(|s| !s.serving.is_empty()) {
        served::draw(frame, served, app, status);
    }
}

fn draw_consensus(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<11}"), app.theme.dim()),
            Span::raw(value),
        ])
    };
    let lines = match &node.status {
        None => vec![Line::raw(" waiting for the node ...")],
        Some(status) => vec![
            field("round", status.round.to_string()),
            field(
                "leader",
                format!(
                    "{} ({})",
                    node.name_of(&status.leader),
                    status.leader.short()
                ),
            ),
            field("finalized", format!("height {}", status.finalized_height)),
            field(
                "lag",
                node.finality_lag().map_or("-".into(), |lag| {
                    format!("{lag} round{}", if lag == 1 { "" } else { "s" })
                }),
            ),
            field(
                "this node",
                format!("{} ({})", status.peer_id.short(), status.role),
            ),
            field(
                "peers",
                format!(
                    "{} of {} connected",
                    node.peers.iter().filter(|p| p.connected).count(),
                    node.peers.len()
                ),
            ),
        ],
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Consensus ")),
        area,
    );
}

fn draw_rates(frame: &mut Frame, area: Rect, app: &App) {
    let [blocks, items] =
        Layout::vertical([Constraint::Length(4), Constraint::Length(4)]).areas(area);
    let rates = &app.node.rates;
    let title = format!(
        " Blocks/s, last {WINDOW_SECS} s of activity (avg {:.1}) ",
        rates.blocks_per_sec()
    );
    frame.render_widget(
        Sparkline::default()
            .block(Block::default().borders(Borders::ALL).title(title))
            .data(rates.blocks())
            .style(app.theme.accent()),
        blocks,
    );
    frame.render_widget(
        Sparkline::default()
            .block(Block::default().borders(Borders::ALL).title(" Items/s "))
            .data(rates.items())
            .style(app.theme.accent()),
        items,
    );
}

fn draw_alert(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let line = if let Some(stall) = node.stall() {
        let why = match stall {
            Stall::Rounds(lag) => {
                format!("{lag} rounds passed without a finalized block (alert at {STALL_ROUNDS})")
            }
            Stall::Seconds(secs) => format!(
                "peers kept voting for {secs} s without a finalized block (alert at {STALL_SECS} s)"
            ),
        };
        Span::styled(
            format!(" ⚠ FINALITY STALLED: {why}; check peers and the log"),
            app.theme.bad(),
        )
    } else if node.finality_lag().is_some() {
        Span::styled(" ✓ finality keeping up", app.theme.good())
    } else {
        Span::styled(" · no block finalized yet", app.theme.dim())
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_peers(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let window = MISSED_WINDOW.min(KEPT_ROUNDS);
    // This node first, then by name: the order an operator scans in.
    let mut peers: Vec<&PeerInfo> = node.peers.iter().collect();
    peers.sort_by(|a, b| b.is_self.cmp(&a.is_self).then_with(|| a.name.cmp(&b.name)));
    let names: Vec<String> = peers.iter().map(|peer| node.name_of(&peer.id)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let labels = distinct_labels(&names, usize::from(NAME_COLUMN));
    let rows = peers.into_iter().zip(labels).map(|(peer, label)| {
        let (state, style) = peer_state(peer, app);
        Row::new(vec![
            Cell::from(label),
            Cell::from(peer.id.short()),
            Cell::from(state).style(style),
            Cell::from(peer.path.map_or("-", |p| p.as_str())),
            Cell::from(peer.rtt_us.map_or("-".to_string(), |us| {
                format!("{:.1} ms", us as f64 / 1000.0)
            })),
            Cell::from(
                peer.last_vote_round
                    .map_or("-".to_string(), |round| round.to_string()),
            ),
            Cell::from(node.rounds.missed_votes(&peer.id, window).to_string()),
        ])
    });
    let header = Row::new(vec![
        "NAME",
        "ID",
        "STATE",
        "PATH",
        "RTT",
        "LAST VOTE",
        "MISSED",
    ])
    .style(app.theme.title());
    let title = format!(" Peers (missed: votes absent in the last {window} closed rounds) ");
    let table = Table::new(
        rows,
        [
            Constraint::Length(NAME_COLUMN),
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(7),
        ],
    )
    .header(header)
    .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, area);
}

fn peer_state(peer: &PeerInfo, app: &App) -> (&'static str, ratatui::style::Style) {
    match (peer.is_self, peer.connected) {
        (true, _) => ("★ this node", app.theme.accent()),
        (false, true) => ("● connected", app.theme.good()),
        (false, false) => ("○ disconnected", app.theme.bad()),
    }
}
