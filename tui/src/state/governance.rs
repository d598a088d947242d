//! Governance as the Governance and Joins screens show it: the consensus_ctrl proposals, the
//! join requests this node holds and the epoch in force, read together once through the admin
//! `Proposals`, `Joins` and `Epoch` calls and then kept up to date from the events, which carry
//! the changed values; and what a vote would do to a proposal.

use bfte_shared::admin::{AdminEvent, MAX_PROPOSALS};
use bfte_shared::join::PendingJoin;
use bfte_shared::modules::ctrl::{Change, EpochConfig, Proposal, ProposalId, ProposalStatus};
use bfte_shared::peer::PeerId;

/// One answer to the three calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceData {
    /// Newest first.
    pub proposals: Vec<Proposal>,
    pub joins: Vec<PendingJoin>,
    pub epoch: EpochConfig,
}

impl GovernanceData {
    pub fn proposal(&self, id: ProposalId) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.id == id)
    }

    pub fn join(&self, peer: &PeerId) -> Option<&PendingJoin> {
        self.joins.iter().find(|j| j.member.id == *peer)
    }

    /// The open proposal to add `peer`: approving its join request votes yes on it.
    pub fn open_addition(&self, peer: &PeerId) -> Option<&Proposal> {
        self.proposals.iter().find(|p| {
            p.status == ProposalStatus::Open
                && matches!(&p.change, Change::AddPeer(member) if member.id == *peer)
        })
    }

    pub fn tally(&self, proposal: &Proposal) -> Tally {
        Tally::of(proposal, &self.epoch)
    }

    /// Puts what a governance event says into the data; `false` for any other event.
    fn apply(&mut self, event: &AdminEvent) -> bool {
        match event {
            AdminEvent::ProposalChanged { proposal } => {
                self.proposals.retain(|p| p.id != proposal.id);
                let at = self.proposals.partition_point(|p| p.id > proposal.id);
                self.proposals.insert(at, proposal.clone());
                self.proposals.truncate(MAX_PROPOSALS);
            }
            AdminEvent::JoinRequested { join } => {
                // A new request from the same peer replaces its earlier one, as the node does.
                self.joins.retain(|j| j.member.id != join.member.id);
                self.joins.push(join.clone());
            }
            AdminEvent::JoinClosed { peer, .. } => self.joins.retain(|j| j.member.id != *peer),
            AdminEvent::EpochStarted { epoch } => self.epoch = epoch.clone(),
            _ => return false,
        }
        true
    }
}

/// The Governance and Joins screens' data and whether a read is under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Governance {
    /// `None` until the first answer.
    pub data: Option<GovernanceData>,
    /// Why the last read failed, until one succeeds.
    pub error: Option<String>,
    /// A read is with the connection task.
    pub pending: bool,
    /// The node's governance changed (an event, a reconnect) since the last read was asked for.
    pub stale: bool,
}

impl Governance {
    /// Applies a governance event to the data in place; `true` when that changed what the
    /// screens show. With no data yet, or a read out (its answer may predate the event and
    /// would undo it), the data is marked stale instead, so that one more read follows.
    pub fn apply(&mut self, event: &AdminEvent) -> bool {
        match &mut self.data {
            Some(data) if !self.pending => data.apply(event),
            _ => {
                self.stale = true;
                false
            }
        }
    }
}

/// A proposal's votes counted the way consensus_ctrl counts them: only peers in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub yes: usize,
    pub no: usize,
    /// Peers in force.
    pub peers: usize,
    /// Yes votes that pass the change.
    pub quorum: usize,
}

impl Tally {
    pub fn of(proposal: &Proposal, epoch: &EpochConfig) -> Tally {
        let counted = |yes: bool| {
            proposal
                .votes
                .iter()
                .filter(|(voter, vote)| *vote == yes && epoch.member(voter).is_some())
                .count()
        };
        Tally {
            yes: counted(true),
            no: counted(false),
            peers: epoch.members.len(),
            quorum: quorum(epoch),
        }
    }

    pub fn not_yet(self) -> usize {
        self.peers.saturating_sub(self.yes + self.no)
    }

    /// Yes votes still missing for the change to pass.
    pub fn missing(self) -> usize {
        self.quorum.saturating_sub(self.yes)
    }

    /// So many peers in force voted no that a quorum of yes votes is impossible.
    pub fn rejects(self) -> bool {
        self.peers.saturating_sub(self.no) < self.quorum
    }

    /// The tally once a peer in force whose latest vote was `earlier` votes `yes`.
    pub fn with_vote(mut self, earlier: Option<bool>, yes: bool) -> Tally {
        match earlier {
            Some(true) => self.yes -= 1,
            Some(false) => self.no -= 1,
            None => {}
        }
        if yes {
            self.yes += 1;
        } else {
            self.no += 1;
        }
        self
    }

    /// "3 yes, 1 no, 1 not yet of 5 peers in force; 4 yes needed".
    pub fn describe(self) -> String {
        format!(
            "{} yes, {} no, {} not yet of {} peers in force; {} yes needed",
            self.yes,
            self.no,
            self.not_yet(),
            self.peers,
            self.quorum
        )
    }
}

/// Yes votes of peers in force that pass a change.
pub fn quorum(epoch: &EpochConfig) -> usize {
    // A damaged member list has no quorum; every peer is the safe number to show.
    epoch
        .peer_set()
        .map_or(epoch.members.len(), |set| set.quorum())
}

/// What `voter` voting `yes` on `proposal` does, in one sentence.
pub fn consequence(proposal: &Proposal, epoch: &EpochConfig, voter: &PeerId, yes: bool) -> String {
    if epoch.member(voter).is_none() {
        return "this node is not a peer in force: its vote would not count".into();
    }
    let earlier = vote_of(proposal, voter);
    let word = if yes { "yes" } else { "no" };
    if earlier == Some(yes) {
        return format!("this node already voted {word}: voting again changes nothing");
    }
    let replacing = match earlier {
        Some(earlier) => format!(" (replacing its {})", if earlier { "yes" } else { "no" }),
        None => String::new(),
    };
    let after = Tally::of(proposal, epoch).with_vote(earlier, yes);
    if yes {
        let end = match after.missing() {
            0 => "the change passes".to_string(),
            1 => "1 more yes vote needed".to_string(),
            more => format!("{more} more yes votes needed"),
        };
        format!(
            "this vote{replacing} makes {} of {} needed: {end}",
            after.yes, after.quorum
        )
    } else if after.rejects() {
        format!(
            "this vote{replacing} makes {} no of {} peers: {} yes votes are no longer possible, the proposal is rejected",
            after.no, after.peers, after.quorum
        )
    } else {
        format!(
            "this vote{replacing} makes {} no of {} peers: the change can still pass ({} more yes needed)",
            after.no,
            after.peers,
            after.missing()
        )
    }
}

/// A peer's latest vote on a proposal.
pub fn vote_of(proposal: &Proposal, peer: &PeerId) -> Option<bool> {
    proposal
        .votes
        .iter()
        .find(|(voter, _)| voter == peer)
        .map(|(_, yes)| *yes)
}

/// "○ open", "✔ passed at height 40", "✗ rejected at height 44".
pub fn status_text(status: &ProposalStatus) -> String {
    match status {
        ProposalStatus::Open => "○ open".into(),
        ProposalStatus::Passed { height } => format!("✔ passed at height {height}"),
        ProposalStatus::Rejected { height } => format!("✗ rejected at height {height}"),
    }
}
