//! A lattice hash (LtHash) over a set of entries: the state root is updated entry by entry in
//! constant time, with no rescan. Each entry expands through BLAKE3's extendable output into
//! 1,024 sixteen-bit lanes that are added (or, for a removed entry, subtracted) lane-wise,
//! wrapping. The sum depends only on the set, not on the order of changes, so peers that wrote
//! the same state in different orders agree, and finding two sets with one sum is as hard as
//! the short-integer-solution lattice problem at these parameters.

const LANES: usize = 1_024;

/// The accumulated lanes of every entry in the set.
#[derive(Clone, PartialEq, Eq)]
pub struct LtHash {
    lanes: Box<[u16; LANES]>,
}

impl std::fmt::Debug for LtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LtHash({})", blake3::hash(&self.to_bytes()))
    }
}

impl Default for LtHash {
    fn default() -> Self {
        LtHash {
            lanes: Box::new([0; LANES]),
        }
    }
}

impl LtHash {
    /// The entry's lanes: BLAKE3's extendable output of the length-prefixed parts.
    fn expand(parts: &[&[u8]]) -> [u16; LANES] {
        let mut hasher = blake3::Hasher::new_derive_key("bfte v1 state entry");
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let mut bytes = [0u8; LANES * 2];
        hasher.finalize_xof().fill(&mut bytes);
        let mut lanes = [0u16; LANES];
        for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        lanes
    }

    /// Adds the entry made of `parts`.
    pub fn insert(&mut self, parts: &[&[u8]]) {
        for (lane, add) in self.lanes.iter_mut().zip(Self::expand(parts)) {
            *lane = lane.wrapping_add(add);
        }
    }

    /// Removes the entry made of `parts`; it must have been inserted.
    pub fn remove(&mut self, parts: &[&[u8]]) {
        for (lane, sub) in self.lanes.iter_mut().zip(Self::expand(parts)) {
            *lane = lane.wrapping_sub(sub);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.to_le_bytes())
            .collect()
    }

    /// Reads what `to_bytes` wrote; None for a wrong length.
    pub fn from_bytes(bytes: &[u8]) -> Option<LtHash> {
        if bytes.len() != LANES * 2 {
            return None;
        }
        let mut hash = LtHash::default();
        for (lane, pair) in hash.lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_depends_on_the_set_not_the_order_and_removal_undoes_insertion() {
        let mut a = LtHash::default();
        a.insert(&[b"k1", b"v1"]);
        a.insert(&[b"k2", b"v2"]);
        let mut b = LtHash::default();
        b.insert(&[b"k2", b"v2"]);
        b.insert(&[b"k3", b"v3"]);
        b.insert(&[b"k1", b"v1"]);
        assert_ne!(a, b);
        b.remove(&[b"k3", b"v3"]);
        assert_eq!(a, b);
        // Parts are length-prefixed: moving a byte across the boundary is another entry.
        let mut c = LtHash::default();
        c.insert(&[b"k1v", b"1"]);
        let mut d = LtHash::default();
        d.insert(&[b"k1", b"v1"]);
        assert_ne!(c, d);
        assert_eq!(LtHash::from_bytes(&a.to_bytes()), Some(a));
        assert_eq!(LtHash::from_bytes(&[0; 3]), None);
    }
}
