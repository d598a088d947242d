//! The admin calls the driver answers: status, peers, blocks, ledger state, submissions, and
//! governance (proposals, votes, the epoch; invites and joins are in `joins.rs`).

use std::collections::HashMap;

use bfte_shared::admin::{AdminRequest, AdminResponse, PeerInfo, PeerStatus, Status};
use bfte_shared::codec;
use bfte_shared::item::{Entry, ModuleId};
use bfte_shared::modules::ctrl::CtrlItem;
use bfte_shared::modules::{CONSENSUS_CTRL, DATA};
use bfte_shared::peer::PeerId;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::admin_reads::{self, refused};
use super::driver::Driver;
use crate::net::PathInfo;

/// What an admin call comes to: an answer now, or entries that wait for the batch's item.
pub(super) enum Answer {
    /// Boxed: a status or a block is large, and most answers are small.
    Now(Box<AdminResponse>),
    Queued(Vec<Entry>, Shape),
}

/// How a queued submission is answered: one receipt, or one per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    One,
    Many,
}

impl From<AdminResponse> for Answer {
    fn from(response: AdminResponse) -> Answer {
        Answer::Now(Box::new(response))
    }
}

/// Why an entry was not accepted, for a client that submitted one.
const REFUSED: &str = "the item was refused: it is larger than a block may be, or this node's \
                       outbox is full (retry once its pending items are final)";

impl Driver {
    /// Answers one admin call. The answer waits for the batch's commit, so a submitted entry
    /// is durable when the client hears it was accepted; submissions wait for the batch's one
    /// signed item (`sign_submissions`). A call that fails is answered with why; it never
    /// stops the node.
    pub(super) fn on_admin(
        &mut self,
        request: AdminRequest,
        reply: oneshot::Sender<AdminResponse>,
    ) {
        if let AdminRequest::Backup { path, replace } = request {
            // A large database takes a while to copy: off the driver loop, in its own read
            // transaction, so consensus goes on meanwhile.
            let store = self.step.store().clone();
            tokio::task::spawn_blocking(move || {
                let _ = reply.send(super::backup_call::answer(&store, &path, replace));
            });
            return;
        }
        match self.answer(request) {
            Answer::Now(response) => self.replies.push((reply, *response)),
            Answer::Queued(entries, shape) => {
                self.submissions.queue(entries, (reply, shape));
                self.submitted_at.get_or_insert_with(Instant::now);
            }
        }
    }

    /// Signs the batch's submissions as one item and queues each client's answer for the
    /// batch's commit.
    pub(super) fn sign_submissions(&mut self) {
        for ((reply, shape), receipts) in self.submissions.sign(&mut self.step, &self.host) {
            let response = match shape {
                Shape::One => match receipts.first().copied().flatten() {
                    Some(receipt) => AdminResponse::Submitted(receipt),
                    None => AdminResponse::Error(REFUSED.into()),
                },
                Shape::Many => AdminResponse::SubmittedMany(receipts),
            };
            self.replies.push((reply, response));
        }
    }

    fn answer(&mut self, request: AdminRequest) -> Answer {
        match request {
            AdminRequest::Submit { data } => {
                self.submit(vec![Entry { module: DATA, data }], Shape::One)
            }
            AdminRequest::SubmitItem { module, data } => {
                self.submit(vec![Entry { module, data }], Shape::One)
            }
            AdminRequest::SubmitMany { entries } => self.submit(entries, Shape::Many),
            AdminRequest::Propose { change } => {
                self.submit_one(CONSENSUS_CTRL, codec::encode(&CtrlItem::Propose(change)))
            }
            AdminRequest::Vote { proposal, yes } => self.submit_one(
                CONSENSUS_CTRL,
                codec::encode(&CtrlItem::Vote { proposal, yes }),
            ),
            AdminRequest::Approve { peer } => self
                .approve(peer)
                .unwrap_or_else(|error| refused(error).into()),
            other => self.answer_now(other).into(),
        }
    }

