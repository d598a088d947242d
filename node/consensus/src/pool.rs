//! Pending items: kept by every peer until final, so any leader can include them.

use std::collections::BTreeMap;

use bfte_shared::codec;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

/// CBOR framing of a payload around its items, counted generously.
const PAYLOAD_OVERHEAD: usize = 16;
/// Most pending items one author may have here: a peer (Byzantine, or with a runaway client)
/// cannot make the others hold unbounded memory; its further items wait until some are final.
pub const MAX_ITEMS_PER_AUTHOR: usize = 50_000;
/// Most encoded bytes of pending items one author may have here.
pub const MAX_BYTES_PER_AUTHOR: usize = 64 << 20;

#[derive(Debug, Default)]
pub struct Pool {
    /// Items by author, then nonce, with their encoded size. Every item here had a valid
    /// signature when it arrived.
    by_author: BTreeMap<PeerId, BTreeMap<u64, (ConsensusItem, usize)>>,
    /// Encoded bytes of each author's items in `by_author`.
    bytes: BTreeMap<PeerId, usize>,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.by_author.values().map(BTreeMap::len).sum()
    }

    /// Whether `author` may add an item of `size` encoded bytes.
    pub fn has_room(&self, author: &PeerId, size: usize) -> bool {
        let items = self.by_author.get(author).map_or(0, BTreeMap::len);
        let bytes = self.bytes.get(author).copied().unwrap_or(0);
        items < MAX_ITEMS_PER_AUTHOR && bytes + size <= MAX_BYTES_PER_AUTHOR
    }

    /// Adds a verified item; returns false if an item with this author and nonce is known or
    /// the author has no room left.
    pub fn insert(&mut self, item: ConsensusItem) -> bool {
        let size = codec::encode(&item).len();
        if self.contains(&item.author, item.nonce) || !self.has_room(&item.author, size) {
            return false;
        }
        *self.bytes.entry(item.author).or_default() += size;
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
                let dropped: usize = by_nonce.values().map(|(_, size)| size).sum();
                *by_nonce = kept;
                if let Some(bytes) = self.bytes.get_mut(author) {
                    *bytes = bytes.saturating_sub(dropped);
                }
                if by_nonce.is_empty() {
                    self.by_author.remove(author);
                    self.bytes.remove(author);
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
    /// turn takes the author's next nonce after the chain's, until a limit is reached. Nonces
    /// are taken without gaps, so an item that has not reached this leader yet is never
    /// skipped (and thereby made invalid) by a later one.
    pub fn select(
        &self,
        chain_nonces: &BTreeMap<PeerId, u64>,
        round: Round,
        max_bytes: usize,
        max_items: usize,
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
        'fill: loop {
            let mut took_any = false;
            for queue in &mut queues {
                let Some((item, size)) = queue.peek() else {
                    continue;
                };
                if chosen.len() == max_items || bytes + size > max_bytes {
                    break 'fill;
                }
                bytes += size;
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
    use bfte_shared::item::ModuleId;
    use bfte_shared::peer::Signature;

    use super::*;

    fn item(author: u8, nonce: u64, data_bytes: usize) -> ConsensusItem {
        ConsensusItem {
            author: PeerId([author; 32]),
            nonce,
            module: ModuleId(0),
            data: vec![0; data_bytes],
            signature: Signature([0; 64]),
        }
    }

    #[test]
    fn an_author_cannot_fill_the_pool_beyond_its_caps_and_finality_frees_room() {
        let mut pool = Pool::default();
        for nonce in 1..=MAX_ITEMS_PER_AUTHOR as u64 {
            assert!(pool.insert(item(1, nonce, 8)));
        }
        assert!(
            !pool.insert(item(1, MAX_ITEMS_PER_AUTHOR as u64 + 1, 8)),
            "item cap"
        );
        assert!(pool.insert(item(2, 1, 8)), "another author is not affected");
        pool.remove_final(&BTreeMap::from([(PeerId([1; 32]), 10)]));
        assert!(pool.insert(item(1, MAX_ITEMS_PER_AUTHOR as u64 + 1, 8)));

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
}
