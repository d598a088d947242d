//! What one peer knows about one round: its own votes, everyone's tallies, the certificates.

use std::collections::{BTreeMap, BTreeSet};

use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::peer::Signature;
use bfte_shared::vote::{Proposal, Vote};

/// Signatures collected for one vote, by signer index. Signatures are verified lazily, in one
/// batch, once there are enough of them to form a certificate.
#[derive(Debug, Default, Clone)]
pub struct VoteSet {
    pub verified: BTreeMap<usize, Signature>,
    pub unverified: BTreeMap<usize, Signature>,
}

impl VoteSet {
    pub fn len(&self) -> usize {
        self.verified.len() + self.unverified.len()
    }

    pub fn contains(&self, signer: usize) -> bool {
        self.verified.contains_key(&signer) || self.unverified.contains_key(&signer)
    }

    pub fn signature(&self, signer: usize) -> Option<Signature> {
        self.verified
            .get(&signer)
            .or_else(|| self.unverified.get(&signer))
            .copied()
    }
}

#[derive(Debug, Default, Clone)]
pub struct RoundState {
    /// The leader's first validly signed proposal; no other is ever considered.
    pub proposal: Option<Proposal>,
    /// The proposal was checked and is invalid, for this reason: never vote for anything in
    /// this round. Kept as the reason, which operators see as the cause of the dummy round.
    pub proposal_rejected: Option<&'static str>,
    /// This peer's signed votes in the round (at most one of each kind).
    pub own_notarize: Option<Vote>,
    pub own_dummy: Option<Vote>,
    pub own_finalize: Option<Vote>,
    pub notarize: BTreeMap<Hash, VoteSet>,
    pub dummy: VoteSet,
    pub finalize: BTreeMap<Hash, VoteSet>,
    pub notarization: Option<Certificate>,
    pub dummy_certificate: Option<Certificate>,
    pub finalization: Option<Certificate>,
    /// Peers seen proposing or voting in this round. Once more than f did, some correct peer
    /// has work, so the round's timer must run even without own work.
    pub active: BTreeSet<usize>,
}

impl RoundState {
    pub fn notarized_block(&self) -> Option<Hash> {
        self.notarization.as_ref().and_then(|c| c.kind.block())
    }

    pub fn finalized_block(&self) -> Option<Hash> {
        self.finalization.as_ref().and_then(|c| c.kind.block())
    }

    /// The round's finalization, notarization or dummy certificate, whichever it has.
    pub fn any_certificate(&self) -> Option<&Certificate> {
        self.finalization
            .as_ref()
            .or(self.notarization.as_ref())
            .or(self.dummy_certificate.as_ref())
    }

    /// A notarization, a dummy certificate or a finalization: the round is over.
    pub fn is_certified(&self) -> bool {
        self.notarization.is_some()
            || self.dummy_certificate.is_some()
            || self.finalization.is_some()
    }
}
