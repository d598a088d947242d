//! The federation's `bfte run` processes: started as `bfte demo` starts them, then killed,
//! restarted, paused and resumed as the schedule says.

use std::path::Path;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bfte_node::chaos::byzantine::BYZANTINE_FILE;
use bfte_node::daemon::DataDir;
use bfte_shared::peer::PeerId;

use crate::cli::demo;

/// How long a node may take to flush and exit once asked to stop.
const STOP_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub(super) struct Nodes {
    pub(super) dirs: Vec<DataDir>,
    pub(super) ids: Vec<PeerId>,
    /// `None` while the node is killed.
    children: Vec<Option<Child>>,
}

impl Nodes {
    /// A fresh federation of `peers` nodes under `root`, all started; `byzantine` names a
    /// node and the behaviour it starts with (a build with the `chaos` feature obeys it).
    pub(super) fn start(
        root: &Path,
        peers: usize,
        byzantine: Option<(usize, &str)>,
    ) -> anyhow::Result<Nodes> {
        let dirs = demo::prepare(root, peers)?;
        if let Some((peer, behavior)) = byzantine {
            let path = dirs[peer].path().join(BYZANTINE_FILE);
            std::fs::write(&path, behavior)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let ids = dirs
            .iter()
            .map(|dir| Ok(dir.secret()?.peer_id()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let children = dirs
            .iter()
            .map(|dir| demo::spawn(dir).map(Some))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Nodes {
            dirs,
            ids,
            children,
        })
    }

    /// `kill -9`: no chance to flush anything.
    pub(super) fn kill(&mut self, peer: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.children[peer].take() {
            child
                .kill()
                .with_context(|| format!("cannot kill peer{peer}"))?;
            child
                .wait()
                .with_context(|| format!("cannot reap peer{peer}"))?;
        }
        Ok(())
    }

    /// Starts a killed node again from its data directory.
    pub(super) fn restart(&mut self, peer: usize) -> anyhow::Result<()> {
        if self.children[peer].is_none() {
            self.children[peer] = Some(demo::spawn(&self.dirs[peer])?);
        }
        Ok(())
    }

    pub(super) fn pause(&self, peer: usize) -> anyhow::Result<()> {
        self.signal(peer, "STOP")
    }

    pub(super) fn resume(&self, peer: usize) -> anyhow::Result<()> {
        self.signal(peer, "CONT")
    }

    /// Sends SIGSTOP or SIGCONT with the system's `kill`: std only sends SIGKILL, and the
    /// workspace forbids the unsafe call.
    fn signal(&self, peer: usize, signal: &str) -> anyhow::Result<()> {
        let Some(child) = &self.children[peer] else {
            bail!("peer{peer} is not running, so it cannot get SIG{signal}");
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .with_context(|| format!("cannot run `kill -{signal}` (is procps installed?)"))?;
        anyhow::ensure!(
            status.success(),
            "`kill -{signal}` on peer{peer} failed: {status}"
        );
        Ok(())
    }

    /// A node that exited by itself (a crash, or it stopped on an error) with how it ended.
    pub(super) fn exited(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        for (peer, child) in self.children.iter_mut().enumerate() {
            if let Some(child) = child
                && let Some(status) = child.try_wait()?
            {
                return Ok(Some((peer, status.to_string())));
            }
        }
        Ok(None)
    }

    /// Stops every node as Ctrl-C would (closing its standard input), killing any that has
    /// not exited within [`STOP_LIMIT`]; returns those that had to be killed.
    pub(super) fn stop(&mut self) -> Vec<usize> {
        for child in self.children.iter_mut().flatten() {
            drop(child.stdin.take());
        }
        let started = Instant::now();
        let mut killed = Vec::new();
        for (peer, slot) in self.children.iter_mut().enumerate() {
            let Some(mut child) = slot.take() else {
                continue;
            };
            while matches!(child.try_wait(), Ok(None)) && started.elapsed() < STOP_LIMIT {
                thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                killed.push(peer);
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        killed
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
