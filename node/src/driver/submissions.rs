//! Submissions batched by the driver: every client's entries queued until the batch that signs
//! them (the simulator's: the next one; the node's: see `daemon/driver.rs`) go to the core as
//! one `Input::Submit`, so they are signed once, as one item (or as few as the block limits
//! allow), and made durable by the batch's one commit. Each client then learns where its
//! entries are.

use std::ops::Range;

use bfte_consensus::{Durable, Input};
use bfte_shared::admin::Receipt;
use bfte_shared::item::{ConsensusItem, Entry};

use super::ports::{BlockLedger, DurableStore, Host};
use super::step::Step;

/// Entries waiting for the end of the batch, and who waits for each run of them.
#[derive(Debug)]
pub struct Submissions<W> {
    entries: Vec<Entry>,
    waiting: Vec<(W, Range<usize>)>,
}

impl<W> Default for Submissions<W> {
    fn default() -> Self {
        Submissions {
            entries: Vec::new(),
            waiting: Vec::new(),
        }
    }
}

impl<W> Submissions<W> {
    /// Queues `entries` for this batch's item; `waiter` gets their receipts from `sign`.
    pub fn queue(&mut self, entries: Vec<Entry>, waiter: W) {
        let start = self.entries.len();
        self.entries.extend(entries);
        self.waiting.push((waiter, start..self.entries.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Hands every queued entry to the core at once (nothing if none is queued) and returns
    /// each waiter with one receipt per entry it queued, `None` for an entry the core refused.
    pub fn sign<S: DurableStore, L: BlockLedger<S>>(
        &mut self,
        step: &mut Step<S, L>,
        host: &impl Host<S>,
    ) -> Vec<(W, Vec<Option<Receipt>>)> {
        if self.waiting.is_empty() {
            return Vec::new();
        }
        let entries = std::mem::take(&mut self.entries);
        let federation = step.core().federation();
        let output = step.handle(
            host,
            Input::Submit {
                entries: entries.clone(),
            },
        );
        let items: Vec<&ConsensusItem> = output
            .persist
            .iter()
            .filter_map(|durable| match durable {
                Durable::OwnItem(item) => Some(item),
                _ => None,
            })
            .collect();
        let receipts = receipts(&entries, &items, |item| item.id(&federation));
        std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|(waiter, range)| (waiter, receipts[range].to_vec()))
            .collect()
    }
}

/// Where each submitted entry went. The core signs the entries in order and skips only those
/// it refuses, so the signed ones are a subsequence of the submitted ones: each submitted
/// entry is the next signed one, or was refused. (Two equal entries are interchangeable: a
/// refusal hits both alike, or, for a full outbox, everything after the first refused one.)
fn receipts(
    submitted: &[Entry],
    items: &[&ConsensusItem],
    id: impl Fn(&ConsensusItem) -> bfte_shared::hash::Hash,
) -> Vec<Option<Receipt>> {
    let mut signed = items.iter().flat_map(|item| {
        let item_id = id(item);
        item.entry_refs().map(move |(at, entry)| {
            let receipt = Receipt {
                item: item_id,
                nonce: at.nonce,
                index: at.index,
            };
            (receipt, entry)
        })
    });
    let mut next = signed.next();
    submitted
        .iter()
        .map(|entry| match next {
            Some((receipt, signed_entry)) if signed_entry == entry => {
                next = signed.next();
                Some(receipt)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use bfte_shared::hash::Hash;
    use bfte_shared::item::ModuleId;
    use bfte_shared::peer::{PeerId, Signature};

    use super::*;

    fn entry(byte: u8) -> Entry {
        Entry {
            module: ModuleId(0),
            data: vec![byte],
        }
    }

    fn item(nonce: u64, entries: Vec<Entry>) -> ConsensusItem {
        ConsensusItem {
            author: PeerId([1; 32]),
            nonce,
            entries,
            signature: Signature([0; 64]),
        }
    }

    fn id_of(item: &ConsensusItem) -> Hash {
        Hash([item.nonce as u8; 32])
    }

    #[test]
    fn each_entry_gets_its_item_nonce_and_index_and_refused_ones_none() {
        let submitted = [entry(1), entry(2), entry(3), entry(4)];
        // Entry 2 was refused (too large), and the rest were cut into two items.
        let first = item(7, vec![entry(1), entry(3)]);
        let second = item(8, vec![entry(4)]);
        let got = receipts(&submitted, &[&first, &second], id_of);
        let at = |nonce: u64, index| {
            Some(Receipt {
                item: Hash([nonce as u8; 32]),
                nonce,
                index,
            })
        };
        assert_eq!(got, vec![at(7, 0), None, at(7, 1), at(8, 0)]);
    }

    #[test]
    fn a_full_outbox_refuses_the_rest_and_nothing_signed_refuses_all() {
        let submitted = [entry(1), entry(1), entry(2)];
        let only = item(3, vec![entry(1)]);
        let got = receipts(&submitted, &[&only], id_of);
        assert_eq!(got.iter().filter(|r| r.is_some()).count(), 1);
        assert!(got[0].is_some() && got[1].is_none() && got[2].is_none());
        assert_eq!(receipts(&submitted, &[], id_of), vec![None; 3]);
    }
}
