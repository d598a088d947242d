//! A tracing layer that forwards the node's log lines to admin subscribers as
//! `AdminEvent::Log`, so the console shows the same lines as the node's log file.
//!
//! The subscriber is installed once per process before the node exists, so the layer finds
//! the node's event hub through a process-wide cell that `run` fills. Until then, and whenever
//! nobody subscribes, a log line costs one atomic load here.

use std::fmt::Write as _;
use std::sync::OnceLock;

use bfte_shared::admin::{AdminEvent, LogLevel};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

use super::events::EventHub;

static HUB: OnceLock<EventHub> = OnceLock::new();

/// Sends this process's log lines to `hub`'s subscribers from now on (the first hub wins).
pub fn forward_logs_to(hub: &EventHub) {
    let _ = HUB.set(hub.clone());
}

/// The layer to add to the process's tracing subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogTap;

impl<S: tracing::Subscriber> Layer<S> for LogTap {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let Some(hub) = HUB.get() else { return };
        if !hub.is_watched() {
            return;
        }
        let metadata = event.metadata();
        let mut line = Line(format!("{}: ", metadata.target()));
        event.record(&mut line);
        hub.publish(AdminEvent::Log {
            level: level(metadata.level()),
            line: line.0,
        });
    }
}

fn level(level: &tracing::Level) -> LogLevel {
    match *level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        tracing::Level::TRACE => LogLevel::Trace,
    }
}

/// Formats like the fmt layer without colours: the message, then `field=value` pairs.
struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
