//! The built-in modules. A module owns its item type, its tables and its state; it validates
//! and applies items deterministically and may emit effects, which the ledger routes to the
//! modules that understand them. Modules never call each other.

pub mod attest;
pub mod ctrl;
pub mod data;
pub mod evidence;
pub mod meta;

use bfte_shared::federation::{FederationId, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::ModuleId;
use bfte_shared::modules::Effect;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use serde::de::DeserializeOwned;

pub use self::attest::Attest;
pub use self::ctrl::Ctrl;
pub use self::data::Data;
pub use self::evidence::Evidence;
pub use self::meta::Meta;
use crate::ledger::{LedgerError, ModuleState};

/// What a module knows about the item or effect it handles.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The finalized height being applied.
    pub height: Height,
    /// The hash of that block: where an epoch that a change in it ends starts from.
    pub block: Hash,
    /// The item's author (its signature and nonce were checked by consensus).
    pub author: PeerId,
    /// The peers in force at this height (the epoch's, even after a change passed in this
    /// block: it takes effect after the block).
    pub peers: &'a PeerSet,
    /// What this epoch's votes and proposals are signed over: the federation id in the genesis
    /// epoch (`EpochConfig::signing_domain`).
    pub federation: &'a FederationId,
}

/// Why a module refused an item: recorded as the item's outcome, nothing else happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

/// A failure applying an item: a rule said no, or the ledger itself failed.
#[derive(Debug)]
pub enum ApplyError {
    Rejected(Rejected),
    Ledger(LedgerError),
}

impl From<LedgerError> for ApplyError {
    fn from(error: LedgerError) -> Self {
        ApplyError::Ledger(error)
    }
}

impl From<Rejected> for ApplyError {
    fn from(rejected: Rejected) -> Self {
        ApplyError::Rejected(rejected)
    }
}

/// Refuses unless `ok`.
pub fn ensure(ok: bool, reason: impl FnOnce() -> String) -> Result<(), ApplyError> {
    if ok {
        Ok(())
    } else {
        Err(ApplyError::Rejected(Rejected(reason())))
    }
}

/// Decodes an item's data as the module's item type, refusing what does not decode.
pub fn decode_item<T: DeserializeOwned>(data: &[u8]) -> Result<T, ApplyError> {
    bfte_shared::codec::decode(data, bfte_shared::message::MAX_MESSAGE_BYTES)
        .map_err(|e| ApplyError::Rejected(Rejected(format!("undecodable item: {e}"))))
}

/// What a module is: its id in items, and the kind and version consensus control names when
/// enabling or upgrading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleInfo {
    pub id: ModuleId,
    pub kind: &'static str,
    pub version: u32,
}

pub trait Module: Send {
    fn info(&self) -> ModuleInfo;

    /// Validates one item and applies it to `state`, returning the effects it causes. On a
    /// rejection nothing it wrote is kept.
    fn apply(
        &self,
        context: &Context<'_>,
        data: &[u8],
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError>;

    /// Reacts to another module's effect; most modules ignore most effects.
    fn on_effect(
        &self,
        _context: &Context<'_>,
        _effect: &Effect,
        _state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        Ok(Vec::new())
    }
}

/// The modules every federation runs from genesis, in id order; also every module kind and
/// version this binary can run.
pub fn built_in() -> Vec<Box<dyn Module>> {
    vec![
        Box::new(Data),
        Box::new(Ctrl),
        Box::new(Meta),
        Box::new(Attest),
        Box::new(Evidence),
    ]
}

/// This binary's implementation of module `kind` at `version`, if it has one.
pub fn implementation(kind: &str, version: u32) -> Option<Box<dyn Module>> {
    built_in().into_iter().find(|module| {
        let info = module.info();
        info.kind == kind && info.version == version
    })
}
