//! Items: this peer's own submissions (entries signed together under the next nonce,
//! persisted, gossiped) and those that arrive from others (verified in one batch, then pooled
//! as pending work).

use bfte_shared::codec;
use bfte_shared::item::{ConsensusItem, Entry};
use bfte_shared::message::Message;

use super::core::Core;
use super::io::{Destination, Durable};

/// An item's encoding around its entries (author, nonce, signature, CBOR framing), counted
/// generously: a batch is cut by this estimate, then checked exactly.
const ITEM_OVERHEAD: usize = 192;
/// CBOR framing of a payload around its items (as `pool.rs` counts it).
const PAYLOAD_OVERHEAD: usize = 16;

impl Core {
    /// Items that could never fit in a block (by bytes or by entries) are refused at the door:
    /// kept, they would be work that no round can ever finish. So are items without entries,
    /// which no block may carry.
    pub(super) fn fits_in_a_block(&self, item: &ConsensusItem) -> bool {
        let fits = codec::encoded_len(item) + PAYLOAD_OVERHEAD
            <= self.params.max_block_bytes as usize
            && item.weight() <= self.params.max_block_items as usize
            && !item.entries.is_empty();
        if !fits {
            tracing::warn!(author = %item.author.short(), nonce = item.nonce, entries = item.entries.len(), "refused an item that no block can carry");
        }
        fits
    }

    /// Signs `entries` as few items as the block limits allow (one, unless they are more
    /// than a block may carry), each under the next nonce. An entry that no block could
    /// carry is refused on its own; once this peer's share of the pool is full, the rest are.
    /// The driver tells which entries went where from `Output.persist` (`Durable::OwnItem`,
    /// in order).
    pub(super) fn submit(&mut self, entries: Vec<Entry>) {
        if self.my_index.is_none() {
            tracing::warn!(
                epoch = self.epoch,
                "refused entries: this node is not a peer in force, nobody would include them"
            );
            return;
        }
        let max_bytes = (self.params.max_block_bytes as usize).saturating_sub(PAYLOAD_OVERHEAD);
        let max_entries = self.params.max_block_items as usize;
        let mut batch = Vec::new();
        let mut batch_bytes = ITEM_OVERHEAD;
        for entry in entries {
            let size = codec::encoded_len(&entry);
            if ITEM_OVERHEAD + size > max_bytes {
                tracing::warn!(
                    module = entry.module.0,
                    bytes = entry.data.len(),
                    "refused an entry larger than a block"
                );
                continue;
            }
            if !batch.is_empty() && (batch_bytes + size > max_bytes || batch.len() == max_entries) {
                if !self.sign_own(std::mem::take(&mut batch)) {
                    return;
                }
                batch_bytes = ITEM_OVERHEAD;
            }
            batch_bytes += size;
            batch.push(entry);
        }
        if !batch.is_empty() {
            self.sign_own(batch);
        }
    }

    /// Signs one item of own entries with the next nonce, persists, gossips and pools it;
    /// false if it was refused (the pool share is full, or it does not fit a block after all).
    fn sign_own(&mut self, entries: Vec<Entry>) -> bool {
        let last_own = self.pool.items_by(&self.me).map(|item| item.nonce).max();
        let last_final = self.finalized_nonces.get(&self.me).copied();
        let nonce = last_own.max(last_final).map_or(1, |n| n.saturating_add(1));
        let item = ConsensusItem::new(&self.federation, self.signer.as_ref(), nonce, entries);
        if !self.fits_in_a_block(&item) {
            return false;
        }
        if !self
            .pool
            .has_room(&self.me, item.weight(), codec::encoded_len(&item))
        {
            tracing::warn!(
                pending = self.pool.entries(),
                "refused entries: this peer's outbox is full until some of its items are final"
            );
            return false;
        }
        self.out.persist.push(Durable::OwnItem(item.clone()));
        self.send(Destination::AllPeers, Message::Item(item.clone()));
        self.add_item(item);
        true
    }

    /// Pending items from a peer: new ones from federation peers that fit in a block and in
    /// the author's share of the pool are verified in one batch (one signature per item,
    /// whatever its entries; one by one only if the batch fails, to keep the good ones) and
    /// pooled.
    pub(super) fn on_items(&mut self, items: Vec<ConsensusItem>) {
        let fresh: Vec<(ConsensusItem, Vec<u8>)> = items
            .into_iter()
            .filter(|item| {
                self.peers.contains(&item.author)
                    && !self.pool.contains(&item.author, item.nonce)
                    && self.fits_in_a_block(item)
            })
            .map(|item| {
                let bytes = item.signing_bytes(&self.federation);
                (item, bytes)
            })
            .collect();
        let batch: Vec<_> = fresh
            .iter()
            .map(|(item, bytes)| item.signed(bytes))
            .collect();
        let all_valid = self.verifier.verify_batch(&batch);
        for (item, bytes) in &fresh {
            if all_valid || self.verifier.verify(item.signed(bytes)) {
                self.add_item(item.clone());
            }
        }
    }

    pub(super) fn add_item(&mut self, item: ConsensusItem) {
        let final_nonce = self
            .finalized_nonces
            .get(&item.author)
            .copied()
            .unwrap_or(0);
        if item.nonce > final_nonce && self.pool.insert(item) {
            self.on_work();
        }
    }
}
