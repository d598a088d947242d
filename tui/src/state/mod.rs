//! What the console knows about the node, built from the admin API: a snapshot at connect,
//! then one event at a time. Applying an event never awaits and says whether anything
//! visible changed.

mod alerts;
mod blocks;
mod change;
mod figures;
mod governance;
mod log;
mod modules;
mod quorum;
mod rates;
mod rounds;

use bfte_shared::admin::{
    AdminEvent, EventFrame, FINALITY_STALL_MS, FinalizedBlock, PeerInfo, Status,
};
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;

pub use alerts::{Alert, AlertKind, Alerts, KEPT_ALERTS};
pub use blocks::{BlockSummary, Blocks, KEPT_BLOCKS};
pub use change::describe_change;
pub use figures::{FIGURES_WINDOW_MS, Figures, FinalitySummary};
pub use governance::{
    Governance, GovernanceData, Tally, consequence, quorum, status_text, vote_of,
};
pub use log::{KEPT_LINES, Log, LogLine};
pub use modules::{
    MetaRow, ModuleTab, ModuleTables, Modules, ProofRow, RawTables, StatementRow, TABLES,
};
pub use quorum::Voting;
pub use rates::{Rates, WINDOW_SECS};
pub use rounds::{KEPT_ROUNDS, Outcome, PeerMarks, RoundRow, Rounds};

/// Rounds without a finalized block after which the overview raises the stall alert.
pub const STALL_ROUNDS: u64 = 5;
/// Seconds of consensus activity (votes, rounds) without a finalized block after which the
/// overview raises the stall alert. This catches a lost quorum, where rounds stop advancing but
/// the node keeps re-sending its votes; an idle federation sends nothing and raises nothing.
pub const STALL_SECS: u64 = 10;

/// What a fresh connection loads before it follows events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub status: Status,
    pub peers: Vec<PeerInfo>,
    /// The most recent finalized blocks, oldest first.
    pub blocks: Vec<FinalizedBlock>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub status: Option<Status>,
    pub peers: Vec<PeerInfo>,
    pub rounds: Rounds,
    pub blocks: Blocks,
    pub log: Log,
    pub rates: Rates,
    pub figures: Figures,
    pub alerts: Alerts,
    pub modules: Modules,
    pub governance: Governance,
    /// Node time of the latest event: what the ages of join requests are measured against,
    /// so drawing needs no clock.
    pub last_event_ms: Option<u64>,
    /// Node time of the last finalized block, or of the first activity since connecting.
    quiet_since_ms: Option<u64>,
    /// Node time of the last vote, proposal, certificate or round seen.
    last_activity_ms: Option<u64>,
    /// Whether the last look found finality stalled: a change is an alert.
    stalled: bool,
}

/// Why the overview says finality is stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// The node has waited this many seconds with work pending and no block finalized.
    Waiting(u64),
    /// Rounds pass without finalizing.
    Rounds(u64),
    /// Peers keep voting, no block finalizes.
    Seconds(u64),
}

impl Stall {
    pub fn describe(self) -> String {
        match self {
            Stall::Waiting(secs) => format!(
                "no block finalized for {secs} s with work pending (alert at {} s)",
                FINALITY_STALL_MS / 1000
            ),
            Stall::Rounds(lag) => {
                format!("{lag} rounds passed without a finalized block (alert at {STALL_ROUNDS})")
            }
            Stall::Seconds(secs) => format!(
                "peers kept voting for {secs} s without a finalized block (alert at {STALL_SECS} s)"
            ),
        }
    }
}

impl NodeView {
    /// Starts over from a snapshot (a first connection or a node that restarted); the rounds,
    /// rates and log seen so far stay, they are history.
    pub fn load(&mut self, snapshot: Snapshot) {
        self.blocks.clear();
        for stored in &snapshot.blocks {
            self.blocks.push(BlockSummary::from_stored(stored));
        }
        self.status = Some(snapshot.status);
        // An epoch that started while disconnected shows only as another peer set.
        if !self.peers.is_empty() {
            let before: Vec<PeerId> = self.peers.iter().map(|p| p.id).collect();
            let after: Vec<PeerId> = snapshot.peers.iter().map(|p| p.id).collect();
            let (added, removed) = changed(&before, &after);
            if !added.is_empty() || !removed.is_empty() {
                self.rounds.epoch_changed(None, &added, &removed);
            }
        }
        self.peers = snapshot.peers;
        self.quiet_since_ms = None;
        self.last_activity_ms = None;
        // Events may have been missed while disconnected.
        self.governance.stale = true;
    }

