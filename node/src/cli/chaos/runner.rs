//! The run itself: faults applied on time, a steady submit load through the admin sockets of
//! the nodes that are up, each recovery timed, then the final wait for the federation to
//! finalize everything it accepted.

use std::thread;
use std::time::{Duration, Instant};

use bfte_node::chaos::{Accepted, FaultKind, Schedule};
use bfte_shared::admin::{AdminRequest, AdminResponse, Status};

#[cfg(feature = "chaos")]
use super::links::Links;
use super::membership::Membership;
use super::nodes::Nodes;
use crate::cli::admin_client::AdminClient;

/// How often recovering nodes are asked how far they are.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Longest a node may take, after its fault ended, to reach the height the others had then.
pub(super) const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// Longest the federation may take, after the last fault, to finalize everything it accepted.
pub(super) const FINAL_LIMIT: Duration = Duration::from_secs(60);

/// What the run did and saw, before the end checks.
#[derive(Debug, Default)]
pub(super) struct Observed {
    pub(super) kills: usize,
    pub(super) pauses: usize,
    pub(super) cuts: usize,
    pub(super) slow_links: usize,
    /// Membership changes that passed by vote, and the longest from proposal to passing.
    pub(super) membership_changes: usize,
    pub(super) longest_vote: Duration,
    pub(super) submitted: usize,
    pub(super) accepted: Vec<Accepted>,
    /// Recoveries that completed, and the longest of them.
    pub(super) recoveries: usize,
    pub(super) longest_recovery: Duration,
    /// From the last fault's end to every node agreeing on a tip with nothing pending.
    pub(super) final_recovery: Option<Duration>,
    pub(super) violations: Vec<String>,
}

/// A node whose fault ended, catching up.
#[derive(Debug)]
struct Recovery {
    peer: usize,
    since: Instant,
    target: u64,
}

/// One change to a node: a fault starting, or ending.
#[derive(Debug, Clone, Copy)]
struct Change {
    at: Duration,
    peer: usize,
    kind: FaultKind,
    starts: bool,
}

fn changes(schedule: &Schedule) -> Vec<Change> {
    let mut changes: Vec<Change> = schedule
        .faults
        .iter()
        .flat_map(|f| {
            let change = |at, starts| Change {
                at,
                peer: f.peer,
                kind: f.kind,
                starts,
            };
            [change(f.at, true), change(f.ends(), false)]
        })
        .collect();
    // A fault ending and the next one on the same node starting at the same moment: end first.
    changes.sort_by_key(|c| (c.at, c.starts));
    changes
}

pub(super) struct Runner<'a> {
    nodes: &'a mut Nodes,
    /// Whether each node is under a fault now.
    faulty: Vec<bool>,
    /// The Byzantine node, which gets no load and no recovery is awaited from.
    byzantine: Option<usize>,
    #[cfg(feature = "chaos")]
    links: Links,
    /// The membership change under way, until it is done or failed.
    membership: Option<Membership>,
    recovering: Vec<Recovery>,
    observed: Observed,
    next_submitter: usize,
    tag: u64,
}

