//! The ledger's own tables, beside the consensus tables of `store/tables.rs`. Module state
//! lives in tables named `module/<module id>/<name>` (`overlay.rs`), each a map of byte keys
//! to CBOR values.

use redb::TableDefinition;

/// Key: a name. [`APPLIED_HEIGHT_KEY`] -> `u64` (CBOR), the last finalized height applied;
/// [`LTHASH_KEY`] -> the lattice hash of all module state after it (`lthash.rs`). Both change
/// only in the transaction that applies a block, together with the module tables.
pub(super) const LEDGER_META: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger/meta");
pub(super) const APPLIED_HEIGHT_KEY: &str = "applied_height";
pub(super) const LTHASH_KEY: &str = "lthash";

/// Key: height. Value: the 32-byte state root after applying that height. Never pruned (32
/// bytes a block): a divergence can be located at any height.
pub(super) const STATE_ROOTS: TableDefinition<u64, &[u8; 32]> =
    TableDefinition::new("ledger/state_roots");

/// Key: height. Value: `BlockOutcome` (CBOR): what applying the block did, for clients.
pub(super) const OUTCOMES: TableDefinition<u64, &[u8]> = TableDefinition::new("ledger/outcomes");

/// The name of a module's table.
pub(super) fn module_table(module: bfte_shared::item::ModuleId, name: &str) -> String {
    format!("module/{}/{name}", module.0)
}