    /// Takes the status read again; `false` when nothing changed. Events may have moved the
    /// round and the finalized height past what it says meanwhile: the newer values stay.
    pub fn reread(&mut self, mut status: Status) -> bool {
        if let Some(known) = &self.status {
            if known.round > status.round {
                status.round = known.round;
                status.leader = known.leader;
            }
            status.finalized_height = status.finalized_height.max(known.finalized_height);
        }
        if self.status.as_ref() == Some(&status) {
            return false;
        }
        self.status = Some(status);
        self.note_stall();
        true
    }

    /// Applies one event; `false` when it changed nothing the screens show.
    pub fn apply(&mut self, frame: &EventFrame) -> bool {
        let at = frame.at_ms;
        self.last_event_ms = self.last_event_ms.max(Some(at));
        if is_activity(&frame.event) {
            self.last_activity_ms = Some(at);
            self.quiet_since_ms.get_or_insert(at);
        }
        self.rates.advance(at);
        let changed = self.apply_event(at, &frame.event);
        self.note_stall();
        changed
    }

    fn apply_event(&mut self, at: u64, event: &AdminEvent) -> bool {
        match event {
            AdminEvent::RoundStarted { round, leader } => {
                if let Some(status) = &mut self.status {
                    status.round = status.round.max(*round);
                    status.leader = *leader;
                }
                self.rounds.started(*round, *leader, at);
            }
            AdminEvent::ProposalSeen {
                round, proposer, ..
            } => self.rounds.proposed(*round, *proposer, at),
            AdminEvent::VoteSeen {
                round,
                signer,
                kind,
            } => {
                self.rounds.voted(*round, *signer, *kind, at);
                if let Some(peer) = self.peers.iter_mut().find(|p| p.id == *signer) {
                    peer.last_vote_round = peer.last_vote_round.max(Some(*round));
                }
            }
            AdminEvent::Notarized { round, .. } => {
                self.rounds.ended(*round, Outcome::Notarized);
                self.figures.round_ended(at, false);
            }
            AdminEvent::DummyCertified { round, cause } => {
                self.rounds.dummy(*round, cause.clone());
                self.figures.round_ended(at, true);
            }
            AdminEvent::Finalized {
                height,
                round,
                block,
                proposer,
                items,
                ..
            } => {
                self.blocks.push(BlockSummary {
                    height: *height,
                    round: *round,
                    hash: *block,
                    proposer: *proposer,
                    items: *items,
                    at_ms: at,
                });
                if let Some(status) = &mut self.status {
                    status.finalized_height = status.finalized_height.max(*height);
                }
                if let Some(proposed) = self.rounds.get(*round).and_then(|r| r.proposed_ms) {
                    self.figures.finalized(at, proposed);
                }
                self.rounds.ended(*round, Outcome::Finalized);
                self.rates.finalized(at, *items);
                self.quiet_since_ms = Some(at);
            }
            AdminEvent::PeerConnected { peer } => self.set_connected(at, peer, true),
            AdminEvent::PeerLost { peer } => self.set_connected(at, peer, false),
            AdminEvent::Evidence {
                offender,
                round,
                what,
            } => self.alerts.push(
                at,
                AlertKind::Evidence {
                    offender: *offender,
                    round: *round,
                    what: what.clone(),
                },
            ),
            AdminEvent::Log { level, line } => self.log.push(LogLine {
                at_ms: at,
                level: *level,
                text: line.clone(),
            }),
            AdminEvent::DroppedSlow { .. } => return false,
            AdminEvent::EpochStarted { epoch } => {
                self.alerts.push(
                    at,
                    AlertKind::Epoch {
                        number: epoch.number,
                        start_height: epoch.start_height.0,
                        peers: epoch.members.len(),
                    },
                );
                self.epoch_started(epoch);
                self.governance.apply(event);
            }
            AdminEvent::JoinRequested { .. }
            | AdminEvent::JoinClosed { .. }
            | AdminEvent::ProposalChanged { .. } => return self.governance.apply(event),
        }
        true
    }

    /// Records a stall starting or ending in the alert list, at the node time last seen.
    fn note_stall(&mut self) {
        let stall = self.stall();
        if stall.is_some() == self.stalled {
            return;
        }
        self.stalled = stall.is_some();
        let at = self.last_event_ms.unwrap_or(0);
        let kind = match stall {
            Some(stall) => AlertKind::Stalled(stall.describe()),
            None => AlertKind::Recovered,
        };
        self.alerts.push(at, kind);
    }

