#![doc = include_str!("../README.md")]

pub mod app;
pub mod client;
pub mod decode;
pub mod fixture;
pub mod keys;
mod runner;
pub mod screens;
pub mod state;
mod terminal;
pub mod theme;

use std::path::PathBuf;

use tokio::sync::mpsc;

pub use runner::{MAX_FPS, event_loop};

/// Where the console connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// The node's admin socket (`<data-dir>/admin.sock`, or `admin-ro.sock` to only watch).
    pub socket: PathBuf,
}

/// Runs the console in this terminal until the user quits. Needs a tokio runtime.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let (updates_tx, updates) = mpsc::channel(4096);
    let (requests, requests_rx) = mpsc::channel(16);
    let connection = tokio::spawn(client::run(options.socket.clone(), updates_tx, requests_rx));
    let mut app = app::App::new(options.socket, theme::Theme::from_env());
    let mut console = terminal::enter()?;
    let input = crossterm::event::EventStream::new();
    let outcome = event_loop(&mut console, &mut app, input, updates, requests).await;
    terminal::restore();
    connection.abort();
    outcome.map(|_frames| ())
}
