//! The node's log lines as they arrive, bounded, with the filter the Log screen applies.

use std::collections::VecDeque;

use bfte_shared::admin::LogLevel;

/// Lines kept.
pub const KEPT_LINES: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at_ms: u64,
    pub level: LogLevel,
    pub text: String,
}

impl LogLine {
    /// Case-insensitive match of the level and the text; `needle` is already lower case.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || self.text.to_lowercase().contains(needle)
            || self.level.as_str().to_lowercase() == needle
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    lines: VecDeque<LogLine>,
}

impl Log {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() >= KEPT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// Oldest first, only those matching `filter`.
    pub fn filtered<'a>(&'a self, filter: &str) -> impl Iterator<Item = &'a LogLine> + 'a {
        let needle = filter.to_lowercase();
        self.lines.iter().filter(move |line| line.matches(&needle))
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}