    fn answer_now(&mut self, request: AdminRequest) -> AdminResponse {
        match request {
            AdminRequest::Hello { version } => AdminResponse::Hello { version },
            AdminRequest::Status => AdminResponse::Status(self.status()),
            AdminRequest::Submit { .. }
            | AdminRequest::SubmitItem { .. }
            | AdminRequest::SubmitMany { .. }
            | AdminRequest::Propose { .. }
            | AdminRequest::Vote { .. }
            | AdminRequest::Approve { .. } => {
                AdminResponse::Error("a submission is answered with its batch".into())
            }
            read @ (AdminRequest::Outcome { .. }
            | AdminRequest::ModuleEntries { .. }
            | AdminRequest::Block { .. }
            | AdminRequest::Blocks { .. }
            | AdminRequest::Proposals) => admin_reads::answer(
                self.step.store(),
                self.step.ledger(),
                self.step.core().peers(),
                read,
            ),
            AdminRequest::Peers => AdminResponse::Peers(self.peers()),
            // The admin task serves subscriptions itself; a Subscribe never reaches the driver.
            AdminRequest::Subscribe => {
                AdminResponse::Error("subscribe on a connection of its own".into())
            }
            AdminRequest::Epoch => match self.current_epoch() {
                Ok(mut epoch) => {
                    epoch.members = self.addressed(std::mem::take(&mut epoch.members));
                    AdminResponse::Epoch(epoch)
                }
                Err(error) => refused(error),
            },
            AdminRequest::Joins => self.joins().unwrap_or_else(refused),
            AdminRequest::Reject { peer } => self.reject(peer).unwrap_or_else(refused),
            AdminRequest::Invite => self.invite().unwrap_or_else(refused),
            AdminRequest::Backup { .. } => {
                AdminResponse::Error("a backup is answered off the driver loop".into())
            }
        }
    }

    /// One entry, answered with one receipt.
    pub(super) fn submit_one(&mut self, module: ModuleId, data: Vec<u8>) -> Answer {
        self.submit(vec![Entry { module, data }], Shape::One)
    }

    /// Queues entries for the batch's item; refused at once (with why) if one names a module
    /// this node does not run or this node is no peer in force. An entry that could never fit
    /// a block is refused by the core, on its own.
    fn submit(&mut self, entries: Vec<Entry>, shape: Shape) -> Answer {
        if entries.is_empty() {
            return AdminResponse::Error("nothing to submit: no entries".into()).into();
        }
        if let Some(entry) = entries.iter().find(|e| !self.step.ledger().runs(e.module)) {
            return AdminResponse::Error(format!(
                "no module with id {} is enabled",
                entry.module.0
            ))
            .into();
        }
        if !self.step.core().is_voter() {
            return AdminResponse::Error(format!(
                "this node is not a peer in epoch {} (it follows the federation): only peers \
                 in force put items into consensus",
                self.step.core().epoch()
            ))
            .into();
        }
        Answer::Queued(entries, shape)
    }

    fn peers(&self) -> Vec<PeerInfo> {
        let me = self.step.core().peer_id();
        let states: HashMap<PeerId, crate::net::PeerState> = self
            .host
            .net
            .peer_states()
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        self.step
            .core()
            .peers()
            .iter()
            .map(|id| {
                let state = states.get(id);
                let path = state.and_then(|s| s.path.as_ref());
                PeerInfo {
                    id: *id,
                    name: self.host.names.get(id).cloned().unwrap_or_default(),
                    is_self: *id == me,
                    connected: *id == me || state.is_some_and(|s| s.connected),
                    path: path.map(PathInfo::kind),
                    rtt_us: path.map(PathInfo::rtt_us),
                    last_vote_round: self.host.observer.last_vote(id),
                    dropped_frames: state.map_or(0, |s| s.dropped_frames),
                }
            })
            .collect()
    }

    fn status(&self) -> Status {
        let core = self.step.core();
        let me = core.peer_id();
        let now = self.host.clock.now().monotonic_ms;
        let observer = &self.host.observer;
        let states: HashMap<PeerId, bool> = self
            .host
            .net
            .peer_states()
            .into_iter()
            .map(|s| (s.id, s.connected))
            .collect();
        Status {
            federation_id: core.federation(),
            federation_name: self.federation_name.clone(),
            peer_id: me,
            role: if core.is_voter() { "voter" } else { "follower" }.into(),
            round: core.round(),
            leader: core.leader(core.round()),
            finalized_height: core.finalized_height(),
            pending_items: core.pending_items() as u64,
            finality_wait_ms: self.host.finality.waiting_ms(now),
            quorum: u32::try_from(core.peers().quorum()).unwrap_or(u32::MAX),
            replication: None,
            serving: self.host.net.served().replicas(),
            bytes_out: self.host.net.served().bytes_out(),
            peers: core
                .peers()
                .iter()
                .map(|id| PeerStatus {
                    id: *id,
                    name: self.host.names.get(id).cloned().unwrap_or_default(),
                    connected: *id == me || states.get(id).copied().unwrap_or(false),
                    voting: if *id == me {
                        core.is_voter()
                    } else {
                        observer.is_voting(id, core.round(), now)
                    },
                    silent_ms: observer.silent_ms(id, now),
                })
                .collect(),
        }
    }
}
