//! Replication: finalized history served to anyone as iroh blobs, and followed by replicas
//! that verify every block themselves and never vote.
//!
//! ```text
//! source (voter or replica)                     replica
//!   Store -> segmenter: complete segments         follower: Index (genesis checked)
//!            (blocks only) -> blob store,           -> per epoch: segment list (hash seq)
//!            one hash sequence per epoch            -> per segment: blob, then Chain proof
//!   server: Index | Chain | Follow  <-------------   -> Replay (verify, commit, apply)
//!   iroh-blobs on its ALPN          <-------------   -> Follow: chains pushed as finalized
//! ```
//!
//! Segments are cut by height only and carry no certificates, so every node holding the same
//! history serves the same hashes; the certificate that makes a segment final comes beside it
//! from `Store::finalized_chain`. A replica serves what it holds the same way, and every node
//! keeps the list of whom it serves (`served.rs`) for its status.

mod adopted;
mod blobs;
mod follower;
#[cfg(test)]
mod lies_tests;
mod protocol;
mod segmenter;
mod served;
mod server;
mod source;
#[cfg(test)]
mod tests;

pub use self::blobs::{BlobError, SegmentBlobs, ServedBlobs};
pub use self::follower::{FollowError, Follower, Progress, SourceConnection};
pub use self::protocol::{EpochSegments, HISTORY_ALPN, Index, Request};
pub use self::segmenter::{HistorySource, SegmentError, start};
pub use self::served::Served;
pub use self::server::HistoryServer;
pub use self::source::{Source, SourceError};
