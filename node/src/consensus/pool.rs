//! Pending items: kept by every peer until final, so any leader can include them.

use std::collections::BTreeMap;

use bfte_shared::codec;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;

/// CBOR framing of a payload around its items, counted generously.
const PAYLOAD_OVERHEAD: usize = 16;

#[derive(Debug, Default)]
pub struct Pool {
    /// Items by author, then nonce. Every item here had a valid signature when it arrived.
    by_author: BTreeMap<PeerId, BTreeMap<u64, (ConsensusItem, usize)>>,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.by_author.values().map(BTreeMap::len).sum()
    }

    /// Adds a verified item; returns false if an item with this author and nonce is known.
    pub fn insert(&mut self, item: ConsensusItem) -> bool {
        let size = codec::encode(&item).len();
        let by_nonce = self.by_author.entry(item.author).or_default();
        if by_nonce.contains_key(&item.nonce) {
            return false;
        }
        by_nonce.insert(item.nonce, (item, size));
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
                *by_nonce = by_nonce.split_off(&nonce.saturating_add(1));
                if by_nonce.is_empty() {
                    self.by_author.remove(author);
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
