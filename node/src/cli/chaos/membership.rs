//! The membership change of a run, carried out through the admin sockets as operators would:
//! one node proposes removing a peer (its yes vote comes with it), the other honest nodes vote
//! yes as they can (a node under a fault is retried later), and once the removal passed the
//! peer is proposed and voted back in the same way.

use std::time::{Duration, Instant};

use anyhow::bail;
use bfte_node::chaos::MembershipChange;
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::modules::ctrl::{Change, Member, Proposal, ProposalStatus};

use super::nodes::Nodes;
use crate::cli::admin_client::AdminClient;

/// Longest a change may take from its proposal to passing.
pub(super) const VOTE_LIMIT: Duration = Duration::from_secs(60);

/// One change put to the vote.
#[derive(Debug)]
struct Vote {
    change: Change,
    started: Instant,
    /// Nodes whose yes vote (or proposal) was accepted.
    voted: Vec<bool>,
}

#[derive(Debug)]
enum Stage {
    Before,
    Removing(Vote),
    Out,
    Adding(Vote),
    Done,
}

#[derive(Debug)]
pub(super) struct Membership {
    plan: MembershipChange,
    stage: Stage,
    /// Changes that passed, with how long each took from proposal to passing.
    pub(super) passed: Vec<Duration>,
}

impl Membership {
    pub(super) fn new(plan: MembershipChange) -> Membership {
        Membership {
            plan,
            stage: Stage::Before,
            passed: Vec::new(),
        }
    }

    /// Moves the change on; `voters` are the nodes that can take admin writes now (up and
    /// honest). A change that did not pass within [`VOTE_LIMIT`] is an error.
    pub(super) fn advance(
        &mut self,
        nodes: &Nodes,
        since_start: Duration,
        voters: &[usize],
    ) -> anyhow::Result<()> {
        let peer = self.plan.peer;
        let voters: Vec<usize> = voters.iter().copied().filter(|&p| p != peer).collect();
        match &mut self.stage {
            Stage::Before if since_start >= self.plan.out => {
                tracing::info!(peer, "chaos: voting peer{peer} out");
                let change = Change::RemovePeer {
                    id: nodes.ids[peer],
                };
                self.stage = Stage::Removing(Vote::new(change, nodes.ids.len()));
            }
            Stage::Out if since_start >= self.plan.back => {
                tracing::info!(peer, "chaos: voting peer{peer} back in");
                let listen = nodes.dirs[peer].settings()?.listen;
                let change = Change::AddPeer(Member {
                    id: nodes.ids[peer],
                    name: format!("peer{peer}"),
                    addrs: vec![listen.to_string()],
                });
                self.stage = Stage::Adding(Vote::new(change, nodes.ids.len()));
            }
            Stage::Removing(vote) | Stage::Adding(vote) => {
                if vote.advance(nodes, &voters)? {
                    self.passed.push(vote.started.elapsed());
                    self.stage = match self.stage {
                        Stage::Removing(_) => Stage::Out,
                        _ => Stage::Done,
                    };
                } else if vote.started.elapsed() > VOTE_LIMIT {
                    bail!(
                        "the vote to {} did not pass within {} s",
                        vote.change.describe(),
                        VOTE_LIMIT.as_secs()
                    );
                }
            }
            Stage::Before | Stage::Out | Stage::Done => {}
        }
        Ok(())
    }

    pub(super) fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// Whether `peer` takes no submissions now: it is out of the federation, only following.
    pub(super) fn is_out(&self, peer: usize) -> bool {
        peer == self.plan.peer && matches!(self.stage, Stage::Out | Stage::Adding(_))
    }
}

impl Vote {
    fn new(change: Change, peers: usize) -> Vote {
        Vote {
            change,
            started: Instant::now(),
            voted: vec![false; peers],
        }
    }

    /// One round of proposing or voting; true once the change passed. A node that does not
    /// answer (under a fault, restarting) is tried again next time.
    fn advance(&mut self, nodes: &Nodes, voters: &[usize]) -> anyhow::Result<bool> {
        let Some(&first) = voters.first() else {
            return Ok(false);
        };
        if !self.voted.iter().any(|v| *v) {
            let request = AdminRequest::Propose {
                change: self.change.clone(),
            };
            if call(nodes, first, &request).is_ok() {
                self.voted[first] = true;
            }
            return Ok(false);
        }
        let Some(proposal) = voters.iter().find_map(|&p| self.find(nodes, p)) else {
            return Ok(false);
        };
        if matches!(proposal.status, ProposalStatus::Passed { .. }) {
            return Ok(true);
        }
        if let ProposalStatus::Rejected { .. } = proposal.status {
            bail!("the vote to {} was rejected", self.change.describe());
        }
        for &peer in voters {
            if self.voted[peer] {
                continue;
            }
            let request = AdminRequest::Vote {
                proposal: proposal.id,
                yes: true,
            };
            if call(nodes, peer, &request).is_ok() {
                self.voted[peer] = true;
            }
        }
        Ok(false)
    }

    /// The proposal of this change as `peer` has it, if it has it.
    fn find(&self, nodes: &Nodes, peer: usize) -> Option<Proposal> {
        let Ok(AdminResponse::Proposals(proposals)) = call(nodes, peer, &AdminRequest::Proposals)
        else {
            return None;
        };
        proposals
            .into_iter()
            .filter(|p| p.change == self.change)
            .max_by_key(|p| p.height)
    }
}

fn call(nodes: &Nodes, peer: usize, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
    AdminClient::connect(&nodes.dirs[peer])?.call(request)
}
