//! Pending items: kept by every peer until final, so any leader can include them.

use std::collections::BTreeMap;

use bfte_shared::codec;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

/// CBOR framing of a payload around its items, counted generously.
const PAYLOAD_OVERHEAD: usize = 16;
/// Most pending entries (an item counts as its entries, see `ConsensusItem::weight`) one
/// author may have here: a peer (Byzantine, or with a runaway client) cannot make the others
/// hold unbounded memory; its further items wait until some are final. Counting entries, not
/// items, keeps the cap's meaning now that one item may carry thousands of entries.
pub const MAX_ENTRIES_PER_AUTHOR: usize = 50_000;
/// Most encoded bytes of pending items one author may have here.
pub const MAX_BYTES_PER_AUTHOR: usize = 64 << 20;

/// What one author's pending items take: entries and encoded bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Share {
    entries: usize,
    bytes: usize,
}

#[derive(Debug, Default, Clone)]
pub struct Pool {
    /// Items by author, then nonce, with their encoded size. Every item here had a valid
    /// signature when it arrived.
    by_author: BTreeMap<PeerId, BTreeMap<u64, (ConsensusItem, usize)>>,
    /// What each author's items in `by_author` take.
    shares: BTreeMap<PeerId, Share>,
}

impl Pool {
    /// Entries pending here.
    pub fn entries(&self) -> usize {
        self.shares.values().map(|share| share.entries).sum()
    }

    /// Whether `author` may add an item of `weight` entries and `size` encoded bytes.
    pub fn has_room(&self, author: &PeerId, weight: usize, size: usize) -> bool {
        let share = self.shares.get(author).copied().unwrap_or_default();
        share.entries + weight <= MAX_ENTRIES_PER_AUTHOR
            && share.bytes + size <= MAX_BYTES_PER_AUTHOR
    }

    /// Adds a verified item; returns false if an item with this author and nonce is known or
    /// the author has no room left.
    pub fn insert(&mut self, item: ConsensusItem) -> bool {
        let size = codec::encoded_len(&item);
        let weight = item.weight();
        if self.contains(&item.author, item.nonce) || !self.has_room(&item.author, weight, size) {
            return false;
        }
        let share = self.shares.entry(item.author).or_default();
        share.entries += weight;
        share.bytes += size;
        self.by_author
            .entry(item.author)
            .or_default()
            .insert(item.nonce, (item, size));
        true
    }

    /// Whether some item could go into the next block: an author's next nonce after the
    /// finalized one is here. Items behind a gap, which no block can take, are not work.
    pub fn has_ready(&self, finalized_nonces: &BTreeMap<PeerId, u64>) -> bool {
        self.by_author.iter().any(|(author, by_nonce)| {
            let next = finalized_nonces
                .get(author)
                .map_or(1, |n| n.saturating_add(1));
            by_nonce.contains_key(&next)
        })
    }

    /// True if exactly this item (same signature) is in the pool, so it was verified already.
    pub fn contains_exact(&self, item: &ConsensusItem) -> bool {
        self.by_author
            .get(&item.author)
            .and_then(|by_nonce| by_nonce.get(&item.nonce))
            .is_some_and(|(known, _)| known == item)
    }

    pub fn contains(&self, author: &PeerId, nonce: u64) -> bool {
        self.by_author
            .get(author)
            .is_some_and(|by_nonce| by_nonce.contains_key(&nonce))
    }

    /// Drops every item whose nonce is at or below its author's finalized nonce.
    pub fn remove_final(&mut self, finalized_nonces: &BTreeMap<PeerId, u64>) {
        for (author, &nonce) in finalized_nonces {
            if let Some(by_nonce) = self.by_author.get_mut(author) {
                let kept = by_nonce.split_off(&nonce.saturating_add(1));
                let dropped = std::mem::replace(by_nonce, kept);
                if let Some(share) = self.shares.get_mut(author) {
                    for (item, size) in dropped.values() {
                        share.entries = share.entries.saturating_sub(item.weight());
                        share.bytes = share.bytes.saturating_sub(*size);
                    }
                }
                if by_nonce.is_empty() {
                    self.by_author.remove(author);
                    self.shares.remove(author);
                }
            }
        }
    }

    pub fn items_by(&self, author: &PeerId) -> impl Iterator<Item = &ConsensusItem> {
        self.by_author
            .get(author)
            .into_iter()
            .flat_map(|by_nonce| by_nonce.values().map(|(item, _)| item))
    }

