//! Opaque payloads (`bfte submit`): ordered and finalized like any item, with no state.

use bfte_shared::modules::{DATA, Effect};

use super::{ApplyError, Context, Module, ModuleInfo};
use crate::ledger::ModuleState;

#[derive(Debug)]
pub struct Data;

impl Module for Data {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            id: DATA,
            kind: "data",
            version: 1,
        }
    }

    fn apply(
        &self,
        _context: &Context<'_>,
        _data: &[u8],
        _state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        Ok(Vec::new())
    }
}
