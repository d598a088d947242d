//! What a node process uses, read from `/proc` and its data directory.

use std::fs;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::daemon::DataDir;

/// Kernel clock ticks per second in `/proc/PID/stat`: 100 on every Linux build we target
/// (`getconf CLK_TCK`), and reading it properly would need libc.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// A node's footprint at one moment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NodeUsage {
    /// Resident memory (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Size of the node's database file, bytes.
    pub db_bytes: u64,
    /// User plus system CPU time of all the node's threads since it started, seconds.
    pub cpu_seconds: f64,
}

impl NodeUsage {
    pub(super) fn read(pid: u32, dir: &DataDir) -> anyhow::Result<NodeUsage> {
        let db = dir.database_path();
        let db_bytes = fs::metadata(&db)
            .with_context(|| format!("cannot read the size of {}", db.display()))?
            .len();
        Ok(NodeUsage {
            rss_kib: rss_kib(pid)?,
            db_bytes,
            cpu_seconds: cpu_time(pid)?.as_secs_f64(),
        })
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .with_context(|| format!("{path} has no VmRSS line: is process {pid} gone?"))?;
    let kib = line.trim().trim_end_matches("kB").trim();
    kib.parse()
        .with_context(|| format!("{path}: cannot read VmRSS `{line}`"))
}

/// User plus system CPU time of process `pid` so far.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        bail!("{path} is not in the expected format");
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|field| field.parse().ok())
            .with_context(|| format!("{path}: no CPU time in field {}", index + 3))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 1000 / CLOCK_TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).expect("rss") > 0);
        cpu_time(pid).expect("cpu time");
    }
}
