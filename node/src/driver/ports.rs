//! What the driver step needs from the world, as small traits: the node implements them with
//! redb, its ledger and iroh; the simulator with an in-memory disk, a model ledger and its
//! simulated network; the core benchmark with a store that keeps nothing, a ledger that
//! applies nothing and an in-memory bus.

use bfte_consensus::{Core, Output, Restored};
use bfte_shared::hash::Hash;
use bfte_shared::message::{FinalizedChain, Message};
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};

use crate::ledger::CatchUp;

/// Where the core's `persist` entries and finalized blocks are stored. Crash semantics are
/// redb's: commits are ordered, a synced commit survives with every commit before it, and a
/// crash loses the unsynced commits after the last synced one.
pub trait DurableStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Writes every output's persist entries and finalized blocks, in order, at once; on disk
    /// when it returns if `sync`.
    fn commit<'a>(
        &mut self,
        outputs: impl Iterator<Item = &'a Output>,
        sync: bool,
    ) -> Result<(), Self::Error>;
    /// What a starting core is handed.
    fn restored(&self) -> Result<Restored, Self::Error>;
    /// The finalized blocks that answer a pull from `from` (at most about `limit` of them).
    fn finalized_chain(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Option<FinalizedChain>, Self::Error>;
    /// Moves the durable state into `epoch`; a no-op if it is there already.
    fn switch_epoch(&mut self, epoch: &EpochConfig, me: &PeerId) -> Result<(), Self::Error>;
}

/// Applies finalized blocks from the store to module state.
pub trait BlockLedger<S> {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The epoch the applied history is in.
    fn epoch(&self, store: &S) -> Result<EpochConfig, Self::Error>;
    /// The state roots of the last `limit` applied heights, oldest first.
    fn recent_roots(&self, store: &S, limit: u64) -> Result<Vec<(Height, Hash)>, Self::Error>;
    /// Applies what it can of the finalized chain; stops right after a block that starts an
    /// epoch.
    fn catch_up(&mut self, store: &S) -> Result<CatchUp, Self::Error>;
}

/// Whether the process goes on after a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// The process dies right after its commit, before anything of it was sent: the
    /// simulator's worst moment for durability.
    Crash,
}

/// The rest of the world around one step: the clock, the transport, and whoever watches.
pub trait Host<S> {
    /// The clocks now: monotonic for timers, wall for block timestamps.
    fn now(&self) -> bfte_consensus::Now;
    /// A batch is durable (each output with the round the core was in after it); nothing of it
    /// has been sent yet.
    fn committed(&mut self, outputs: &[(Output, Round)], core: &Core) -> Flow;
    /// Proposals of a batch left before its commit (`Step::send_early`).
    fn sent_early(&mut self) -> Flow {
        Flow::Go
    }
    /// Sends `message` to each of `to`.
    fn send(&mut self, to: &[PeerId], message: &Message);
    /// A core timer is due at monotonic time `at`: wake the step then (`Step::fire_due`).
    fn timer_set(&mut self, _at: u64) {}
    /// The ledger applied blocks.
    fn applied(&mut self, _caught_up: &CatchUp, _store: &S) {}
    /// A new core runs in `epoch`; `previous` were the peers of the epoch that ended.
    fn epoch_started(&mut self, epoch: &EpochConfig, previous: &[PeerId], core: &Core, store: &S);
}
