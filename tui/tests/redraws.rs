//! The event loop draws only when something changed, coalesces bursts, and draws nothing while
//! the node is idle.

use std::time::Duration;

use bfte_shared::admin::{AdminEvent, EventFrame};
use bfte_shared::round::Round;
use bfte_tui::client::Update;
use bfte_tui::{event_loop, fixture};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

#[tokio::test]
async fn idle_means_no_redraws_and_bursts_coalesce() {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut app = fixture::app(4, 30);
    let (keys, keys_rx) = mpsc::unbounded_channel::<std::io::Result<Event>>();
    let input = futures_util::stream::unfold(keys_rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    })
    .boxed();
    let (updates, updates_rx) = mpsc::channel(4096);
    let (requests, _requests_rx) = mpsc::channel(16);
    let driver = tokio::spawn(async move {
        // A burst of 1,000 events, then a second of silence, then q.
        for round in 31..1031 {
            let event = AdminEvent::RoundStarted {
                round: Round(round),
                leader: fixture::peer(0),
            };
            let frame = EventFrame {
                at_ms: round,
                event,
            };
            updates
                .send(Update::Event(frame))
                .await
                .expect("loop alive");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        keys.send(Ok(Event::Key(q))).expect("loop alive");
        updates
    });
    let frames = event_loop(&mut terminal, &mut app, input, updates_rx, requests)
        .await
        .expect("event loop");
    let _updates = driver.await.expect("driver");
    // The first frame, plus a few for the burst (one per 33 ms frame slot at most); nothing
    // for the idle second, nothing for q (the loop quits before drawing).
    assert!((2..=5).contains(&frames), "{frames} frames");
    assert_eq!(app.node.status.as_ref().map(|s| s.round), Some(Round(1030)));
}
