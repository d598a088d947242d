//! Proposals: the leader builds one, every peer checks the first one it sees and votes.

use std::collections::BTreeMap;

use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::crypto::SignedBytes;
use bfte_shared::hash::Hash;
use bfte_shared::message::Message;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::{Proposal, VoteKind};

use super::core::{Core, FUTURE_ROUNDS};
use super::io::{Destination, Evidence};
#[cfg(feature = "mutants")]
use super::mutants::Mutation;

/// Why this peer does not vote for a proposal (yet).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Never valid: the round gets no vote from this peer.
    Invalid(&'static str),
    /// A certificate or block it builds on is not known yet: ask peers, check again when one
    /// arrives.
    Missing(&'static str),
    /// Known to be coming from this node itself (the ledger's state root): check again then.
    Waiting(&'static str),
}

impl Core {
    pub(super) fn on_proposal(&mut self, from: PeerId, proposal: Proposal) {
        let round = proposal.block.header.round;
        if proposal.block.header.proposer != from || round <= self.tip.round {
            return;
        }
        if round.0 > self.round.0.saturating_add(1) {
            self.maybe_pull(from);
            if round.0 > self.round.0.saturating_add(FUTURE_ROUNDS) {
                return;
            }
        }
        if self.leader(round) != from {
            return;
        }
        let hash = proposal.block.hash();
        let bytes = proposal.signing_bytes(&self.domain, hash);
        let signed = SignedBytes {
            signer: &from,
            message: &bytes,
            signature: &proposal.signature,
        };
        if !self.verifier.verify(signed) {
            return;
        }
        if let Some(index) = self.peers.index_of(&from) {
            self.mark_active(round, index);
        }
        let state = self.rounds.entry(round).or_default();
        if let Some(first) = &state.proposal {
            if first.block.hash() != hash {
                let pair = Box::new((first.clone(), proposal.clone()));
                self.out.evidence.push(Evidence::ConflictingProposals(pair));
                #[cfg(feature = "mutants")]
                if self.mutated(Mutation::VoteForEveryProposal) {
                    let state = self.rounds.entry(round).or_default();
                    state.proposal = Some(proposal);
                    state.own_notarize = None;
                    self.try_vote();
                }
            }
            return;
        }
        state.proposal = Some(proposal.clone());
        if proposal.block.payload_matches() {
            self.learn_block(proposal.block);
        }
        self.try_vote();
    }

    /// Votes for the current round's proposal once everything it builds on is known.
    pub(super) fn try_vote(&mut self) {
        let round = self.round;
        let Some(state) = self.rounds.get(&round) else {
            return;
        };
        if state.own_notarize.is_some()
            || state.own_dummy.is_some()
            || state.proposal_rejected.is_some()
        {
            return;
        }
        let Some(proposal) = &state.proposal else {
            return;
        };
        let block = proposal.block.clone();
        match self.validate(&block) {
            Ok(()) => self.cast_vote(round, VoteKind::Notarize(block.hash())),
            Err(Verdict::Invalid(why)) => {
                tracing::debug!(peer = %self.me.short(), now = self.now, %round, why, "rejected proposal");
                if let Some(state) = self.rounds.get_mut(&round) {
                    state.proposal_rejected = Some(why);
                }
            }
            Err(Verdict::Missing(what)) => {
                tracing::trace!(peer = %self.me.short(), now = self.now, %round, what, "proposal waits");
                self.want_block();
            }
            Err(Verdict::Waiting(what)) => {
                tracing::trace!(peer = %self.me.short(), now = self.now, %round, what, "proposal waits");
            }
        }
    }

    /// The header of a block this peer may build on: the finalized tip or a known block.
    fn known_header(&self, hash: &Hash) -> Option<&BlockHeader> {
        if *hash == self.tip_hash {
            Some(&self.tip)
        } else {
            self.blocks.get(hash).map(|block| &block.header)
        }
    }

    /// Every round strictly between `parent_round` and `round` has a dummy certificate.
    fn skipped_rounds_dummy(&self, parent_round: Round, round: Round) -> bool {
        (parent_round.0 + 1..round.0).all(|r| {
            self.rounds
                .get(&Round(r))
                .is_some_and(|state| state.dummy_certificate.is_some())
        })
    }

    /// Each author's highest item nonce in the chain ending at `parent`, or None if a block
    /// between it and the finalized tip is unknown.
    fn chain_nonces(&self, parent: Hash) -> Option<BTreeMap<PeerId, u64>> {
        let mut nonces = self.finalized_nonces.clone();
        let mut cursor = parent;
        while cursor != self.tip_hash {
            let block = self.blocks.get(&cursor)?;
            for item in &block.payload.items {
                let nonce = nonces.entry(item.author).or_insert(0);
                *nonce = (*nonce).max(item.nonce);
            }
            cursor = block.header.parent;
        }
        Some(nonces)
    }

    fn validate(&self, block: &Block) -> Result<(), Verdict> {
        let header = &block.header;
        if !block.payload_matches() {
            return Err(Verdict::Invalid("payload does not match its hash"));
        }
        if header.config_hash != self.config_hash {
            return Err(Verdict::Invalid("wrong peer set or parameters"));
        }
        if block.payload.weight() > self.params.max_block_items as usize
            || block.payload.encoded_len() > self.params.max_block_bytes as usize
        {
            return Err(Verdict::Invalid("payload over the block limits"));
        }
        let parent_hash = header.parent;
        let Some(parent) = self.known_header(&parent_hash) else {
            return Err(Verdict::Missing("the parent block"));
        };
        if parent_hash != self.tip_hash {
            if parent.round <= self.tip.round {
                return Err(Verdict::Invalid("parent is below the finalized tip"));
            }
            let notarized = self
                .rounds
                .get(&parent.round)
                .and_then(|state| state.notarized_block());
            if notarized != Some(parent_hash) {
                return Err(Verdict::Missing("the parent's notarization"));
            }
        }
        if parent.round >= header.round {
            return Err(Verdict::Invalid("parent is not from an earlier round"));
        }
        if header.height != parent.height.next() {
            return Err(Verdict::Invalid("height is not parent height + 1"));
        }
        if header.timestamp_ms < parent.timestamp_ms
            || header.timestamp_ms > self.wall_ms.saturating_add(self.params.max_clock_drift_ms)
        {
            return Err(Verdict::Invalid("timestamp out of range"));
        }
        if !self.skipped_rounds_dummy(parent.round, header.round) {
            return Err(Verdict::Missing("a dummy certificate of a skipped round"));
        }
        let Some(nonces) = self.chain_nonces(parent_hash) else {
            return Err(Verdict::Missing(
                "a block between the parent and the finalized tip",
            ));
        };
        self.validate_items(&block.payload, nonces)?;
        self.check_commitment(header, parent)
    }

    /// Items come from federation peers, each author's nonces following on from the chain's
    /// without a gap (so none is ever skipped, and none can be replayed), with
    /// valid signatures (checked in one batch, skipping items already verified in the pool).
    fn validate_items(
        &self,
        payload: &Payload,
        mut nonces: BTreeMap<PeerId, u64>,
    ) -> Result<(), Verdict> {
        let mut unverified = Vec::new();
        for item in &payload.items {
            if !self.peers.contains(&item.author) {
                return Err(Verdict::Invalid("item from outside the federation"));
            }
            if item.entries.is_empty() {
                return Err(Verdict::Invalid("item without entries"));
            }
            let last = nonces.entry(item.author).or_insert(0);
            if item.nonce != last.saturating_add(1) {
                return Err(Verdict::Invalid("item nonce replayed or out of sequence"));
            }
            *last = item.nonce;
            if !self.pool.contains_exact(item) {
                unverified.push((item, item.signing_bytes(&self.federation)));
            }
        }
        let batch: Vec<_> = unverified
            .iter()
            .map(|(item, bytes)| item.signed(bytes))
            .collect();
        if self.verifier.verify_batch(&batch) {
            Ok(())
        } else {
            Err(Verdict::Invalid("an item signature does not verify"))
        }
    }

    /// The block a proposal for `round` extends: the highest notarized block below it whose
    /// later rounds all have dummy certificates, or None while that is not known.
    fn parent_for(&self, round: Round) -> Option<Hash> {
        let mut r = round.0.saturating_sub(1);
        while r > self.tip.round.0 {
            let state = self.rounds.get(&Round(r))?;
            match state.notarized_block() {
                Some(hash) if self.blocks.contains_key(&hash) => return Some(hash),
                _ if state.dummy_certificate.is_some() => r -= 1,
                _ => return None,
            }
        }
        Some(self.tip_hash)
    }

    /// Rounds at or below this one get no proposal from this core.
    fn proposal_floor(&self) -> Round {
        #[cfg(feature = "mutants")]
        if self.mutated(Mutation::NoProposalFloor) {
            return Round(0);
        }
        self.proposes_above
    }

    /// As leader of the current round, with work pending, proposes once.
    pub(super) fn try_propose(&mut self) {
        let round = self.round;
        if self.leader(round) != self.me
            || !self.has_work()
            || !self.may_sign(round)
            || round <= self.proposal_floor()
        {
            return;
        }
        let state = self.rounds.entry(round).or_default();
        if state.proposal.is_some() || state.own_notarize.is_some() || state.own_dummy.is_some() {
            return;
        }
        tracing::trace!(peer = %self.me.short(), now = self.now, %round, parent = ?self.parent_for(round), "leader wants to propose");
        let Some(parent_hash) = self.parent_for(round) else {
            self.want_block();
            return;
        };
        let Some(nonces) = self.chain_nonces(parent_hash) else {
            self.want_block();
            return;
        };
        let Some(parent) = self.known_header(&parent_hash).cloned() else {
            return;
        };
        let items = self.pool.select(
            &nonces,
            round,
            self.params.max_block_bytes as usize,
            self.params.max_block_items as usize,
        );
        // With every pending item already in the notarized chain, an empty block is only
        // needed when that chain stopped finalizing on its own (a round went by without it).
        let finality_stalled = self.round.0 > self.tip.round.0 + 2;
        if items.is_empty() && !finality_stalled {
            return;
        }
        let payload = Payload { items };
        let (state_height, state_root) = self.commitment_for(&parent);
        let block = Block {
            header: BlockHeader {
                round,
                height: parent.height.next(),
                parent: parent_hash,
                payload_hash: payload.hash(),
                timestamp_ms: self.wall_ms.max(parent.timestamp_ms),
                config_hash: self.config_hash,
                state_root,
                state_height,
                proposer: self.me,
            },
            payload,
        };
        let hash = block.hash();
        let proposal = Proposal::new(&self.domain, self.signer.as_ref(), block.clone());
        self.blocks.insert(hash, block);
        self.rounds.entry(round).or_default().proposal = Some(proposal.clone());
        if let Some(index) = self.my_index {
            self.mark_active(round, index);
        }
        self.send(Destination::AllPeers, Message::Proposal(proposal));
        self.cast_vote(round, VoteKind::Notarize(hash));
    }
}
