//! Segments a replica fetched and verified, handed to its own segmenter, which lists them as
//! they are instead of reading the same blocks back, encoding and hashing them again.
//!
//! A segment is adopted only once its blocks are final and applied, and only if its bytes are
//! exactly what the segmenter would have made of them: the canonical encoding, no
//! certificates, cut where [`SegmentCut`] cuts. So a replica serves the same hashes as every
//! other node, whichever source it fetched from.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::round::Height;

use crate::history::{Segment, SegmentCut};

/// Adopted segments by first height: (last height, hash).
#[derive(Debug, Clone, Default)]
pub struct AdoptedSegments(Arc<Mutex<BTreeMap<Height, (Height, Hash)>>>);

impl AdoptedSegments {
    /// Offers the segment of `hash` from `first` to `last`, final and applied.
    pub fn insert(&self, first: Height, last: Height, hash: Hash) {
        self.lock().insert(first, (last, hash));
    }

    /// The adopted segment that starts at `first`, if it ends by `limit`; forgets every one
    /// that starts below `first`, which the segmenter has passed.
    pub fn take(&self, first: Height, limit: Height) -> Option<(Height, Hash)> {
        let mut adopted = self.lock();
        *adopted = adopted.split_off(&first);
        match adopted.first_key_value() {
            Some((&start, &(last, _))) if start == first && last <= limit => adopted.remove(&first),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Height, (Height, Hash)>> {
        // Entries are inserted and removed whole: a panic elsewhere cannot leave one torn.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `bytes`, which decoded to `segment`, are what a segmenter makes of its blocks: no
/// certificates, cut by the rule at its last block and no earlier, and encoded canonically.
pub fn adoptable(segment: &Segment, bytes: &[u8]) -> bool {
    let mut cut = SegmentCut::default();
    let count = segment.entries.len();
    let cut_right = segment.entries.iter().enumerate().all(|(index, entry)| {
        entry.finalization.is_none() && cut.ends_with(&entry.block) == (index + 1 == count)
    });
    count > 0 && cut_right && codec::encodes_to(segment, bytes)
}

#[cfg(test)]
mod tests {
    use bfte_shared::codec;
    use bfte_shared::hash::Hash;
    use bfte_shared::round::Height;

    use super::{AdoptedSegments, adoptable};
    use crate::history::fixture::membership_change;
    use crate::history::{Segment, Snapshot};
    use crate::replica::segmenter::strip_certificates;

    /// Epoch 1's first complete segment (heights 4 to 1,003) as the segmenter makes it.
    fn honest() -> Segment {
        let history = membership_change(1_100, 7);
        let snapshot = Snapshot::of(&history.store).expect("snapshot");
        let epoch = &snapshot.epochs()[1];
        let (mut segment, complete) = snapshot
            .segment_from(epoch, Height(4), snapshot.tip())
            .expect("segment");
        assert!(complete);
        strip_certificates(&mut segment);
        segment
    }

    #[test]
    fn only_the_segmenters_own_bytes_are_adoptable() {
        let segment = honest();
        let bytes = codec::encode(&segment);
        assert!(adoptable(&segment, &bytes));

        let mut certified = segment.clone();
        let proof = membership_change(0, 1).store.finalized_chain(Height(1), 1);
        let proof = proof.expect("serve").expect("a chain").finalization;
        certified.entries[10].finalization = Some(proof);
        assert!(
            !adoptable(&certified, &codec::encode(&certified)),
            "a certificate"
        );

        let mut short = segment.clone();
        short.entries.pop();
        assert!(!adoptable(&short, &codec::encode(&short)), "cut early");
        let mut longer = segment.clone();
        longer.entries.push(segment.entries[0].clone());
        assert!(!adoptable(&longer, &codec::encode(&longer)), "cut late");

        // The same segment in a non-canonical form (a longer length header) decodes alike.
        let mut padded = bytes.clone();
        assert_eq!(&padded[..3], &[0xa1, 0x67, b'e'], "a map, then `entries`");
        let at = 1 + 8;
        assert_eq!(
            &padded[at..at + 3],
            &[0x99, 0x03, 0xe8],
            "an array of 1,000"
        );
        padded.splice(at..at + 3, [0x9a, 0, 0, 0x03, 0xe8]);
        let decoded: Segment = codec::decode(&padded, usize::MAX).expect("decodes");
        assert_eq!(decoded, segment);
        assert!(!adoptable(&decoded, &padded), "not canonical");
    }

    #[test]
    fn the_segmenter_takes_an_adopted_segment_once_and_only_where_it_starts() {
        let adopted = AdoptedSegments::default();
        let hash = Hash::of(b"test\0", &1u8);
        adopted.insert(Height(4), Height(1_003), hash);
        adopted.insert(Height(1_004), Height(2_003), hash);
        assert_eq!(
            adopted.take(Height(4), Height(1_002)),
            None,
            "past the limit"
        );
        assert_eq!(
            adopted.take(Height(4), Height(1_003)),
            Some((Height(1_003), hash))
        );
        assert_eq!(adopted.take(Height(4), Height(5_000)), None, "taken once");
        assert_eq!(adopted.take(Height(2_004), Height(5_000)), None);
        assert_eq!(
            adopted.take(Height(1_004), Height(5_000)),
            None,
            "forgotten once passed"
        );
    }
}
