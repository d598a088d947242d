//! Every table of the node's database in one place: its key, its value and what it means.
//!
//! Keys are native redb types, so that rounds and heights sort numerically and ranges "above
//! the finalized round" are cheap. Values are canonical CBOR (`bfte_shared::codec`) stored as
//! `&[u8]` and decoded with a size limit (`codec.rs`); a value that does not decode is reported
//! as `StoreError::Corrupt`, naming the table.
//!
//! "The tip" below is the last entry of [`FINALIZED`]; "above the tip" means in a round greater
//! than the tip block's round. Entries at or below it are pruned in the same transaction that
//! moves the tip past them, which is what the core's contract allows (SPEC, driver contract 5).
//!
//! The ledger's tables (`ledger/...`, written by `crate::ledger`) and the join requests are
//! here too. **Module state**: each module keeps its own tables, named `module/<module id>/<name>`
//! ([`module_table`]), maps of byte keys to CBOR values; their names, keys and values are declared
//! beside the module's item types in `bfte_shared::modules`, where the console reads them too.
//! No other table starts with `module/`. A finalized block is applied to them in one write
//! transaction with the ledger's tables (DESIGN section 5).

pub(crate) use super::finalized_row::{FinalizedEntry, FinalizedEntryRef};
use bfte_shared::block::BlockHeader;
use bfte_shared::vote::VoteKind;
use redb::TableDefinition;
use serde::Deserialize;

/// Table names, for `TableDefinition`s and for errors that name a table.
pub(super) mod name {
    pub(in crate::store) const META: &str = "meta";
    pub(in crate::store) const OWN_VOTES: &str = "own_votes";
    pub(in crate::store) const OWN_ITEMS: &str = "own_items";
    pub(in crate::store) const CERTIFICATES: &str = "certificates";
    pub(in crate::store) const BLOCKS: &str = "blocks";
    pub(in crate::store) const FINALIZED: &str = "finalized";
    pub(in crate::store) const FINALIZED_NONCES: &str = "finalized_nonces";
    pub(in crate::store) const SEEN_VOTES: &str = "seen_votes/by_round";
    pub(in crate::store) const PENDING_JOINS: &str = "pending_joins";
}

/// Facts about the database itself; a redb file without this table is not a BFTE database.
/// Key: a name. Values: [`SCHEMA_VERSION_KEY`] -> `u64`, the schema version (`migrations.rs`);
/// [`GENESIS_KEY`] -> `Genesis`, the federation this node belongs to. Both written once by
/// `Store::create`; the version changes only by migration.
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new(name::META);
/// A backup's copy also holds `restored_from_backup` -> `true` until the node restored from it
/// passed its floor (`backup.rs`, SPEC rule 15).
pub(super) const SCHEMA_VERSION_KEY: &str = "schema_version";
pub(super) const GENESIS_KEY: &str = "genesis";

/// Every vote this peer signed in a round above the tip.
/// Key: `(round, kind)`, the kind as [`kind_code`]. Value: `Vote`.
/// A correct peer signs at most one vote of each kind in a round, so a second, different vote
/// under one key is refused (it would be a double vote). Restored on start so that a restart
/// cannot sign a conflicting vote.
pub(super) const OWN_VOTES: TableDefinition<(u64, u8), &[u8]> =
    TableDefinition::new(name::OWN_VOTES);

/// Items this peer authored that are not final yet.
/// Key: the item's nonce (all items here have this peer as author). Value: `ConsensusItem`.
/// Pruned once the author's entry in [`FINALIZED_NONCES`] reaches the nonce.
pub(super) const OWN_ITEMS: TableDefinition<u64, &[u8]> = TableDefinition::new(name::OWN_ITEMS);

/// Certificates this peer recorded (formed or received) for rounds above the tip.
/// Key: `(round, kind)`, the kind as [`kind_code`]. Value: `Certificate`.
/// One per key: a second certificate of the same vote adds nothing and is not stored; one for
/// another block in the same round can only exist with more than f faulty peers and is refused.
pub(super) const CERTIFICATES: TableDefinition<(u64, u8), &[u8]> =
    TableDefinition::new(name::CERTIFICATES);

