//! The ledger: finalized blocks become module state.
//!
//! Blocks are applied in height order, each in one write transaction that updates the module
//! tables, the lattice hash of all module state, the state root of that height, the block's
//! outcome record and the applied height together: after a crash the ledger resumes from the
//! last applied height it finds, and since applying is deterministic, re-applying what a crash
//! lost gives the same state. These transactions do not wait for the disk (the consensus
//! commits that follow them do), which redb keeps consistent: a crash rolls back whole
//! transactions only.
//!
//! Each item goes to its module (`crate::modules`); the effects it emits are routed to every
//! other module in id order, and theirs in turn, up to [`MAX_EFFECTS_PER_ITEM`]. An item whose
//! module refuses it, or whose effects any module refuses, is recorded as rejected and leaves
//! no trace in state. The state root after each block is checked against the commitments of
//! later blocks: a finalized block committing to another root than ours at a height is a
//! divergence, and the ledger stops.
//!
//! The peers in force and the enabled modules are the configuration the `consensus_ctrl`
//! module keeps in its tables (the genesis one is written with block 1). A change passed while
//! applying a block takes effect after that block; one that ends the epoch (peers, parameters)
//! also ends `Ledger::catch_up`, so that the caller starts the next epoch's consensus before
//! anything above that block is applied. A module the federation enabled that this binary does
//! not have stops the ledger before the block that enabled it commits.

mod apply;
mod batch;
mod error;
mod lthash;
mod overlay;
mod read;

#[cfg(test)]
mod tests;

pub use self::apply::{CatchUp, Ledger, MAX_EFFECTS_PER_ITEM};
pub use self::error::LedgerError;
pub use self::overlay::ModuleState;
