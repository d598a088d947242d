//! The attest module: peers attest statements ("artifact H was built from commit C", "change
//! C is approved"); a statement is final once a threshold of peers attested the same claim
//! about the same subject. Its finality is an effect other modules can act on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::peer::PeerId;
use crate::round::Height;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestItem {
    /// The author attests `claim` about `subject`, with optional free-form detail.
    Attest {
        subject: String,
        claim: String,
        detail: Option<String>,
    },
}

/// Effect kind emitted once when a statement reaches its threshold.
pub const STATEMENT_FINAL: &str = "attest/statement-final";

/// Body of a [`STATEMENT_FINAL`] effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementFinal {
    pub subject: String,
    pub claim: String,
    /// How many peers attested it when it became final.
    pub attesters: u32,
}

/// What the attest module stores per statement (table `statements`, keyed by CBOR `(subject,
/// claim)`): who attested it, with their detail, and when it became final. Here rather than in
/// the node so clients such as the console decode the same type the ledger writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub attesters: BTreeMap<PeerId, Option<String>>,
    pub final_at: Option<Height>,
}

// The module's tables in the node's database (`module/<id>/<table>`), with their keys and
// values: the node's module and the console decode them from these definitions.

/// Table: CBOR `(subject, claim)` -> [`Statement`].
pub const STATEMENTS: &str = "statements";
/// Table: `threshold` -> `u32`, the agreed threshold, if one was set.
pub const CONFIG: &str = "config";
/// The meta key that sets the threshold: a number of peers, at least 1.
pub const THRESHOLD_KEY: &str = "attest.threshold";