    /// Fills a payload fairly: authors take turns (the first turn rotates with the round), each
    /// turn takes the author's next nonce after the chain's, until a limit is reached
    /// (`max_entries` counts entries, `ConsensusItem::weight`). Nonces
    /// are taken without gaps, so an item that has not reached this leader yet is never
    /// skipped (and thereby made invalid) by a later one.
    pub fn select(
        &self,
        chain_nonces: &BTreeMap<PeerId, u64>,
        round: Round,
        max_bytes: usize,
        max_entries: usize,
    ) -> Vec<ConsensusItem> {
        let mut queues: Vec<_> = self
            .by_author
            .iter()
            .map(|(author, by_nonce)| {
                let mut expected = chain_nonces.get(author).map_or(1, |n| n.saturating_add(1));
                by_nonce
                    .range(expected..)
                    .take_while(move |(nonce, _)| {
                        let next = **nonce == expected;
                        expected = expected.saturating_add(1);
                        next
                    })
                    .map(|(_, entry)| entry)
                    .peekable()
            })
            .filter(|queue| queue.clone().next().is_some())
            .collect();
        if queues.is_empty() {
            return Vec::new();
        }
        let start = (round.0 % queues.len() as u64) as usize;
        queues.rotate_left(start);
        let mut chosen = Vec::new();
        let mut bytes = PAYLOAD_OVERHEAD;
        let mut entries = 0;
        'fill: loop {
            let mut took_any = false;
            for queue in &mut queues {
                let Some((item, size)) = queue.peek() else {
                    continue;
                };
                if entries + item.weight() > max_entries || bytes + size > max_bytes {
                    break 'fill;
                }
                bytes += size;
                entries += item.weight();
                chosen.push(item.clone());
                queue.next();
                took_any = true;
            }
            if !took_any {
                break;
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::item::{Entry, ModuleId};
    use bfte_shared::peer::Signature;

    use super::*;

    fn batch(author: u8, nonce: u64, entries: usize, data_bytes: usize) -> ConsensusItem {
        ConsensusItem {
            author: PeerId([author; 32]),
            nonce,
            entries: vec![
                Entry {
                    module: ModuleId(0),
                    data: vec![0; data_bytes],
                };
                entries
            ],
            signature: Signature([0; 64]),
        }
    }

    fn item(author: u8, nonce: u64, data_bytes: usize) -> ConsensusItem {
        batch(author, nonce, 1, data_bytes)
    }

    #[test]
    fn an_author_cannot_fill_the_pool_beyond_its_caps_and_finality_frees_room() {
        let mut pool = Pool::default();
        for nonce in 1..=MAX_ENTRIES_PER_AUTHOR as u64 {
            assert!(pool.insert(item(1, nonce, 8)));
        }
        assert!(
            !pool.insert(item(1, MAX_ENTRIES_PER_AUTHOR as u64 + 1, 8)),
            "entry cap"
        );
        assert!(pool.insert(item(2, 1, 8)), "another author is not affected");
        pool.remove_final(&BTreeMap::from([(PeerId([1; 32]), 10)]));
        assert!(pool.insert(item(1, MAX_ENTRIES_PER_AUTHOR as u64 + 1, 8)));

        let big = 1 << 20;
        let fit = MAX_BYTES_PER_AUTHOR / (big + 64);
        for nonce in 1..=fit as u64 {
            assert!(pool.insert(item(3, nonce, big)), "item {nonce} of {fit}");
        }
        assert!(!pool.insert(item(3, fit as u64 + 1, big)), "byte cap");
        pool.remove_final(&BTreeMap::from([(PeerId([3; 32]), fit as u64)]));
        assert!(
            pool.insert(item(3, fit as u64 + 1, big)),
            "bytes freed by finality"
        );
    }

    #[test]
    fn the_author_cap_counts_entries_not_items() {
        let mut pool = Pool::default();
        assert!(pool.insert(batch(1, 1, MAX_ENTRIES_PER_AUTHOR - 10, 8)));
        assert!(!pool.insert(batch(1, 2, 11, 8)), "one entry over the cap");
        assert!(pool.insert(batch(1, 2, 10, 8)), "exactly at the cap");
        assert_eq!(pool.entries(), MAX_ENTRIES_PER_AUTHOR);
        assert!(pool.contains(&PeerId([1; 32]), 2));
        pool.remove_final(&BTreeMap::from([(PeerId([1; 32]), 1)]));
        assert_eq!(pool.entries(), 10, "finality frees the batch's entries");
    }

    #[test]
    fn select_counts_entries_against_the_block_limit() {
        let mut pool = Pool::default();
        for nonce in 1..=3 {
            assert!(pool.insert(batch(1, nonce, 40, 8)));
        }
        let chosen = pool.select(&BTreeMap::new(), Round(1), 1 << 20, 100);
        assert_eq!(
            chosen.iter().map(|i| i.nonce).collect::<Vec<_>>(),
            vec![1, 2],
            "a third batch of 40 would make 120 entries"
        );
    }
}
