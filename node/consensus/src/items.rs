//! Items: this peer's own submissions (signed with the next nonce, persisted, gossiped) and
//! those that arrive from others (verified in one batch, then pooled as pending work).

use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::message::Message;

use super::core::Core;
use super::io::{Destination, Durable};

impl Core {
    /// Items that could never fit in a block are refused at the door: kept, they would be
    /// work that no round can ever finish.
    pub(super) fn fits_in_a_block(&self, item: &ConsensusItem) -> bool {
        let fits =
            bfte_shared::codec::encode(item).len() + 16 <= self.params.max_block_bytes as usize;
        if !fits {
            tracing::warn!(author = %item.author.short(), nonce = item.nonce, "refused an item larger than a block");
        }
        fits
    }

    pub(super) fn submit(&mut self, module: ModuleId, data: Vec<u8>) {
        if self.my_index.is_none() {
            tracing::warn!(
                epoch = self.epoch,
                "refused an item: this node is not a peer in force, nobody would include it"
            );
            return;
        }
        let last_own = self.pool.items_by(&self.me).map(|item| item.nonce).max();
        let last_final = self.finalized_nonces.get(&self.me).copied();
        let nonce = last_own.max(last_final).map_or(1, |n| n.saturating_add(1));
        let item = ConsensusItem::new(&self.federation, self.signer.as_ref(), nonce, module, data);
        if !self.fits_in_a_block(&item) {
            return;
        }
        if !self
            .pool
            .has_room(&self.me, bfte_shared::codec::encode(&item).len())
        {
            tracing::warn!(
                pending = self.pool.len(),
                "refused an item: this peer's outbox is full until some of its items are final"
            );
            return;
        }
        self.out.persist.push(Durable::OwnItem(item.clone()));
        self.send(Destination::AllPeers, Message::Item(item.clone()));
        self.add_item(item);
    }

    /// Pending items from a peer: new ones from federation peers that fit in a block and in
    /// the author's share of the pool are verified in one batch (one by one only if the batch
    /// fails, to keep the good ones) and pooled.
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
