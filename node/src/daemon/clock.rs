//! The node's two clocks. Timers run on the monotonic one, so a wall clock stepped back (by an
//! operator or NTP) cannot delay a round; wall time stamps blocks, events and join requests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bfte_consensus::Now;

/// Milliseconds since the Unix epoch, as the machine's clock says (0 before 1970).
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The time the core is handed: monotonic milliseconds since the process started, and wall
/// time.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeClock {
    origin: Instant,
}

impl NodeClock {
    pub(super) fn start() -> NodeClock {
        NodeClock {
            origin: Instant::now(),
        }
    }

    pub(super) fn now(&self) -> Now {
        Now {
            monotonic_ms: self.origin.elapsed().as_millis() as u64,
            wall_ms: wall_ms(),
        }
    }

    /// When a timer the core set for `monotonic_ms` fires.
    pub(super) fn deadline(&self, monotonic_ms: u64) -> tokio::time::Instant {
        (self.origin + Duration::from_millis(monotonic_ms)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_as_far_from_now_as_the_core_asked() {
        let clock = NodeClock::start();
        let now = clock.now().monotonic_ms;
        let wait = clock.deadline(now + 5_000) - tokio::time::Instant::now();
        assert!(wait <= Duration::from_millis(5_000));
        assert!(wait > Duration::from_millis(4_000), "{wait:?}");
    }
}
