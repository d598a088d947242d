//! The selection and filter of each screen, one type per kind of screen behind the [`View`]
//! trait, so a key moves any screen's selection the same way. How many rows there are comes
//! from the app, which knows what the filter leaves of the node's data.

use crate::screens::Screen;
use crate::state::ModuleTab;

/// Rows a page key moves.
const PAGE: i64 = 20;

/// A screen's selection and filter.
pub trait View {
    /// Moves the selection `delta` rows among `rows`, stopping at either end.
    fn move_by(&mut self, delta: i64, rows: usize);
    /// Selects the first of `rows`, or the last when `bottom`.
    fn move_to(&mut self, bottom: bool, rows: usize);
    fn filter(&self) -> &str;
    /// A new filter changes the rows, so the selection starts again.
    fn set_filter(&mut self, text: String);

    fn page(&mut self, pages: i64, rows: usize) {
        self.move_by(pages * PAGE, rows);
    }
}

/// `cursor` moved by `delta`, kept among `rows`.
fn step(cursor: usize, delta: i64, rows: usize) -> usize {
    let last = rows.saturating_sub(1) as i64;
    (cursor as i64 + delta).clamp(0, last) as usize
}

fn end(bottom: bool, rows: usize) -> usize {
    if bottom { rows.saturating_sub(1) } else { 0 }
}

/// A table with a selected row: rounds, blocks, proposals, join requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    /// The selected row among the filtered ones.
    pub cursor: usize,
    pub filter: String,
}

impl View for ListView {
    fn move_by(&mut self, delta: i64, rows: usize) {
        self.cursor = step(self.cursor, delta, rows);
    }

    fn move_to(&mut self, bottom: bool, rows: usize) {
        self.cursor = end(bottom, rows);
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, text: String) {
        self.filter = text;
        self.cursor = 0;
    }
}

/// The log, oldest line first: it follows the tail until moved off it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogView {
    /// The selected line among the filtered ones; `None` follows the tail.
    pub cursor: Option<usize>,
    pub filter: String,
}

impl View for LogView {
    fn move_by(&mut self, delta: i64, rows: usize) {
        let last = rows.saturating_sub(1);
        let moved = step(self.cursor.unwrap_or(last), delta, rows);
        self.cursor = (moved < last).then_some(moved);
    }

    fn move_to(&mut self, bottom: bool, _rows: usize) {
        self.cursor = (!bottom).then_some(0);
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, text: String) {
        self.filter = text;
        self.cursor = None;
    }
}

/// The module list and the selected module's table: the keys move in the list until Enter
/// moves them into the table. The filter applies to the table's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesView {
    /// The module selected in the list, an index of [`ModuleTab::ALL`].
    pub module: usize,
    /// The row selected in its table.
    pub cursor: usize,
    pub in_table: bool,
    pub filter: String,
}

impl ModulesView {
    pub fn tab(&self) -> ModuleTab {
        ModuleTab::ALL
            .get(self.module)
            .copied()
            .unwrap_or(ModuleTab::Data)
    }

    /// Another module starts at its first row.
    fn select(&mut self, module: usize) {
        if module != self.module {
            self.module = module;
            self.cursor = 0;
        }
    }
}

impl View for ModulesView {
    /// `rows`: the table's while in it, else the list's.
    fn move_by(&mut self, delta: i64, rows: usize) {
        if self.in_table {
            self.cursor = step(self.cursor, delta, rows);
        } else {
            self.select(step(self.module, delta, rows));
        }
    }

    fn move_to(&mut self, bottom: bool, rows: usize) {
        if self.in_table {
            self.cursor = end(bottom, rows);
        } else {
            self.select(end(bottom, rows));
        }
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, text: String) {
        self.filter = text;
        self.cursor = 0;
    }
}

/// One view per screen that has something to select; Overview has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Views {
    pub rounds: ListView,
    pub blocks: ListView,
    pub governance: ListView,
    pub joins: ListView,
    pub modules: ModulesView,
    pub log: LogView,
}

impl Views {
    pub fn get(&self, screen: Screen) -> Option<&dyn View> {
        let view: &dyn View = match screen {
            Screen::Overview => return None,
            Screen::Rounds => &self.rounds,
            Screen::Blocks => &self.blocks,
            Screen::Governance => &self.governance,
            Screen::Joins => &self.joins,
            Screen::Modules => &self.modules,
            Screen::Log => &self.log,
        };
        Some(view)
    }

    pub fn get_mut(&mut self, screen: Screen) -> Option<&mut dyn View> {
        let view: &mut dyn View = match screen {
            Screen::Overview => return None,
            Screen::Rounds => &mut self.rounds,
            Screen::Blocks => &mut self.blocks,
            Screen::Governance => &mut self.governance,
            Screen::Joins => &mut self.joins,
            Screen::Modules => &mut self.modules,
            Screen::Log => &mut self.log,
        };
        Some(view)
    }
}
