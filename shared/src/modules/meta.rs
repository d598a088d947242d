//! The meta module: key/value metadata (the federation's name, description, contacts) that
//! takes a value once a quorum of peers proposed that same value for the key.

use serde::{Deserialize, Serialize};

/// The keys the console and CLI show as the federation's name and description.
pub const NAME_KEY: &str = "federation.name";
pub const DESCRIPTION_KEY: &str = "federation.description";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaItem {
    /// The author wants `key` set to `value`; replaces the author's earlier proposal for it.
    Propose { key: String, value: String },
}

/// Effect kind emitted when a key takes a new value.
pub const VALUE_SET: &str = "meta/value-set";

/// Body of a [`VALUE_SET`] effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSet {
    pub key: String,
    pub value: String,
}

// The module's tables in the node's database (`module/<id>/<table>`), with their keys and
// values: the node's module and the console decode them from these definitions.

/// Table: key -> the value each peer proposed for it (`BTreeMap<PeerId, String>`).
pub const PROPOSALS: &str = "proposals";
/// Table: key -> its agreed value (`String`).
pub const VALUES: &str = "values";
