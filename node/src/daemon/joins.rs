//! Join requests and invites at the driver.
//!
//! A request from `net::join` (signature and sender already checked) is refused with a reason
//! the joiner sees (another federation, a pin this node does not know or that is too old, a
//! member already, too many pending), or kept as pending in the store and announced to admin
//! subscribers; the joiner gets the genesis and whom to follow. Admins then `Approve` (the
//! consensus_ctrl vote to add the peer) or `Reject` (forget it here). A pending request is
//! dropped once its peer is a member.

use anyhow::Context;
use bfte_shared::admin::{AdminResponse, MAX_PROPOSALS};
use bfte_shared::codec;
use bfte_shared::join::{
    INVITE_TTL_MS, Invite, JoinReply, JoinRequest, MAX_INVITE_PEERS, PendingJoin,
};
use bfte_shared::modules::CONSENSUS_CTRL;
use bfte_shared::modules::ctrl::{
    Change, CtrlItem, EpochConfig, MAX_ADDR_BYTES, MAX_PEER_ADDRS, MAX_PEER_NAME_BYTES, Member,
    ProposalStatus,
};
use bfte_shared::peer::PeerId;

use super::admin_calls::Answer;
use super::clock::wall_ms;
use super::driver::Driver;
use super::events::Observer;
use crate::net::join::JoinCall;
use crate::store::{PendingRequest, Store};

/// Most join requests held as pending; past it new peers are refused until admins decide.
const MAX_PENDING_JOINS: u64 = 1_000;
const DAY_MS: u64 = 24 * 3600 * 1000;

impl Driver {
    /// Answers a join request from the network.
    pub(super) fn on_join(&mut self, call: JoinCall) {
        let JoinCall { request, reply } = call;
        let peer = request.member.id;
        let answer = self.join_reply(request).unwrap_or_else(|error| {
            tracing::error!(peer = %peer, error = %format!("{error:#}"), "cannot handle a join request");
            JoinReply::Refused(format!(
                "this node cannot handle join requests now ({error:#}); ask another peer"
            ))
        });
        // The joiner may have given up waiting; nothing to do then.
        let _ = reply.send(answer);
    }

    fn join_reply(&mut self, request: JoinRequest) -> anyhow::Result<JoinReply> {
        let member = request.member.clone();
        if let Some(reason) = self.join_refusal(&request)? {
            tracing::info!(peer = %member.id, name = %member.name, %reason, "join request refused");
            return Ok(JoinReply::Refused(reason));
        }
        let members = self.addressed(self.current_epoch()?.members);
        let (request_pin, received_ms) = (request.pin_height, wall_ms());
        self.step
            .store()
            .put_pending_join(&PendingRequest {
                request,
                received_ms,
            })
            .context("cannot keep the request as pending")?;
        tracing::info!(
            peer = %member.id,
            name = %member.name,
            addrs = ?member.addrs,
            "join request pending: `bfte approve {}` votes to add it, `bfte reject` drops it",
            member.id
        );
        self.host.observer.join_requested(PendingJoin {
            pin_height: request_pin,
            requested_ms: received_ms,
            member,
        });
        Ok(JoinReply::Pending {
            genesis: self.step.store().genesis().clone(),
            founders: self.founders(),
            members,
        })
    }

