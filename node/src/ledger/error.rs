//! What stops the ledger. Each of these halts applying (the node says why and stops rather
//! than fork silently); an item a module refuses is not an error but a recorded outcome.

use bfte_shared::hash::Hash;
use bfte_shared::round::Height;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database: {action}: {source}")]
    Database {
        action: String,
        #[source]
        source: Box<redb::Error>,
    },

    #[error(
        "ledger table `{table}` holds something that cannot be read ({detail}); the database \
         is damaged: restore it from a backup or re-sync the node"
    )]
    Corrupt { table: String, detail: String },

    #[error(
        "state divergence: the finalized block at height {block} commits to state root {theirs} \
         at height {height}, but this node computed {ours}. Its module state differs from the \
         federation's from height {height} on; stop it and re-sync it from a healthy peer"
    )]
    Divergence {
        block: Height,
        height: Height,
        ours: Hash,
        theirs: Hash,
    },

    #[error("the finalized chain is missing height {0}, which the ledger must apply next")]
    MissingBlock(Height),

    #[error(
        "the federation enabled module {kind}@{version}, which this node's binary does not have: \
         upgrade bfte to a release with {kind}@{version} to continue. The ledger stopped \
         before applying height {height}"
    )]
    UnknownModule {
        /// The first height not applied.
        height: Height,
        kind: String,
        version: u32,
    },
}

impl LedgerError {
    /// For `map_err`: a redb failure while doing `action`.
    pub(super) fn failed<E: Into<redb::Error>>(
        action: impl Into<String>,
    ) -> impl FnOnce(E) -> LedgerError {
        move |e| LedgerError::Database {
            action: action.into(),
            source: Box::new(e.into()),
        }
    }

    pub(super) fn corrupt(table: impl Into<String>, detail: impl ToString) -> LedgerError {
        LedgerError::Corrupt {
            table: table.into(),
            detail: detail.to_string(),
        }
    }
}
