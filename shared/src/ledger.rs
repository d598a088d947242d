//! What the ledger records for each applied block: every entry's outcome, the effects it
//! caused, and the state it changed. Clients list these per block (`bfte block`, the console).

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::item::ModuleId;
use crate::modules::Effect;

/// How one entry of a finalized block was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemOutcome {
    /// Applied: the effects it caused, in routing order.
    Applied { effects: Vec<Effect> },
    /// Left without any effect on state, for this reason. Deterministic: every peer rejects
    /// the same entries for the same reason.
    Rejected { reason: String },
}

/// One entry of module state that an item's entry changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub module: ModuleId,
    pub table: String,
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// The new value (CBOR), or None if the entry was deleted.
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
}

/// Everything applying one finalized block did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockOutcome {
    /// One per entry, in block order: the items in order, each item's entries in order.
    pub entries: Vec<ItemOutcome>,
    pub changes: Vec<StateChange>,
    /// The root over all module state after this block.
    pub state_root: Hash,
}