    /// Why this node refuses the request, if it does.
    fn join_refusal(&self, request: &JoinRequest) -> anyhow::Result<Option<String>> {
        let federation = self.step.store().genesis().federation_id();
        if request.federation != federation {
            return Ok(Some(format!(
                "this node is in federation {}, the invite is for {}",
                federation.0, request.federation.0
            )));
        }
        if let Some(reason) = member_refusal(&request.member) {
            return Ok(Some(reason));
        }
        let pinned = self
            .step
            .store()
            .finalized_block(request.pin_height)
            .context("cannot read the invite's pinned block")?;
        let block = match pinned {
            Some((block, _)) if block.hash() == request.pin_block => block,
            None if request.pin_height > self.step.store().finalized_height()? => {
                return Ok(Some(format!(
                    "this node has not finalized height {} yet; try again in a moment or ask \
                     another peer",
                    request.pin_height
                )));
            }
            _ => {
                return Ok(Some(
                    "the invite's pinned block is not in this federation's history".into(),
                ));
            }
        };
        let age = wall_ms().saturating_sub(block.header.timestamp_ms);
        if age > INVITE_TTL_MS {
            return Ok(Some(format!(
                "the invite expired: its pinned block is {} days old and invites last {} days; \
                 ask for a new one",
                age / DAY_MS,
                INVITE_TTL_MS / DAY_MS
            )));
        }
        if self.current_epoch()?.member(&request.member.id).is_some() {
            return Ok(Some(format!(
                "peer {} is already a member of this federation",
                request.member.id
            )));
        }
        let known = self
            .step
            .store()
            .pending_join(&request.member.id)?
            .is_some();
        if !known && self.step.store().pending_join_count()? >= MAX_PENDING_JOINS {
            return Ok(Some(format!(
                "this node holds {MAX_PENDING_JOINS} pending join requests already; try again \
                 once its admins decided on them"
            )));
        }
        Ok(None)
    }

    /// The configuration in force, as the ledger applied it.
    pub(super) fn current_epoch(&self) -> anyhow::Result<EpochConfig> {
        self.step
            .ledger()
            .epoch(self.step.store().database())
            .context("cannot read the configuration in force")
    }