/// Blocks of rounds above the tip that this peer voted for or that a recorded certificate names.
/// Key: the block hash. Value: `Block`.
/// Pruning by round reads every entry; the table only holds blocks of rounds not yet final.
pub(super) const BLOCKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new(name::BLOCKS);

/// The finalized chain. Key: height, from 0 (the genesis block, written by `Store::create`) to
/// the tip without gaps. Value: [`FinalizedEntry`] as a row (`finalized_row.rs`): the block, and the finalization certificate
/// if this block is the last of a `Finalized` batch (the others are final through its hash
/// links). Never pruned.
pub(super) const FINALIZED: TableDefinition<u64, &[u8]> = TableDefinition::new(name::FINALIZED);

/// Each author's highest finalized item nonce, matching the tip.
/// Key: the author's `PeerId` bytes. Value: `u64`.
pub(super) const FINALIZED_NONCES: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new(name::FINALIZED_NONCES);

/// Votes received from other peers, an audit trail (`seen_votes.rs`), not consensus state.
/// Key: the round. Value: `RoundVotes` (`round_votes.rs`), the distinct votes received in that
/// round as they came, each signer and block hash stored once (a few votes per signer and kind
/// at most; two mean a conflict if their signatures hold). Synced once per 250 ms batch; pruned to the
/// last `SEEN_VOTE_ROUNDS` rounds.
pub(super) const SEEN_VOTES: TableDefinition<u64, &[u8]> = TableDefinition::new(name::SEEN_VOTES);

/// Pending join requests. Key: the joiner's `PeerId` bytes. Value: `PendingRequest`
/// (`joins.rs`). A new request from the same peer replaces its earlier one. Databases made
/// before this table existed get it on the first write; readers treat a missing table as empty.
pub(super) const PENDING_JOINS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new(name::PENDING_JOINS);

/// The ledger's facts. Key: a name. [`APPLIED_HEIGHT_KEY`] -> `u64` (CBOR), the last finalized
/// height applied; [`LTHASH_KEY`] -> the lattice hash of all module state after it
/// (`ledger/lthash.rs`). Both change only in the transaction that applies a block, together
/// with the module tables.
pub(crate) const LEDGER_META: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger/meta");
pub(crate) const APPLIED_HEIGHT_KEY: &str = "applied_height";
pub(crate) const LTHASH_KEY: &str = "lthash";

/// Key: height. Value: the 32-byte state root after applying that height. Never pruned (32
/// bytes a block): a divergence can be located at any height.
pub(crate) const STATE_ROOTS: TableDefinition<u64, &[u8; 32]> =
    TableDefinition::new("ledger/state_roots");

/// Key: height. Value: `BlockOutcome` (CBOR): what applying the block did, for clients.
pub(crate) const OUTCOMES: TableDefinition<u64, &[u8]> = TableDefinition::new("ledger/outcomes");

/// The name of a module's table.
pub(crate) fn module_table(module: bfte_shared::item::ModuleId, name: &str) -> String {
    format!("module/{}/{name}", module.0)
}

/// Just the header of a block stored in [`BLOCKS`]: decoding skips the payload (fields the
/// type does not name are ignored), so pruning by round does not build every payload.
#[derive(Debug, Deserialize)]
pub(super) struct StoredHeader {
    pub(super) header: BlockHeader,
}

/// The kind part of a `(round, kind)` key: 0 notarize, 1 dummy, 2 finalize. The block hash of a
/// notarize or finalize kind is in the value, not the key: one vote or certificate per kind
/// and round.
pub(super) fn kind_code(kind: VoteKind) -> u8 {
    match kind {
        VoteKind::Notarize(_) => 0,
        VoteKind::Dummy => 1,
        VoteKind::Finalize(_) => 2,
    }
}
