//! Overview: where consensus is, how fast blocks finalize and in how long, who votes against
//! the quorum, every peer's connection and vote latency, the replicas this node serves and the
//! alerts. A replica's overview is its replication instead (`replication.rs`).

use bfte_shared::admin::PeerInfo;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table};

use super::labels::distinct_labels;
use super::{alerts, rate_chart, replication, served};
use crate::app::App;
use crate::state::{FIGURES_WINDOW_MS, KEPT_ROUNDS};

/// Closed rounds over which missed votes are counted.
const MISSED_WINDOW: usize = 50;
/// Recent rounds over which a peer's vote latency is the median.
const LATENCY_WINDOW: usize = 50;
const NAME_COLUMN: u16 = 11;
/// From this body height on, the consensus box shows every field (below it, the first six).
const TALL: u16 = 30;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let status = app.node.status.as_ref();
    if let Some((status, replication)) = status.and_then(|s| s.replication.as_ref().map(|r| (s, r)))
    {
        replication::draw(frame, area, app, status, replication);
        return;
    }
    let serving = status.map_or(0, |s| s.serving.len());
    let peers_height = u16::try_from(app.node.peers.len() + 3).unwrap_or(u16::MAX);
    let top_height = if area.height >= TALL { 10 } else { 8 };
    let [top, alert, rest] = Layout::vertical([
        Constraint::Length(top_height),
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
    // The alerts take what the peers and the replicas leave.
    let [peers, served, alert_list] = Layout::vertical([
        Constraint::Length(peers_height.min(rest.height.saturating_sub(served_height))),
        Constraint::Length(served_height),
        Constraint::Min(0),
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
    if alert_list.height >= 3 {
        alerts::draw(frame, alert_list, app);
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
        Some(status) => {
            let figures = node.finality_summary();
            let ms = |ms: Option<u64>| ms.map_or("-".to_string(), |ms| format!("{ms} ms"));
            vec![
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
                field("lag", lag(app)),
                field(
                    "finality",
                    format!("p50 {} · p99 {}", ms(figures.p50_ms), ms(figures.p99_ms)),
                ),
                field(
                    "dummies",
                    figures.dummy_percent().map_or("-".into(), |percent| {
                        format!("{percent}% of {} rounds", figures.rounds)
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
            ]
        }
    };
    // The finality figures' window, in the title so the lines stay short.
    let title = format!(
        " Consensus (figures: last {} min) ",
        FIGURES_WINDOW_MS / 60_000
    );
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// Rounds since the last finalized block, and how long the node has waited for one with work
/// pending, which grows through a stall even when rounds stop advancing.
fn lag(app: &App) -> String {
    let node = &app.node;
    let rounds = node.finality_lag().map_or("-".into(), |lag| {
        format!("{lag} round{}", if lag == 1 { "" } else { "s" })
    });
    match node.status.as_ref().map_or(0, |s| s.finality_wait_ms) {
        0 => rounds,
        waited => format!("{rounds} · waiting {} s", waited / 1000),
    }
}

fn draw_rates(frame: &mut Frame, area: Rect, app: &App) {
    let items_height = if area.height >= 10 { 4 } else { 3 };
    let [blocks, items] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(items_height)]).areas(area);
    rate_chart::draw(frame, blocks, app);
    frame.render_widget(
        Sparkline::default()
            .block(Block::default().borders(Borders::ALL).title(" Items/s "))
            .data(app.node.rates.items())
            .style(app.theme.accent()),
        items,
    );
}

/// One line: whether finality keeps up, and who votes against the quorum needed.
fn draw_alert(frame: &mut Frame, area: Rect, app: &App) {
    let node = &app.node;
    let voting = node.voting();
    let quorum = voting.as_ref().map(|v| v.sentence(|id| node.name_of(id)));
    let line = if let Some(stall) = node.stall() {
        let why = match (&quorum, voting.as_ref().is_some_and(|v| !v.has_quorum())) {
            // Without a quorum nothing can finalize: that is the cause.
            (Some(quorum), true) => quorum.clone(),
            (Some(quorum), false) => format!("{quorum}; {}", stall.describe()),
            (None, _) => stall.describe(),
        };
        Span::styled(format!(" ⚠ FINALITY STALLED: {why}"), app.theme.bad())
    } else if node.finality_lag().is_some() {
        // Idle, nobody votes: the count would only alarm.
        let busy = node
            .status
            .as_ref()
            .is_some_and(|s| s.pending_items > 0 || s.finality_wait_ms > 0);
        let text = match quorum.filter(|_| busy) {
            Some(quorum) => format!(" ✓ finality keeping up · {quorum}"),
            None => " ✓ finality keeping up".into(),
        };
        Span::styled(text, app.theme.good())
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
                node.rounds
                    .vote_latency_ms(&peer.id, LATENCY_WINDOW)
                    .map_or("-".to_string(), |ms| format!("{ms} ms")),
            ),
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
        "VOTE LAT",
        "LAST VOTE",
        "MISSED",
    ])
    .style(app.theme.title());
    let title = format!(
        " Peers (vote lat: median from round start; missed: of the last {window} closed rounds) "
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(NAME_COLUMN),
            Constraint::Length(8),
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(6),
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
