//! Render time per screen at 200x60 with 16 peers, 1,000 finalized blocks and a full log:
//! `cargo bench -p bfte-tui`. Each screen is drawn many times on ratatui's test backend (the
//! widgets, the buffer and the diff; no terminal I/O) and the mean and 99th percentile frame printed.
//! Frames are timed in the drawing thread's CPU time, not wall time: on a loaded machine the
//! wall clock also counts the time other processes held the core.

use std::time::Duration;

use bfte_shared::admin::{AdminEvent, EventFrame, LogLevel};
use bfte_tui::app::App;
use bfte_tui::client::Update;
use bfte_tui::fixture;
use bfte_tui::screens::{self, Screen};
use bfte_tui::state::KEPT_LINES;
use cpu_time::ThreadTime;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FRAMES: u32 = 300;
/// With a dummy round every seventh and every sixteenth, 1,250 rounds finalize 1,000 blocks.
const ROUNDS: u64 = 1_250;

fn loaded_app() -> App {
    let mut app = fixture::app(16, ROUNDS);
    for n in 0..KEPT_LINES as u64 {
        let event = AdminEvent::Log {
            level: LogLevel::Info,
            line: format!("bfte_node::daemon::node: finalized height={n} round={n} items=3"),
        };
        app.update(Update::Event(EventFrame { at_ms: n, event }));
    }
    app
}

/// Mean and 99th percentile of a frame, after a few frames to warm the layout cache.
fn measure(name: &str, app: &App) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut draw = || {
        let started = ThreadTime::now();
        terminal
            .draw(|frame| screens::draw(frame, app))
            .expect("draw");
        started.elapsed()
    };
    for _ in 0..10 {
        draw();
    }
    let mut times: Vec<Duration> = (0..FRAMES).map(|_| draw()).collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / FRAMES;
    let p99 = times[times.len() * 99 / 100];
    println!("{name:<14} mean {mean:>9.1?}  p99 {p99:>9.1?}");
    mean
}

fn main() {
    let mut app = loaded_app();
    println!(
        "200x60, {} peers, {} blocks, {} rounds kept, {} log lines, {FRAMES} frames each",
        app.node.peers.len(),
        app.node.blocks.len(),
        app.node.rounds.len(),
        app.node.log.len()
    );
    let mut slowest = Duration::ZERO;
    for screen in Screen::ALL {
        app.screen = screen;
        slowest = slowest.max(measure(screen.title(), &app));
    }
    app.screen = Screen::Blocks;
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let height = app.open_block().expect("a block to open");
    app.update(Update::Block(Box::new(fixture::block_detail(16, height.0))));
    let outcome = fixture::block_outcome(height.0);
    app.update(Update::Outcome(height, Some(Box::new(outcome))));
    slowest = slowest.max(measure("Block detail", &app));
    app.screen = Screen::Log;
    app.views.log.filter = "height=9".into();
    slowest = slowest.max(measure("Log filtered", &app));
    app.views.log.filter.clear();
    app.help = true;
    slowest = slowest.max(measure("Help", &app));
    println!("slowest screen: {slowest:.1?} of CPU per frame (target < 2 ms)");
}
