//! Key/value metadata agreed by vote: a key takes a value once a quorum of the peers in force
//! proposed that same value. Each peer's latest proposal per key counts; proposals for a key
//! are cleared when it takes a value, so the next change needs a fresh quorum.

use std::collections::BTreeMap;

use bfte_shared::codec;
use bfte_shared::modules::meta::{MetaItem, VALUE_SET, ValueSet};
use bfte_shared::modules::{Effect, MAX_NAME_BYTES, MAX_VALUE_BYTES, META};
use bfte_shared::peer::PeerId;

use super::{ApplyError, Context, Module, ModuleInfo, decode_item, ensure};
use crate::ledger::ModuleState;

pub use bfte_shared::modules::meta::{PROPOSALS, VALUES};

#[derive(Debug)]
pub struct Meta;

impl Module for Meta {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            id: META,
            kind: "meta",
            version: 1,
        }
    }

    fn apply(
        &self,
        context: &Context<'_>,
        data: &[u8],
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let MetaItem::Propose { key, value } = decode_item(data)?;
        ensure(context.peers.contains(&context.author), || {
            "only peers in force propose metadata".into()
        })?;
        ensure(!key.is_empty() && key.len() <= MAX_NAME_BYTES, || {
            format!("a key is 1 to {MAX_NAME_BYTES} bytes")
        })?;
        ensure(value.len() <= MAX_VALUE_BYTES, || {
            format!("a value is at most {MAX_VALUE_BYTES} bytes")
        })?;
        let mut proposals: BTreeMap<PeerId, String> =
            state.get(PROPOSALS, key.as_bytes())?.unwrap_or_default();
        proposals.insert(context.author, value.clone());
        let agreeing = proposals
            .iter()
            .filter(|(peer, proposed)| context.peers.contains(peer) && **proposed == value)
            .count();
        if agreeing < context.peers.quorum() {
            state.put(PROPOSALS, key.as_bytes(), &proposals);
            return Ok(Vec::new());
        }
        state.delete(PROPOSALS, key.as_bytes());
        let current: Option<String> = state.get(VALUES, key.as_bytes())?;
        if current.as_ref() == Some(&value) {
            return Ok(Vec::new());
        }
        state.put(VALUES, key.as_bytes(), &value);
        let set = ValueSet { key, value };
        Ok(vec![Effect {
            from: META,
            kind: VALUE_SET.into(),
            data: codec::encode(&set),
        }])
    }
}