    /// The founding peers as the genesis file names and addresses them.
    fn founders(&self) -> Vec<Member> {
        self.step
            .store()
            .genesis()
            .peers
            .iter()
            .map(|id| Member {
                id: *id,
                name: self.host.names.get(id).cloned().unwrap_or_default(),
                addrs: self
                    .host
                    .founder_addrs
                    .get(id)
                    .map(|addrs| addrs.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// `members` with the names and addresses the ledger does not record filled in: the
    /// genesis file's for founders, and this node's bound sockets for itself.
    pub(super) fn addressed(&self, mut members: Vec<Member>) -> Vec<Member> {
        let me = self.step.core().peer_id();
        for member in &mut members {
            if member.name.is_empty() {
                member.name = self.host.names.get(&member.id).cloned().unwrap_or_default();
            }
            if member.id == me {
                let bound: Vec<String> = self
                    .host
                    .net
                    .local_addrs()
                    .iter()
                    .filter(|addr| !addr.ip().is_unspecified())
                    .map(ToString::to_string)
                    .collect();
                if !bound.is_empty() {
                    member.addrs = bound;
                    continue;
                }
            }
            if member.addrs.is_empty()
                && let Some(addrs) = self.host.founder_addrs.get(&member.id)
            {
                member.addrs = addrs.iter().map(ToString::to_string).collect();
            }
        }
        members
    }

    /// `AdminRequest::Invite`: the federation, the finalized tip as the pin, and the members
    /// to ask (this node first: it surely knows the pin).
    pub(super) fn invite(&self) -> anyhow::Result<AdminResponse> {
        let height = self.step.store().finalized_height()?;
        let (block, _) = self
            .step
            .store()
            .finalized_block(height)?
            .with_context(|| format!("the finalized block at height {height} is missing"))?;
        let me = self.step.core().peer_id();
        let mut peers = self.addressed(self.current_epoch()?.members);
        peers.sort_by_key(|member| member.id != me);
        peers.truncate(MAX_INVITE_PEERS);
        let invite = Invite {
            federation: self.step.store().genesis().federation_id(),
            pin_height: height,
            pin_block: block.hash(),
            peers,
            relay: self.host.net.custom_relay().map(|url| url.to_string()),
        };
        Ok(AdminResponse::Invite(invite.encode()))
    }

    /// `AdminRequest::Joins`: the pending requests, after dropping those of peers that became
    /// members.
    pub(super) fn joins(&mut self) -> anyhow::Result<AdminResponse> {
        let epoch = self.current_epoch()?;
        let (members, pending): (Vec<_>, Vec<_>) = self
            .step
            .store()
            .pending_joins()?
            .into_iter()
            .partition(|p| epoch.member(&p.request.member.id).is_some());
        if !members.is_empty() {
            let ids: Vec<PeerId> = members.iter().map(|p| p.request.member.id).collect();
            self.step.store().remove_pending_joins(&ids)?;
            tracing::info!(
                peers = ids.len(),
                "dropped join requests of peers that are members now"
            );
            for peer in ids {
                self.host.observer.join_closed(peer, true);
            }
        }
        Ok(AdminResponse::Joins(
            pending
                .into_iter()
                .map(|p| PendingJoin {
                    pin_height: p.request.pin_height,
                    member: p.request.member,
                    requested_ms: p.received_ms,
                })
                .collect(),
        ))
    }

    /// `AdminRequest::Approve`: a yes vote on the open proposal that adds the peer, or else a
    /// proposal to add it as its pending request here describes it.
    pub(super) fn approve(&mut self, peer: PeerId) -> anyhow::Result<Answer> {
        if self.current_epoch()?.member(&peer).is_some() {
            return Ok(AdminResponse::Error(format!("peer {peer} is a member already")).into());
        }
        let open = self
            .step
            .ledger()
            .proposals(self.step.store().database(), MAX_PROPOSALS)
            .context("cannot read the proposals")?
            .into_iter()
            .find(|p| {
                p.status == ProposalStatus::Open
                    && matches!(&p.change, Change::AddPeer(member) if member.id == peer)
            });
        let item = if let Some(proposal) = open {
            tracing::info!(peer = %peer, proposal = %proposal.id, "approving a join: voting yes");
            CtrlItem::Vote {
                proposal: proposal.id,
                yes: true,
            }
        } else if let Some(pending) = self.step.store().pending_join(&peer)? {
            tracing::info!(peer = %peer, name = %pending.request.member.name, "approving a join: proposing to add the peer");
            CtrlItem::Propose(Change::AddPeer(pending.request.member))
        } else {
            return Ok(AdminResponse::Error(format!(
                "no join request from {peer} is pending here and no open proposal adds it: \
                 `bfte joins` lists the requests, `bfte proposals` the proposals"
            ))
            .into());
        };
        Ok(self.submit_one(CONSENSUS_CTRL, codec::encode(&item)))
    }

    /// `AdminRequest::Reject`: forgets the pending request here.
    pub(super) fn reject(&mut self, peer: PeerId) -> anyhow::Result<AdminResponse> {
        if self.step.store().remove_pending_joins(&[peer])? == 0 {
            return Ok(AdminResponse::Error(format!(
                "no join request from {peer} is pending here (`bfte joins` lists them)"
            )));
        }
        tracing::info!(peer = %peer, "join request rejected");
        self.host.observer.join_closed(peer, false);
        Ok(AdminResponse::Done)
    }
}

/// Drops the pending join requests of peers that `epoch` made members, telling subscribers.
/// A failure only leaves them listed until the next `Joins` call drops them.
pub(super) fn close_admitted_joins(store: &Store, epoch: &EpochConfig, observer: &Observer) {
    let admitted = store.pending_joins().map(|pending| {
        pending
            .into_iter()
            .map(|p| p.request.member.id)
            .filter(|id| epoch.member(id).is_some())
            .collect::<Vec<PeerId>>()
    });
    match admitted.and_then(|ids| store.remove_pending_joins(&ids).map(|_| ids)) {
        Ok(ids) => {
            for peer in ids {
                tracing::info!(peer = %peer.short(), "join request closed: the peer is a member now");
                observer.join_closed(peer, true);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot drop the join requests of new members"),
    }
}

/// Why a member record could never be added (the ledger would reject the `AddPeer`).
fn member_refusal(member: &Member) -> Option<String> {
    if member.name.trim().is_empty() {
        return Some("the request carries no name: pass one with --name".into());
    }
    if member.name.len() > MAX_PEER_NAME_BYTES {
        return Some(format!(
            "the name is {} bytes long; at most {MAX_PEER_NAME_BYTES} are allowed",
            member.name.len()
        ));
    }
    if member.addrs.len() > MAX_PEER_ADDRS {
        return Some(format!(
            "the request lists {} addresses; at most {MAX_PEER_ADDRS} are allowed",
            member.addrs.len()
        ));
    }
    if let Some(addr) = member.addrs.iter().find(|a| a.len() > MAX_ADDR_BYTES) {
        return Some(format!(
            "the address `{addr}` is longer than {MAX_ADDR_BYTES} bytes"
        ));
    }
    None
}
