//! The federation: its peer set, consensus parameters and identity.

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::peer::PeerId;

/// Tunables of the consensus core. Part of the hashed configuration: every peer uses the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusParams {
    /// Δ: the base round timeout.
    pub round_timeout_ms: u64,
    /// The round timeout doubles per round finality lags, at most this many times.
    pub max_backoff_doublings: u8,
    /// How often unanswered dummy and finalize votes are re-sent and missing rounds pulled.
    pub resend_interval_ms: u64,
    /// Largest encoded payload a block may carry.
    pub max_block_bytes: u32,
    /// Most items a block may carry.
    pub max_block_items: u32,
    /// How far a proposal's timestamp may run ahead of a voter's clock.
    pub max_clock_drift_ms: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            round_timeout_ms: 1_000,
            max_backoff_doublings: 5,
            resend_interval_ms: 500,
            max_block_bytes: 1 << 20,
            max_block_items: 10_000,
            max_clock_drift_ms: 5_000,
        }
    }
}

/// The voting peers, sorted by id without duplicates. A peer's index is its position here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<PeerId>", into = "Vec<PeerId>")]
pub struct PeerSet(Vec<PeerId>);

/// Why a list of peers is not a peer set.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPeerSet {
    #[error("a federation needs at least one peer")]
    Empty,
    #[error("peer {0} is listed twice")]
    Duplicate(PeerId),
    #[error("a federation has at most {max} peers, got {got}", max = PeerSet::MAX)]
    TooMany { got: usize },
    #[error("{0} is not a valid ed25519 public key")]
    NotAKey(PeerId),
}

impl PeerSet {
    pub const MAX: usize = 1024;

    pub fn new(mut peers: Vec<PeerId>) -> Result<Self, InvalidPeerSet> {
        if peers.is_empty() {
            return Err(InvalidPeerSet::Empty);
        }
        if peers.len() > Self::MAX {
            return Err(InvalidPeerSet::TooMany { got: peers.len() });
        }
        peers.sort();
        if let Some(pair) = peers.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(InvalidPeerSet::Duplicate(pair[0]));
        }
        if let Some(bad) = peers.iter().find(|p| p.verifying_key().is_err()) {
            return Err(InvalidPeerSet::NotAKey(*bad));
        }
        Ok(PeerSet(peers))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// f: the most Byzantine peers the set tolerates, floor((n-1)/3).
    pub fn max_faulty(&self) -> usize {
        (self.len() - 1) / 3
    }

    /// q = n - f: any two quorums share at least f+1 peers, so at least one correct one.
    pub fn quorum(&self) -> usize {
        self.len() - self.max_faulty()
    }

    pub fn index_of(&self, peer: &PeerId) -> Option<usize> {
        self.0.binary_search(peer).ok()
    }

    pub fn get(&self, index: usize) -> Option<&PeerId> {
        self.0.get(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PeerId> {
        self.0.iter()
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.index_of(peer).is_some()
    }
}

impl TryFrom<Vec<PeerId>> for PeerSet {
    type Error = InvalidPeerSet;
    fn try_from(peers: Vec<PeerId>) -> Result<Self, Self::Error> {
        PeerSet::new(peers)
    }
}

impl From<PeerSet> for Vec<PeerId> {
    fn from(set: PeerSet) -> Self {
        set.0
    }
}

/// Hash of the genesis: names the federation, and is signed into every vote and item so that
/// nothing signed for one federation is valid in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FederationId(pub Hash);

/// What founding peers agree on before the first round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub name: String,
    pub peers: PeerSet,
    pub params: ConsensusParams,
    pub timestamp_ms: u64,
}

impl Genesis {
    pub fn federation_id(&self) -> FederationId {
        FederationId(Hash::of(b"bfte/v1/genesis\0", self))
    }

    /// Hash of the peer set and parameters in force; every block header commits to it.
    pub fn config_hash(&self) -> Hash {
        Hash::of(b"bfte/v1/config\0", &(&self.peers, &self.params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::PeerSecret;

    fn peers(n: u8) -> Vec<PeerId> {
        (0..n)
            .map(|i| PeerSecret::from_seed([i; 32]).peer_id())
            .collect()
    }

    #[test]
    fn quorum_is_n_minus_f() {
        let expect = [
            (1, 0, 1),
            (2, 0, 2),
            (3, 0, 3),
            (4, 1, 3),
            (5, 1, 4),
            (6, 1, 5),
            (7, 2, 5),
            (10, 3, 7),
            (16, 5, 11),
        ];
        for (n, f, q) in expect {
            let set = PeerSet::new(peers(n)).expect("valid peers");
            assert_eq!((set.max_faulty(), set.quorum()), (f, q), "n = {n}");
            // Two quorums intersect in more than f peers.
            assert!(2 * q - set.len() > f);
        }
    }

    #[test]
    fn peer_sets_reject_duplicates_and_empty() {
        let mut list = peers(3);
        list.push(list[0]);
        assert!(matches!(
            PeerSet::new(list),
            Err(InvalidPeerSet::Duplicate(_))
        ));
        assert_eq!(PeerSet::new(vec![]), Err(InvalidPeerSet::Empty));
        let not_a_key = (0..=255u8)
            .map(|b| PeerId([b; 32]))
            .find(|id| id.verifying_key().is_err())
            .expect("some byte pattern is not a curve point");
        let bytes = crate::codec::encode(&vec![not_a_key]);
        assert!(crate::codec::decode::<PeerSet>(&bytes, 1024).is_err());
    }
}
