//! The built-in modules' item types and effects: what peers submit and what the ledger
//! records, shared by the node (which applies them) and its clients (which build and show
//! them). Every item is canonical CBOR in the `data` of an `Entry` of a `ConsensusItem`.

pub mod attest;
pub mod ctrl;
pub mod evidence;
pub mod meta;

use serde::{Deserialize, Serialize};

use crate::item::ModuleId;

/// Opaque payloads: ordered and finalized, with no module state.
pub const DATA: ModuleId = ModuleId(0);
/// The federation's own configuration: peers, parameters, modules.
pub const CONSENSUS_CTRL: ModuleId = ModuleId(1);
/// Key/value metadata agreed by vote.
pub const META: ModuleId = ModuleId(2);
/// Statements attested by peers.
pub const ATTEST: ModuleId = ModuleId(3);
/// Proofs of misbehaviour.
pub const EVIDENCE: ModuleId = ModuleId(4);

/// Longest key, subject or claim a module item may carry.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest value or detail a module item may carry.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Something a module did that other modules may act on; routed by the ledger, never by a
/// direct call. `kind` names the effect (`<module>/<what>`), `data` is its CBOR body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    pub from: ModuleId,
    pub kind: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}
