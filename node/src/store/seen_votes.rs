//! Votes other peers signed, as this node received them: an audit trail that lets anyone check
//! from the outside that no peer ever signed two conflicting votes (a restarted peer that
//! forgot a vote would). Written in a batch every 250 ms with one sync: a crash loses at most
//! the votes received since the last batch.

use std::collections::BTreeMap;

use bfte_shared::crypto::Verifier;
use bfte_shared::federation::FederationId;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Round;
use bfte_shared::vote::Vote;
use redb::{Durability, ReadableTable, TableError};

use super::Store;
use super::codec;
use super::error::StoreError;
use super::round_votes::RoundVotes;
use super::tables::{SEEN_VOTES, name};

/// Rounds of votes kept behind the newest recorded round: enough to audit the recent past (a
/// crash-restart, a suspected double vote) without growing for ever.
pub const SEEN_VOTE_ROUNDS: u64 = 10_000;

impl Store {
    /// Records votes received from peers, as they came (signatures are checked by the audit,
    /// not here), one record per round. Votes older than [`SEEN_VOTE_ROUNDS`] behind the newest
    /// one are pruned.
    pub fn record_seen_votes(&self, votes: &[Vote]) -> Result<(), StoreError> {
        let Some(newest) = votes.iter().map(|v| v.round.0).max() else {
            return Ok(());
        };
        let mut by_round: BTreeMap<u64, Vec<&Vote>> = BTreeMap::new();
        for vote in votes {
            by_round.entry(vote.round.0).or_default().push(vote);
        }
        // Locked first: the durable commit below covers every journaled commit, which lets the
        // journal be emptied after it.
        let mut journal = self.journal();
        let mut txn = self
            .db
            .begin_write()
            .map_err(self.failed("starting a write transaction"))?;
        // Synced: consensus commits sync only their journal, so a node that only follows for a
        // while would otherwise lose everything it recorded meanwhile to a crash. One sync per
        // flush (every 250 ms) bounds the loss to the last flush, and is the journal's
        // checkpoint while rounds run.
        txn.set_durability(Durability::Immediate)
            .map_err(self.failed("requesting immediate durability"))?;
        {
            let mut table = txn
                .open_table(SEEN_VOTES)
                .map_err(self.failed("opening table `seen_votes`"))?;
            for (round, votes) in by_round {
                let mut record: RoundVotes = match table
                    .get(round)
                    .map_err(self.failed("reading table `seen_votes`"))?
                {
                    Some(bytes) => codec::decode(&self.path, name::SEEN_VOTES, bytes.value())?,
                    None => RoundVotes::default(),
                };
                let mut added = false;
                for vote in votes {
                    added |= record.add(vote);
                }
                if !added {
                    continue;
                }
                let bytes = codec::encode(&self.path, name::SEEN_VOTES, &record)?;
                table
                    .insert(round, bytes.as_slice())
                    .map_err(self.failed("writing table `seen_votes`"))?;
            }
            if let Some(oldest_kept) = newest.checked_sub(SEEN_VOTE_ROUNDS) {
                table
                    .retain_in(..oldest_kept, |_, _| false)
                    .map_err(self.failed("pruning table `seen_votes`"))?;
            }
        }
        let written = self.write_unwritten(&txn, &mut journal)?;
        txn.commit().map_err(self.failed("committing seen votes"))?;
        journal.clear(written)
    }

    /// Checks every recorded vote's signature and finds each pair of validly signed votes by
    /// one peer in one round of one epoch that a correct peer never signs together
    /// (`VoteKind::conflicts_with`), in round order. `domains` are the signing domains of the
    /// epochs the trail may span (`EpochConfig::signing_domain`): a vote counts under the
    /// first one its signature verifies with, and not at all under none.
    pub fn audit_seen_votes(
        &self,
        verifier: &dyn Verifier,
        domains: &[FederationId],
    ) -> Result<SeenVoteAudit, StoreError> {
        let txn = self.begin_read()?;
        let table = match txn.open_table(SEEN_VOTES) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(SeenVoteAudit::default()),
            Err(error) => return Err(self.failed("opening table `seen_votes`")(error)),
        };
        let mut audit = SeenVoteAudit::default();
        let mut by_signer_round: BTreeMap<(u64, usize, PeerId), Vec<Vote>> = BTreeMap::new();
        for entry in table
            .iter()
            .map_err(self.failed("reading table `seen_votes`"))?
        {
            let (round, value) = entry.map_err(self.failed("reading table `seen_votes`"))?;
            let round = Round(round.value());
            let record: RoundVotes = codec::decode(&self.path, name::SEEN_VOTES, value.value())?;
            let Some(votes) = record.votes(round) else {
                return Err(StoreError::corrupt(
                    &self.path,
                    name::SEEN_VOTES,
                    format!("the record of {round} names a signer, block or kind it lacks"),
                ));
            };
            for vote in votes {
                let epoch = domains.iter().position(|domain| {
                    let bytes = vote.signing_bytes(domain);
                    verifier.verify(vote.signed(&bytes))
                });
                if let Some(epoch) = epoch {
                    *audit.valid_votes.entry(vote.signer).or_default() += 1;
                    by_signer_round
                        .entry((vote.round.0, epoch, vote.signer))
                        .or_default()
                        .push(vote);
                }
            }
        }
        for votes in by_signer_round.values() {
            for (i, first) in votes.iter().enumerate() {
                for second in &votes[i + 1..] {
                    if first.kind.conflicts_with(second.kind) {
                        audit.conflicts.push((first.clone(), second.clone()));
                    }
                }
            }
        }
        Ok(audit)
    }
}

/// What [`Store::audit_seen_votes`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenVoteAudit {
    /// Validly signed votes recorded, per signer.
    pub valid_votes: BTreeMap<PeerId, usize>,
    /// Pairs of conflicting votes, each proof that its signer broke the protocol.
    pub conflicts: Vec<(Vote, Vote)>,
}