impl<'a> Runner<'a> {
    pub(super) fn new(
        nodes: &'a mut Nodes,
        schedule: &Schedule,
        seed: u64,
        byzantine: Option<usize>,
    ) -> Runner<'a> {
        let peers = nodes.dirs.len();
        Runner {
            membership: schedule.membership.map(Membership::new),
            nodes,
            faulty: vec![false; peers],
            byzantine,
            #[cfg(feature = "chaos")]
            links: Links::new(peers),
            recovering: Vec::new(),
            observed: Observed::default(),
            next_submitter: 0,
            tag: seed,
        }
    }

    /// Runs the schedule for `run` with `load` items a second, then waits for the federation
    /// to settle.
    pub(super) fn run(
        mut self,
        schedule: &Schedule,
        run: Duration,
        load: f64,
        progress: &dyn Fn(&str),
    ) -> anyhow::Result<Observed> {
        let started = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / load.max(0.1));
        let mut pending = changes(schedule).into_iter().peekable();
        let mut next_submit = started;
        let mut next_poll = started;
        let mut next_progress = started;
        while started.elapsed() < run {
            while let Some(change) = pending.next_if(|c| started.elapsed() >= c.at) {
                self.apply(change)?;
            }
            let now = Instant::now();
            if now >= next_submit {
                self.submit_one();
                next_submit += interval;
            }
            if now >= next_poll {
                self.poll_recoveries()?;
                self.advance_membership(started.elapsed());
                next_poll = now + POLL_EVERY;
            }
            if now >= next_progress {
                progress(&format!(
                    "{:>4.0} s  kills {}  pauses {}  cuts {}  slow links {}  votes passed {}  \
                     accepted {}  recovering {}",
                    started.elapsed().as_secs_f64(),
                    self.observed.kills,
                    self.observed.pauses,
                    self.observed.cuts,
                    self.observed.slow_links,
                    self.observed.membership_changes,
                    self.observed.accepted.len(),
                    self.recovering.len()
                ));
                next_progress = now + Duration::from_secs(5);
            }
            let next_change = pending.peek().map(|c| started + c.at);
            let wake = [Some(next_submit), Some(next_poll), next_change]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now);
            thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
        // The schedule ends every fault by the end of the run; apply those due at its very end.
        for change in pending {
            self.apply(change)?;
        }
        let last_end = started + schedule.last_end();
        self.settle(started, last_end)?;
        Ok(self.observed)
    }

    fn apply(&mut self, change: Change) -> anyhow::Result<()> {
        let Change {
            peer, kind, starts, ..
        } = change;
        if starts {
            self.faulty[peer] = true;
            self.recovering.retain(|r| r.peer != peer);
            match kind {
                FaultKind::Kill => {
                    self.nodes.kill(peer)?;
                    self.observed.kills += 1;
                }
                FaultKind::Pause => {
                    self.nodes.pause(peer)?;
                    self.observed.pauses += 1;
                }
                FaultKind::Cut { .. } => {
                    self.set_link(peer, kind, true)?;
                    self.observed.cuts += 1;
                }
                FaultKind::Slow { .. } => {
                    self.set_link(peer, kind, true)?;
                    self.observed.slow_links += 1;
                }
            }
            tracing::info!(peer, ?kind, "fault starts");
            return Ok(());
        }
        match kind {
            FaultKind::Kill => self.nodes.restart(peer)?,
            FaultKind::Pause => self.nodes.resume(peer)?,
            FaultKind::Cut { .. } | FaultKind::Slow { .. } => self.set_link(peer, kind, false)?,
        }
        self.faulty[peer] = false;
        let target = self.highest_up(Some(peer));
        tracing::info!(peer, ?kind, target, "fault ends");
        self.recovering.push(Recovery {
            peer,
            since: Instant::now(),
            target,
        });
        Ok(())
    }

    /// Puts the link fault `kind` between `peer` and its other end, or takes it off.
    #[cfg(feature = "chaos")]
    fn set_link(&mut self, peer: usize, kind: FaultKind, on: bool) -> anyhow::Result<()> {
        use bfte_node::net::faults::LinkFault;
        let (other, fault) = match kind {
            FaultKind::Cut { other } => (
                other,
                LinkFault {
                    cut: true,
                    ..LinkFault::default()
                },
            ),
            FaultKind::Slow {
                other,
                delay_ms,
                loss_percent,
            } => (
                other,
                LinkFault {
                    cut: false,
                    delay: Duration::from_millis(delay_ms),
                    loss_percent,
                },
            ),
            FaultKind::Kill | FaultKind::Pause => return Ok(()),
        };
        self.links.set(self.nodes, peer, other, on.then_some(fault))
    }

    #[cfg(not(feature = "chaos"))]
    fn set_link(&mut self, _: usize, _: FaultKind, _: bool) -> anyhow::Result<()> {
        anyhow::bail!("link faults need a bfte built with `--features chaos`")
    }

    /// Moves the membership change on through the nodes that are up and honest; one that
    /// fails is a violation and is not pursued further.
    fn advance_membership(&mut self, since_start: Duration) {
        let Some(membership) = &mut self.membership else {
            return;
        };
        let voters: Vec<usize> = (0..self.faulty.len())
            .filter(|&p| !self.faulty[p] && Some(p) != self.byzantine)
            .collect();
        let advanced = membership.advance(self.nodes, since_start, &voters);
        self.observed.membership_changes = membership.passed.len();
        self.observed.longest_vote = membership.passed.iter().copied().max().unwrap_or_default();
        if let Err(error) = advanced {
            self.observed
                .violations
                .push(format!("membership: {error:#}"));
            self.membership = None;
        }
    }

    /// The highest finalized height among the nodes up now, other than `except`.
    fn highest_up(&self, except: Option<usize>) -> u64 {
        (0..self.faulty.len())
            .filter(|&p| !self.faulty[p] && Some(p) != except)
            .filter_map(|p| self.status(p).ok())
            .map(|s| s.finalized_height.0)
            .max()
            .unwrap_or(0)
    }

    fn status(&self, peer: usize) -> anyhow::Result<Status> {
        match AdminClient::connect(&self.nodes.dirs[peer])?.call(&AdminRequest::Status)? {
            AdminResponse::Status(status) => Ok(status),
            other => anyhow::bail!("peer{peer} answered a status request with {other:?}"),
        }
    }

    /// One item to the next node that is up. A node restarting, or one that refuses (its
    /// outbox is full), just does not accept it.
    fn submit_one(&mut self) {
        let peers = self.faulty.len();
        let Some(peer) = (0..peers)
            .map(|i| (self.next_submitter + i) % peers)
            .find(|&p| {
                !self.faulty[p]
                    && Some(p) != self.byzantine
                    && !self.membership.as_ref().is_some_and(|m| m.is_out(p))
            })
        else {
            return;
        };
        self.next_submitter = peer + 1;
        self.observed.submitted += 1;
        let request = AdminRequest::Submit {
            data: format!("chaos {} {}", self.tag, self.observed.submitted).into_bytes(),
        };
        let answer =
            AdminClient::connect(&self.nodes.dirs[peer]).and_then(|mut c| c.call(&request));
        match answer {
            Ok(AdminResponse::Submitted(receipt)) => self.observed.accepted.push(Accepted {
                node: peer,
                item: receipt.item,
            }),
            Ok(other) => tracing::warn!(peer, ?other, "unexpected answer to a submit"),
            Err(error) => tracing::debug!(peer, %error, "not accepted"),
        }
    }

    /// Ends each recovery whose node reached its target; one past [`RECOVERY_LIMIT`] is a
    /// liveness violation. A node that died by itself is one too.
    fn poll_recoveries(&mut self) -> anyhow::Result<()> {
        if let Some((peer, how)) = self.nodes.exited()? {
            anyhow::bail!(
                "peer{peer} exited by itself ({how}); see {}",
                self.nodes.dirs[peer].path().join("node.log").display()
            );
        }
        let mut still = Vec::new();
        for recovery in std::mem::take(&mut self.recovering) {
            let height = self.status(recovery.peer).map(|s| s.finalized_height.0);
            let waited = recovery.since.elapsed();
            if height.is_ok_and(|h| h >= recovery.target) {
                self.observed.recoveries += 1;
                self.observed.longest_recovery = self.observed.longest_recovery.max(waited);
            } else if waited > RECOVERY_LIMIT {
                self.observed.violations.push(format!(
                    "peer{} did not reach height {} within {} s of its fault's end",
                    recovery.peer,
                    recovery.target,
                    RECOVERY_LIMIT.as_secs()
                ));
            } else {
                still.push(recovery);
            }
        }
        self.recovering = still;
        Ok(())
    }

    /// After the last fault: one more item to every honest node, then waits until all honest
    /// nodes agree on a tip with nothing pending, so everything accepted is final everywhere.
    fn settle(&mut self, started: Instant, last_end: Instant) -> anyhow::Result<()> {
        let honest: Vec<usize> = (0..self.faulty.len())
            .filter(|&p| Some(p) != self.byzantine)
            .collect();
        for _ in &honest {
            self.submit_one();
        }
        loop {
            self.poll_recoveries()?;
            self.advance_membership(started.elapsed());
            let statuses: Vec<(usize, Option<Status>)> =
                honest.iter().map(|&p| (p, self.status(p).ok())).collect();
            let tip = statuses[0].1.as_ref().map(|s| s.finalized_height);
            let settled = statuses.iter().all(|(_, s)| {
                s.as_ref()
                    .is_some_and(|s| s.pending_items == 0 && Some(s.finalized_height) == tip)
            });
            let membership_done = self.membership.as_ref().is_none_or(Membership::is_done);
            if settled && self.recovering.is_empty() && membership_done {
                self.observed.final_recovery = Some(last_end.elapsed());
                return Ok(());
            }
            if last_end.elapsed() > FINAL_LIMIT {
                let heights: Vec<String> = statuses
                    .iter()
                    .map(|(p, s)| match s {
                        Some(s) => format!(
                            "peer{p} at {} with {} pending",
                            s.finalized_height, s.pending_items
                        ),
                        None => format!("peer{p} not answering"),
                    })
                    .collect();
                self.observed.violations.push(format!(
                    "the federation did not finalize everything{} within {} s of the last \
                     fault: {}",
                    if membership_done {
                        ""
                    } else {
                        " nor finish its membership change"
                    },
                    FINAL_LIMIT.as_secs(),
                    heights.join(", ")
                ));
                return Ok(());
            }
            thread::sleep(POLL_EVERY);
        }
    }
}
