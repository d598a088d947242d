//! A simulated process's life: started from its disk and ledger through the driver step, fed
//! inputs in batches, crashed (after a commit, or at a scheduled moment) and restarted.

use std::time::Instant;

use rand::RngExt;

use super::byzantine::Byzantine;
use super::disk::Disk;
use super::events::Event;
use super::host::SimHost;
use super::invariants::Violation;
use super::ledger::ModelLedger;
use super::runner::Simulation;
use crate::driver::{Flow, StartCore, Step, Submissions};
use bfte_consensus::{CoreConfig, Input};
use bfte_shared::item::Entry;

/// Most finalized blocks one answer to a pull carries: smaller than the node's, so that
/// catching up takes several pulls.
const SERVE_LIMIT: usize = 64;

type SimStep = Step<Disk, ModelLedger>;

/// A simulated process: running its step, or down with only its disk and ledger left.
#[derive(Debug)]
pub(super) struct SimPeer {
    pub(super) step: Option<Box<SimStep>>,
    down: Option<(Disk, ModelLedger)>,
    pub(super) byzantine: Option<Byzantine>,
    /// Whether a `Flush` event is queued for the batch in progress.
    pub(super) flush_queued: bool,
    /// The batch's submissions, signed together at its `Flush` as the node does.
    pub(super) submissions: Submissions<()>,
}

impl SimPeer {
    /// The peer's disk, whether it is up or down.
    pub(super) fn disk(&self) -> Option<&Disk> {
        match (&self.step, &self.down) {
            (Some(step), _) => Some(step.store()),
            (None, Some((disk, _))) => Some(disk),
            (None, None) => None,
        }
    }

    /// A process not started yet, with its disk and ledger.
    pub(super) fn down(disk: Disk, ledger: ModelLedger, byzantine: Option<Byzantine>) -> SimPeer {
        SimPeer {
            step: None,
            down: Some((disk, ledger)),
            byzantine,
            flush_queued: false,
            submissions: Submissions::default(),
        }
    }
}

impl Simulation {
    /// How the peer's cores start: broken by the run's mutation if it is correct and one
    /// is set.
    fn start_core(&self, peer: usize) -> StartCore {
        #[cfg(test)]
        if let Some(mutation) = self.mutation.filter(|_| self.checker.is_correct(peer)) {
            return Box::new(move |config, restored, now| {
                bfte_consensus::Core::start_mutated(config, restored, now, Some(mutation))
            });
        }
        let _ = peer;
        crate::driver::start_core()
    }

    /// The process starts from its disk and ledger, as a node does: the step applies what
    /// is finalized and carries out the core's first output.
    pub(super) fn start_peer(&mut self, peer: usize) {
        let Some((disk, mut ledger)) = self.peers[peer].down.take() else {
            return;
        };
        ledger.release(disk.tip_height());
        let base = CoreConfig::new(
            &self.genesis,
            self.crypto.signers[peer].clone(),
            self.crypto.verifier.clone(),
        );
        let base = if disk.restored_from_backup.get() {
            base.sitting_out(self.rng.random())
        } else {
            base
        };
        let start = self.start_core(peer);
        let mut host = SimHost { sim: self, peer };
        match Step::start(base, start, disk, ledger, SERVE_LIMIT, &mut host) {
            Ok((step, flow)) => self.settle(peer, Box::new(step), Ok(flow)),
            // As a node that cannot start stays down; its disk is of no further use.
            Err(error) if self.checker.is_correct(peer) => {
                self.checker.violations.push(Violation::Stopped {
                    peer,
                    reason: format!("cannot start: {error:#}"),
                });
            }
            Err(_) => {}
        }
    }

