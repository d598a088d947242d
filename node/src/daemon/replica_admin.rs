//! A replica's admin calls: its status (where it stands against its sources) and the reads of
//! its database. It refuses everything that would put anything into consensus: it is no peer.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use bfte_shared::admin::{AdminRequest, AdminResponse, PeerStatus, Replication, Status};
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use tokio::sync::{mpsc, watch};

use super::admin::AdminCall;
use super::admin_reads::{self, refused};
use super::clock::wall_ms;
use crate::ledger::Ledger;
use crate::replica::{Progress, Served, SourceConnection};
use crate::store::Store;

#[derive(Debug)]
pub(super) struct ReplicaAdmin {
    pub store: Arc<Store>,
    pub ledger: Ledger,
    pub progress: watch::Receiver<Progress>,
    pub source: SourceConnection,
    pub peer_id: PeerId,
    /// The replicas it serves in turn.
    pub served: Served,
    /// The invite's names of its peers: founding members have none recorded in the epoch.
    pub names: HashMap<PeerId, String>,
}

impl ReplicaAdmin {
    /// Answers calls until every admin socket is gone.
    pub(super) async fn serve(self, mut calls: mpsc::Receiver<AdminCall>) {
        while let Some((request, reply)) = calls.recv().await {
            // Database reads are short and synchronous; the follower runs on the other worker.
            let response = tokio::task::block_in_place(|| self.answer(request));
            let _ = reply.send(response);
        }
    }

    fn answer(&self, request: AdminRequest) -> AdminResponse {
        let db = self.store.database();
        match request {
            AdminRequest::Hello { version } => AdminResponse::Hello { version },
            AdminRequest::Status => self
                .status()
                .map(AdminResponse::Status)
                .unwrap_or_else(refused),
            AdminRequest::Epoch => self
                .ledger
                .epoch(db)
                .map(AdminResponse::Epoch)
                .context("cannot read the epoch")
                .unwrap_or_else(refused),
            read @ (AdminRequest::Outcome { .. }
            | AdminRequest::ModuleEntries { .. }
            | AdminRequest::Block { .. }
            | AdminRequest::Blocks { .. }
            | AdminRequest::Proposals) => match self.ledger.epoch(db).map(|e| e.peer_set()) {
                Ok(Ok(peers)) => admin_reads::answer(&self.store, &self.ledger, &peers, read),
                Ok(Err(error)) => refused(anyhow::Error::new(error).context("the epoch's peers")),
                Err(error) => refused(anyhow::Error::new(error).context("cannot read the epoch")),
            },
            AdminRequest::Joins => AdminResponse::Joins(Vec::new()),
            AdminRequest::Backup { path, replace } => {
                super::backup_call::answer(&self.store, &path, replace)
            }
            AdminRequest::Subscribe => {
                AdminResponse::Error("subscribe on a connection of its own".into())
            }
            AdminRequest::Peers => AdminResponse::Error(
                "a replica holds no consensus connections: `bfte status` names its source".into(),
            ),
            AdminRequest::Invite => AdminResponse::Error(
                "a replica cannot invite: ask an operator of the federation for `bfte invite`"
                    .into(),
            ),
            AdminRequest::Submit { .. }
            | AdminRequest::SubmitItem { .. }
            | AdminRequest::SubmitMany { .. }
            | AdminRequest::Propose { .. }
            | AdminRequest::Vote { .. }
            | AdminRequest::Approve { .. }
            | AdminRequest::Reject { .. } => AdminResponse::Error(
                "this node is a replica: it never votes or puts items into consensus; use the \
                 admin socket of a peer of the federation"
                    .into(),
            ),
        }
    }

    fn status(&self) -> anyhow::Result<Status> {
        let progress = self.progress.borrow().clone();
        let tip = self.store.finalized_height()?;
        let header = self
            .store
            .finalized_block(tip)?
            .map(|(block, _)| block.header);
        let epoch = self.ledger.epoch(self.store.database())?;
        let genesis = self.store.genesis();
        let source = progress.source.clone();
        let bytes_out = self.served.bytes_out();
        Ok(Status {
            federation_id: genesis.federation_id(),
            federation_name: genesis.name.clone(),
            peer_id: self.peer_id,
            role: "replica".into(),
            round: header.as_ref().map_or(Round::default(), |h| h.round),
            leader: header.as_ref().map_or(self.peer_id, |h| h.proposer),
            finalized_height: tip,
            pending_items: 0,
            finality_wait_ms: 0,
            quorum: epoch
                .peer_set()
                .map_or(0, |set| u32::try_from(set.quorum()).unwrap_or(u32::MAX)),
            peers: epoch
                .members
                .iter()
                .map(|member| {
                    let name = match self.names.get(&member.id) {
                        Some(name) if member.name.is_empty() => name.clone(),
                        _ => member.name.clone(),
                    };
                    // The follower names a source as the invite or the epoch does, or by its
                    // short id when neither has a name.
                    let short = member.id.short();
                    let used = source.as_deref().is_some_and(|s| s == name || s == short);
                    PeerStatus {
                        id: member.id,
                        name,
                        connected: used,
                        // A replica receives no votes.
                        voting: false,
                        silent_ms: None,
                    }
                })
                .collect(),
            replication: Some(Replication {
                source,
                target_height: progress.target.max(tip),
                following: progress.following,
                bytes_in: progress.bytes_in,
                bytes_out,
                // Behind: how old its tip is. Caught up, an idle federation's last block may
                // be old without the replica lagging.
                lag_ms: match header {
                    Some(h) if progress.target > tip => wall_ms().saturating_sub(h.timestamp_ms),
                    _ => 0,
                },
                source_path: self.source.path().map(|path| path.kind()),
            }),
            serving: self.served.replicas(),
            bytes_out,
        })
    }
}
