//! How the received votes of one round are stored: each signer and block hash once, then a
//! signer index, kind, block index and signature per vote. A vote stored as its own entry cost
//! about 215 bytes (its key and value repeating the round, signer and field names); here a vote
//! is about 70 bytes and the round's signers and blocks are shared.

use bfte_shared::hash::Hash;
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};
use serde::{Deserialize, Serialize};

use super::tables::kind_code;

/// At most this many distinct votes are kept per signer and kind in a round: two already prove
/// a conflict, and a peer sending variants cannot grow the record without bound.
const MAX_PER_SLOT: usize = 4;

/// The received votes of one round.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RoundVotes {
    signers: Vec<PeerId>,
    blocks: Vec<Hash>,
    votes: Vec<StoredVote>,
}

/// One vote: indexes into the round's signers and blocks (the block index is 0 and meaningless
/// for a dummy vote), the kind as [`kind_code`], and the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct StoredVote(u16, u8, u16, Signature);

impl RoundVotes {
    /// Adds `vote` unless it is here already or its signer's slot for its kind is full; returns
    /// whether it was added.
    pub(super) fn add(&mut self, vote: &Vote) -> bool {
        let code = kind_code(vote.kind);
        let block = match vote.kind {
            VoteKind::Notarize(hash) | VoteKind::Finalize(hash) => Some(hash),
            VoteKind::Dummy => None,
        };
        let signer = self.signers.iter().position(|s| *s == vote.signer);
        let block_index = block.map(|hash| self.blocks.iter().position(|b| *b == hash));
        // The signer's votes of this kind so far, and whether this one is among them.
        let mut slot = 0;
        for stored in &self.votes {
            if Some(usize::from(stored.0)) != signer || stored.1 != code {
                continue;
            }
            let same_block = match block_index {
                None => true,
                Some(index) => index == Some(usize::from(stored.2)),
            };
            if same_block && stored.3 == vote.signature {
                return false;
            }
            slot += 1;
        }
        if slot >= MAX_PER_SLOT {
            return false;
        }
        let Some(signer) = index_of(&mut self.signers, vote.signer) else {
            return false;
        };
        let block = match block {
            Some(hash) => index_of(&mut self.blocks, hash),
            None => Some(0),
        };
        let Some(block) = block else {
            return false;
        };
        self.votes
            .push(StoredVote(signer, code, block, vote.signature));
        true
    }

    /// The votes as received, in the order they were added; `None` if an index or kind is out
    /// of range (a damaged record).
    pub(super) fn votes(&self, round: Round) -> Option<Vec<Vote>> {
        self.votes
            .iter()
            .map(|&StoredVote(signer, code, block, signature)| {
                let hash = || self.blocks.get(usize::from(block)).copied();
                let kind = match code {
                    0 => VoteKind::Notarize(hash()?),
                    1 => VoteKind::Dummy,
                    2 => VoteKind::Finalize(hash()?),
                    _ => return None,
                };
                Some(Vote {
                    round,
                    kind,
                    signer: *self.signers.get(usize::from(signer))?,
                    signature,
                })
            })
            .collect()
    }
}

/// Where `value` is in `list`, added at the end if new; `None` past what an index can hold.
fn index_of<T: PartialEq>(list: &mut Vec<T>, value: T) -> Option<u16> {
    let index = match list.iter().position(|v| *v == value) {
        Some(index) => index,
        None => {
            list.push(value);
            list.len() - 1
        }
    };
    u16::try_from(index).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(signer: u8, kind: VoteKind, signature: u8) -> Vote {
        Vote {
            round: Round(7),
            kind,
            signer: PeerId([signer; 32]),
            signature: Signature([signature; 64]),
        }
    }

    #[test]
    fn votes_come_back_as_received_and_shared_parts_are_stored_once() {
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        let received = [
            vote(1, VoteKind::Notarize(a), 1),
            vote(2, VoteKind::Notarize(a), 2),
            vote(1, VoteKind::Finalize(a), 3),
            vote(2, VoteKind::Dummy, 4),
            vote(1, VoteKind::Notarize(b), 5),
        ];
        let mut record = RoundVotes::default();
        for v in &received {
            assert!(record.add(v));
        }
        assert!(!record.add(&received[0]), "a resend is not stored twice");
        assert_eq!(record.votes(Round(7)).expect("intact"), received);
        assert_eq!(record.signers.len(), 2);
        assert_eq!(record.blocks.len(), 2);
        let encoded = bfte_shared::codec::encode(&record);
        let decoded: RoundVotes = bfte_shared::codec::decode(&encoded, 1 << 20).expect("decodes");
        assert_eq!(decoded, record);
        assert!(
            encoded.len() < received.len() * 80 + 2 * 34 + 2 * 34,
            "{} bytes",
            encoded.len()
        );
    }

    #[test]
    fn a_slot_keeps_at_most_four_variants() {
        let mut record = RoundVotes::default();
        let added = (0..10u8)
            .filter(|i| record.add(&vote(1, VoteKind::Notarize(Hash([*i; 32])), *i)))
            .count();
        assert_eq!(added, MAX_PER_SLOT);
        assert_eq!(
            record.blocks.len(),
            MAX_PER_SLOT,
            "refused votes leave no block behind"
        );
        assert!(
            record.add(&vote(1, VoteKind::Dummy, 0)),
            "another kind has its own slot"
        );
    }

    #[test]
    fn a_damaged_record_reads_as_none() {
        let mut record = RoundVotes::default();
        record.add(&vote(1, VoteKind::Finalize(Hash([1; 32])), 1));
        record.blocks.clear();
        assert_eq!(record.votes(Round(7)), None);
        let mut record = RoundVotes::default();
        record.add(&vote(1, VoteKind::Dummy, 1));
        record.votes[0].1 = 9;
        assert_eq!(record.votes(Round(7)), None);
    }
}
