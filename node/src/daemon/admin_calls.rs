//! The admin calls the driver answers: status, peers, blocks, ledger state, submissions, and
//! governance (proposals, votes, the epoch; invites and joins are in `joins.rs`).

use std::collections::HashMap;

use bfte_shared::admin::{AdminRequest, AdminResponse, PeerInfo, PeerStatus, Status};
use bfte_shared::codec;
use bfte_shared::item::ModuleId;
use bfte_shared::modules::ctrl::CtrlItem;
use bfte_shared::modules::{CONSENSUS_CTRL, DATA};
use bfte_shared::peer::PeerId;
use tokio::sync::oneshot;

use super::admin_reads::{self, refused};
use super::driver::Driver;
use crate::net::PathInfo;
use bfte_consensus::{Durable, Input};

impl Driver {
    /// Answers one admin call. The answer waits for the batch's commit, so a submitted item
    /// is durable when the client hears it was accepted. A call that fails is answered with
    /// why; it never stops the node.
    pub(super) fn on_admin(
        &mut self,
        request: AdminRequest,
        reply: oneshot::Sender<AdminResponse>,
    ) {
        let response = self.answer(request);
        self.replies.push((reply, response));
    }

    fn answer(&mut self, request: AdminRequest) -> AdminResponse {
        match request {
            AdminRequest::Hello { version } => AdminResponse::Hello { version },
            AdminRequest::Status => AdminResponse::Status(self.status()),
            AdminRequest::Submit { data } => self.submit(DATA, data),
            AdminRequest::SubmitItem { module, data } => self.submit(module, data),
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
            AdminRequest::Propose { change } => {
                self.submit(CONSENSUS_CTRL, codec::encode(&CtrlItem::Propose(change)))
            }
            AdminRequest::Vote { proposal, yes } => self.submit(
                CONSENSUS_CTRL,
                codec::encode(&CtrlItem::Vote { proposal, yes }),
            ),
            AdminRequest::Epoch => match self.current_epoch() {
                Ok(mut epoch) => {
                    epoch.members = self.addressed(std::mem::take(&mut epoch.members));
                    AdminResponse::Epoch(epoch)
                }
                Err(error) => refused(error),
            },
            AdminRequest::Joins => self.joins().unwrap_or_else(refused),
            AdminRequest::Approve { peer } => self.approve(peer).unwrap_or_else(refused),
            AdminRequest::Reject { peer } => self.reject(peer).unwrap_or_else(refused),
            AdminRequest::Invite => self.invite().unwrap_or_else(refused),
        }
    }

    /// Puts an item into the core's outbox; refused (with why) if it could never fit a block
    /// or names a module this node does not run.
    pub(super) fn submit(&mut self, module: ModuleId, data: Vec<u8>) -> AdminResponse {
        if !self.step.ledger().runs(module) {
            return AdminResponse::Error(format!("no module with id {} is enabled", module.0));
        }
        if !self.step.core().is_voter() {
            return AdminResponse::Error(format!(
                "this node is not a peer in epoch {} (it follows the federation): only peers \
                 in force put items into consensus",
                self.step.core().epoch()
            ));
        }
        let federation = self.step.core().federation();
        let output = self.step.handle(&self.host, Input::Submit { module, data });
        let accepted = output.persist.iter().find_map(|d| match d {
            Durable::OwnItem(item) => Some((item.id(&federation), item.nonce)),
            _ => None,
        });
        match accepted {
            Some((item, nonce)) => AdminResponse::Submitted { item, nonce },
            None => AdminResponse::Error(
                "the item was refused: it is larger than a block may be, or this node's outbox is full (retry once its pending items are final)".into(),
            ),
        }
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
