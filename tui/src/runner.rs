//! The event loop: keys and terminal events, updates from the node, and frames. The app is
//! updated synchronously; a frame is drawn only when something changed, at most
//! [`MAX_FPS`] times a second, coalescing everything that happened in between.

use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::App;
use crate::client::{Request, Update};

pub const MAX_FPS: u32 = 30;
const FRAME: Duration = Duration::from_millis(1000 / MAX_FPS as u64);

/// Runs until the user quits or the input ends; returns how many frames were drawn.
pub async fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: impl Stream<Item = std::io::Result<Event>> + Unpin,
    mut updates: mpsc::Receiver<Update>,
    requests: mpsc::Sender<Request>,
) -> anyhow::Result<u64>
where
    B::Error: Send + Sync + 'static,
{
    let mut dirty = true;
    let mut frames = 0u64;
    let mut last_frame: Option<Instant> = None;
    loop {
        let due = last_frame.map_or(Instant::now(), |at| at + FRAME);
        if dirty && Instant::now() >= due {
            terminal.draw(|frame| crate::screens::draw(frame, app))?;
            frames += 1;
            dirty = false;
            last_frame = Some(Instant::now());
        }
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    dirty |= app.on_key(key);
                }
                Some(Ok(Event::Resize(..))) => {
                    terminal.autoresize()?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(frames),
            },
            update = updates.recv() => match update {
                Some(update) => dirty |= app.update(update),
                None => anyhow::bail!("the connection task stopped"),
            },
            () = tokio::time::sleep_until(due), if dirty => {}
        }
        for request in app.take_requests() {
            // A full queue means the node is slow to answer; the user can ask again.
            let _ = requests.try_send(request);
        }
        if app.should_quit() {
            return Ok(frames);
        }
    }
}
