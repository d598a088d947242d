//! Wire and file types that `bfte-node` decodes from outside bytes but that live in its source
//! rather than in `bfte-shared`. Depending on `bfte-node` would build iroh and redb with
//! coverage instrumentation; these files only use `bfte-shared` and serde, so the fuzz crate
//! compiles the very same source files instead. If one of them starts to use the node crate,
//! this build breaks and says so (CI runs it).

/// The history protocol's requests and answers (`node/src/replica/protocol.rs`).
#[allow(dead_code)]
#[path = "../../node/src/replica/protocol.rs"]
pub mod protocol;

/// How the store keeps a finalized block (`node/src/store/finalized_row.rs`).
#[path = "../../node/src/store/finalized_row.rs"]
pub mod finalized_row;

/// History segments, the blobs replicas fetch (`node/src/history/segment.rs`).
#[allow(dead_code)]
#[path = "../../node/src/history/segment.rs"]
pub mod segment;

/// How the commit journal frames its records (`node/src/store/journal_frame.rs`).
#[path = "../../node/src/store/journal_frame.rs"]
pub mod journal_frame;

/// What a commit journal record holds (`node/src/store/journal_record.rs`).
#[path = "../../node/src/store/journal_record.rs"]
pub mod journal_record;
