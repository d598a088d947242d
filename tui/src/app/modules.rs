//! The Modules screen's part of the state: when to ask for the tables, what their answer
//! changes, and which module is selected.

use super::App;
use crate::client::Request;
use crate::state::{ModuleTab, ModuleTables};

impl App {
    /// Asks for the module tables unless a request is already out; then one more follows its
    /// answer, so at most one is queued however fast blocks finalize (the connection task
    /// also spaces them by `MODULES_EVERY`).
    pub(super) fn refresh_modules(&mut self) {
        let modules = &mut self.node.modules;
        if modules.pending {
            modules.stale = true;
        } else {
            modules.pending = true;
            self.outbox.push(Request::Modules);
        }
    }

    /// A failed refresh keeps the tables it had and says why.
    pub(super) fn modules_answered(&mut self, answer: Result<Box<ModuleTables>, String>) {
        let modules = &mut self.node.modules;
        modules.pending = false;
        match answer {
            Ok(tables) => {
                modules.tables = Some(*tables);
                modules.error = None;
            }
            Err(error) => modules.error = Some(error),
        }
        if std::mem::take(&mut self.node.modules.stale) {
            self.refresh_modules();
        }
        let rows = crate::screens::modules::rows(self).len();
        let cursor = &mut self.views.modules.cursor;
        *cursor = (*cursor).min(rows.saturating_sub(1));
    }

    /// The module selected in the Modules screen's list.
    pub fn selected_module(&self) -> ModuleTab {
        self.views.modules.tab()
    }
}
