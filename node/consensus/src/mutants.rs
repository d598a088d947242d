//! Deliberately broken rules (the `mutants` feature, for tests only): each shows that the
//! simulator's invariant checker catches that kind of bug.

/// A deliberately broken rule, so tests can show the simulator catches each kind of bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Vote for every proposal of a round, not just the first.
    VoteForEveryProposal,
    /// Send finalize for a round even after voting dummy in it.
    FinalizeAfterDummy,
    /// Forget own votes across a restart.
    ForgetVotesOnRestart,
    /// Count one vote short of a quorum as a quorum.
    QuorumMinusOne,
    /// Never re-send votes or items, nor pull on the resend timer.
    NoResend,
    /// Vote for proposals without checking their state commitment.
    SkipStateCheck,
    /// Sign at once after a restore from a backup, as if the floor were known (SPEC rule 15).
    NoRestoreFloor,
    /// Propose after a restart in rounds where a proposal sent before its batch was durable
    /// may have been lost (`CoreConfig::proposes_above`).
    NoProposalFloor,
}
