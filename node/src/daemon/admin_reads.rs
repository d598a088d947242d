//! The admin calls answered from the database alone: finalized blocks, outcomes, module state
//! and proposals. A peer's driver and a replica answer them the same way.

use anyhow::Context;
use bfte_shared::admin::{
    AdminRequest, AdminResponse, BlockDetail, FinalizedBlock, MAX_MODULE_ENTRIES, MAX_PROPOSALS,
    ModuleEntry,
};
use bfte_shared::federation::PeerSet;

use crate::ledger::Ledger;
use crate::store::Store;

/// Most blocks one admin `Blocks` answer carries.
const ADMIN_BLOCKS_LIMIT: u32 = 1_000;

/// Answers a read; `peers` (the peer set in force) names a certificate's signers.
pub(super) fn answer(
    store: &Store,
    ledger: &Ledger,
    peers: &PeerSet,
    request: AdminRequest,
) -> AdminResponse {
    let db = store.database();
    match request {
        AdminRequest::Outcome { height } => ledger
            .outcome(db, height)
            .map(AdminResponse::Outcome)
            .context("cannot read the outcome")
            .unwrap_or_else(refused),
        AdminRequest::ModuleEntries { module, table } => ledger
            .entries(db, module, &table, MAX_MODULE_ENTRIES)
            .map(|entries| {
                AdminResponse::ModuleEntries(
                    entries
                        .into_iter()
                        .map(|(key, value)| ModuleEntry { key, value })
                        .collect(),
                )
            })
            .context("cannot read module state")
            .unwrap_or_else(refused),
        AdminRequest::Block { height } => store
            .finalized_block(height)
            .map(|found| {
                AdminResponse::Block(found.map(|(block, certificate)| {
                    let signers = certificate
                        .as_ref()
                        .and_then(|c| c.signer_indices(peers.len()).ok())
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|index| peers.get(index).copied())
                        .collect();
                    BlockDetail {
                        block,
                        certificate,
                        signers,
                    }
                }))
            })
            .with_context(|| format!("cannot read block {height}"))
            .unwrap_or_else(refused),
        AdminRequest::Blocks { from, limit } => store
            .finalized_blocks(from, limit.min(ADMIN_BLOCKS_LIMIT) as usize)
            .map(|blocks| {
                AdminResponse::Blocks(
                    blocks
                        .into_iter()
                        .map(|(block, certificate)| FinalizedBlock { block, certificate })
                        .collect(),
                )
            })
            .with_context(|| format!("cannot read the blocks from {from}"))
            .unwrap_or_else(refused),
        AdminRequest::Proposals => ledger
            .proposals(db, MAX_PROPOSALS)
            .map(AdminResponse::Proposals)
            .context("cannot read the proposals")
            .unwrap_or_else(refused),
        other => AdminResponse::Error(format!("{other:?} is not a read of the database")),
    }
}

/// A read that failed for a reason the node survives (a table it cannot read, say): the
/// client hears why.
pub(super) fn refused(error: anyhow::Error) -> AdminResponse {
    tracing::warn!(error = %format!("{error:#}"), "admin call failed");
    AdminResponse::Error(format!("{error:#}"))
}