    /// A new epoch starts from the block at its start height: the old epoch's blocks above it
    /// left the chain (the new epoch finalizes those heights again), and the round grid learns
    /// whose membership changed, against the peer set known before: the epoch in force if
    /// governance was read, else the peers listed.
    fn epoch_started(&mut self, epoch: &EpochConfig) {
        let start = epoch.start_height;
        let first = self.blocks.round_at(start).map(|round| round.next());
        self.blocks.truncate_above(start);
        if let Some(status) = &mut self.status {
            status.finalized_height = status.finalized_height.min(start);
        }
        let before: Vec<PeerId> = match &self.governance.data {
            Some(data) => data.epoch.members.iter().map(|m| m.id).collect(),
            None => self.peers.iter().map(|p| p.id).collect(),
        };
        let after: Vec<PeerId> = epoch.members.iter().map(|m| m.id).collect();
        let (added, removed) = changed(&before, &after);
        self.rounds.epoch_changed(first, &added, &removed);
    }

    fn set_connected(&mut self, at: u64, peer: &PeerId, up: bool) {
        if let Some(info) = self.peers.iter_mut().find(|p| p.id == *peer) {
            if info.connected != up {
                let kind = if up {
                    AlertKind::Reconnected(*peer)
                } else {
                    AlertKind::Disconnected(*peer)
                };
                self.alerts.push(at, kind);
            }
            info.connected = up;
            if !up {
                info.path = None;
                info.rtt_us = None;
            }
        }
    }

    /// A peer's name: the one consensus records for a peer in force, else the one the node
    /// reports (founding peers may have no recorded name), else its short id.
    pub fn name_of(&self, id: &PeerId) -> String {
        let member = self.governance.data.as_ref().and_then(|data| {
            data.epoch
                .member(id)
                .filter(|m| !m.name.is_empty())
                .map(|m| m.name.clone())
        });
        member
            .or_else(|| {
                self.peers
                    .iter()
                    .find(|p| p.id == *id && !p.name.is_empty())
                    .map(|p| p.name.clone())
            })
            .unwrap_or_else(|| id.short())
    }

    /// Who votes against the quorum, from the node's last status.
    pub fn voting(&self) -> Option<Voting> {
        Voting::of(self.status.as_ref()?)
    }

    /// The finality figures over the last minutes, ending at the latest node time seen.
    pub fn finality_summary(&self) -> FinalitySummary {
        self.figures.summary(self.last_event_ms.unwrap_or(0))
    }

    pub fn finalized_height(&self) -> Height {
        self.status
            .as_ref()
            .map_or(Height(0), |s| s.finalized_height)
    }

    /// Rounds since the last finalized block's round.
    pub fn finality_lag(&self) -> Option<u64> {
        let round = self.status.as_ref()?.round;
        let finalized = self.blocks.tip_round()?;
        Some(round.0.saturating_sub(finalized.0))
    }

    /// Whether finality looks stuck: the node says it waited too long with work pending, or
    /// rounds keep passing, or peers keep voting, without a finalized block. Judged on the
    /// node's clock (its status and events), so no timer is needed.
    pub fn stall(&self) -> Option<Stall> {
        if let Some(status) = self.status.as_ref().filter(|s| s.stalled()) {
            return Some(Stall::Waiting(status.finality_wait_ms / 1000));
        }
        if let Some(lag) = self.finality_lag().filter(|lag| *lag >= STALL_ROUNDS) {
            return Some(Stall::Rounds(lag));
        }
        let quiet = self.last_activity_ms?.saturating_sub(self.quiet_since_ms?) / 1000;
        (quiet >= STALL_SECS).then_some(Stall::Seconds(quiet))
    }
}

/// Who joined and who left between the peer sets `before` and `after`.
fn changed(before: &[PeerId], after: &[PeerId]) -> (Vec<PeerId>, Vec<PeerId>) {
    let added = after.iter().filter(|id| !before.contains(id)).copied();
    let removed = before.iter().filter(|id| !after.contains(id)).copied();
    (added.collect(), removed.collect())
}

fn is_activity(event: &AdminEvent) -> bool {
    matches!(
        event,
        AdminEvent::RoundStarted { .. }
            | AdminEvent::ProposalSeen { .. }
            | AdminEvent::VoteSeen { .. }
            | AdminEvent::Notarized { .. }
            | AdminEvent::DummyCertified { .. }
    )
}