    /// Runs `f` on the peer's step, if it is up, with the peer's host; then carries out
    /// what `f` decided: a crash after a commit, or a stop on an error. Returns whether the
    /// peer was up.
    pub(super) fn with_step(
        &mut self,
        peer: usize,
        f: impl FnOnce(&mut SimStep, &mut SimHost<'_>) -> anyhow::Result<Flow>,
    ) -> bool {
        let Some(mut step) = self.peers[peer].step.take() else {
            return false;
        };
        let mut host = SimHost { sim: self, peer };
        let started = Instant::now();
        let result = f(&mut step, &mut host);
        self.probe.spent(peer, started.elapsed());
        self.settle(peer, step, result);
        true
    }

    fn settle(&mut self, peer: usize, step: Box<SimStep>, result: anyhow::Result<Flow>) {
        match result {
            Ok(Flow::Go) => self.peers[peer].step = Some(step),
            Ok(Flow::Crash) => {
                self.peers[peer].step = Some(step);
                self.crash(peer);
                let restart = self.now + self.rng.random_range(10..1_000);
                self.schedule(restart, Event::Restart { peer });
            }
            Err(error) => {
                self.peers[peer].down = Some(step.into_parts());
                if self.checker.is_correct(peer) {
                    self.checker.violations.push(Violation::Stopped {
                        peer,
                        reason: format!("{error:#}"),
                    });
                }
            }
        }
    }

    /// Hands an input to the peer's step; the batch it joins ends at the next `Flush`.
    /// Returns whether the peer was up.
    pub(super) fn input(&mut self, peer: usize, input: Input) -> bool {
        let up = self.with_step(peer, |step, host| {
            step.handle(host, input);
            Ok(Flow::Go)
        });
        self.queue_flush(peer);
        up
    }

    /// Queues entries for the peer's batch, as the node's admin calls do; returns whether the
    /// peer was up.
    pub(super) fn submit_entries(&mut self, peer: usize, entries: Vec<Entry>) -> bool {
        if self.peers[peer].step.is_none() {
            return false;
        }
        self.peers[peer].submissions.queue(entries, ());
        self.queue_flush(peer);
        true
    }

    /// Ends the peer's batch: its submissions become one signed item, then the step flushes.
    pub(super) fn flush(&mut self, peer: usize) {
        self.peers[peer].flush_queued = false;
        let mut submissions = std::mem::take(&mut self.peers[peer].submissions);
        self.with_step(peer, |step, host| {
            submissions.sign(step, host);
            let flow = step.flush(host);
            clear_mark_past_floor(step);
            flow
        });
    }

    /// The down peer's disk goes back to its backup, marked; its items are owed no more.
    pub(super) fn restore_backup(&mut self, peer: usize) {
        let Some((disk, _)) = self.peers[peer].down.as_mut() else {
            return;
        };
        disk.restore_backup();
        self.restored |= 1 << peer;
        self.items
            .retain(|_, (_, _, counted, author)| *counted || *author != peer);
    }

    pub(super) fn queue_flush(&mut self, peer: usize) {
        let state = &mut self.peers[peer];
        let pending =
            state.step.as_ref().is_some_and(|s| s.has_pending()) || !state.submissions.is_empty();
        if !state.flush_queued && pending {
            state.flush_queued = true;
            self.schedule(self.now + self.scenario.batch_ms, Event::Flush { peer });
        }
    }

    /// The process dies: memory, timers, the batch in progress and the unsynced commits are
    /// gone; the disk and the ledger stay as of the last sync.
    pub(super) fn crash(&mut self, peer: usize) {
        let state = &mut self.peers[peer];
        // Submissions not yet signed die with the process: nobody heard they were accepted.
        state.submissions = Submissions::default();
        if let Some(step) = state.step.take() {
            self.stats.crashes += 1;
            let (mut disk, mut ledger) = step.into_parts();
            ledger.crash(&disk);
            disk.crash();
            state.down = Some((disk, ledger));
        }
    }
}

/// As the node does: the restored-from-backup mark goes once the finalized tip is above the
/// floor, where every round the lost votes can be in is final, and the cores of later epochs
/// sign from their start.
fn clear_mark_past_floor(step: &mut SimStep) {
    let core = step.core();
    let past = core
        .signs_only_above()
        .is_some_and(|floor| core.finalized_tip().1.round > floor);
    if past {
        step.store().restored_from_backup.set(false);
        step.stop_sitting_out();
    }
}
