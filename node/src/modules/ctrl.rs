//! Consensus control: the federation changes its own peers, parameters and modules by vote. A
//! proposal passes once a quorum of the peers in force voted yes; its change goes into the
//! `pending` configuration, which the ledger puts in force once the whole block is applied, so
//! the items after it in that block still apply under the peers in force.

use bfte_shared::codec;
use bfte_shared::federation::{ConsensusParams, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::modules::ctrl::{
    Change, CtrlItem, EpochConfig, MAX_ADDR_BYTES, MAX_PEER_ADDRS, MAX_PEER_NAME_BYTES, Member,
    PASSED, Proposal, ProposalId, ProposalStatus,
};
use bfte_shared::modules::evidence::{MISBEHAVIOUR, Misbehaviour};
use bfte_shared::modules::{CONSENSUS_CTRL, Effect, MAX_NAME_BYTES};
use bfte_shared::peer::PeerId;

use super::{ApplyError, Context, Module, ModuleInfo, Rejected, decode_item, ensure};
use crate::ledger::{LedgerError, ModuleState};

pub use bfte_shared::modules::ctrl::{
    CONFIG, CURRENT, EPOCHS, NEXT_ID, OPEN, PENDING, PROPOSALS, epoch_key, proposal_key,
};

fn open_key(change: &Change) -> Hash {
    Hash::of(b"bfte/v1/ctrl-change\0", change)
}

#[derive(Debug)]
pub struct Ctrl;

/// The configuration in force, as the ledger last wrote it.
pub fn current(state: &ModuleState<'_, '_>) -> Result<Option<EpochConfig>, LedgerError> {
    state.get(CONFIG, CURRENT)
}

/// Whether a configuration is in force, which it is from the first block on (read without
/// decoding it, as every block asks).
pub fn installed(state: &ModuleState<'_, '_>) -> Result<bool, LedgerError> {
    state.contains(CONFIG, CURRENT)
}

/// Records `config` as the one in force and as the start of its epoch: the genesis
/// configuration, written when the first block is applied.
pub fn install(state: &mut ModuleState<'_, '_>, config: &EpochConfig) {
    state.put(CONFIG, CURRENT, config);
    state.put(EPOCHS, &epoch_key(config.number), config);
}

/// At the end of a block: puts the configuration its passed changes built in force, and
/// returns it; `None` if nothing passed.
pub fn finish_block(state: &mut ModuleState<'_, '_>) -> Result<Option<EpochConfig>, LedgerError> {
    let Some(next) = state.get::<EpochConfig>(CONFIG, PENDING)? else {
        return Ok(None);
    };
    let number = current(state)?.map(|c| c.number);
    state.delete(CONFIG, PENDING);
    state.put(CONFIG, CURRENT, &next);
    if number != Some(next.number) {
        state.put(EPOCHS, &epoch_key(next.number), &next);
    }
    Ok(Some(next))
}

/// The config table holds something no applied block could have written.
fn damaged(detail: &str) -> ApplyError {
    ApplyError::Ledger(LedgerError::Corrupt {
        table: format!("module/{}/{CONFIG}", CONSENSUS_CTRL.0),
        detail: detail.into(),
    })
}

fn in_force(state: &ModuleState<'_, '_>) -> Result<EpochConfig, ApplyError> {
    current(state)?.ok_or_else(|| damaged("no configuration in force"))
}

/// The configuration as this block's passed changes left it so far: what a change must still
/// apply to.
fn upcoming(state: &ModuleState<'_, '_>) -> Result<EpochConfig, ApplyError> {
    match state.get(CONFIG, PENDING)? {
        Some(pending) => Ok(pending),
        None => in_force(state),
    }
}

/// Whether `change` applies to `config`: the same answer on every peer.
fn validate(change: &Change, config: &EpochConfig) -> Result<(), ApplyError> {
    match change {
        Change::AddPeer(member) => validate_member(member, config),
        Change::RemovePeer { id } => {
            ensure(config.member(id).is_some(), || {
                format!("{} is not a member", id.short())
            })?;
            ensure(config.members.len() > 1, || {
                "the last member cannot be removed".into()
            })
        }
        Change::SetParams(params) => {
            validate_params(params).map_err(|reason| ApplyError::Rejected(Rejected(reason)))?;
            ensure(*params != config.params, || {
                "these are the parameters in force".into()
            })
        }
        Change::EnableModule(module) => {
            ensure(
                !module.kind.is_empty() && module.kind.len() <= MAX_NAME_BYTES,
                || format!("a module kind is 1 to {MAX_NAME_BYTES} bytes"),
            )?;
            ensure(config.modules.iter().all(|m| m.id != module.id), || {
                format!("module {} is already enabled", module.id.0)
            })
        }
        Change::UpgradeModule { id, version } => {
            let Some(enabled) = config.modules.iter().find(|m| m.id == *id) else {
                return Err(Rejected(format!("module {} is not enabled", id.0)).into());
            };
            ensure(enabled.version != *version, || {
                format!("module {} already runs version {version}", id.0)
            })
        }
    }
}

fn validate_member(member: &Member, config: &EpochConfig) -> Result<(), ApplyError> {
    ensure(member.id.verifying_key().is_ok(), || {
        format!("{} is not a valid peer key", member.id.short())
    })?;
    ensure(config.member(&member.id).is_none(), || {
        format!("{} is already a member", member.id.short())
    })?;
    ensure(config.members.len() < PeerSet::MAX, || {
        format!("a federation has at most {} peers", PeerSet::MAX)
    })?;
    ensure(
        !member.name.is_empty() && member.name.len() <= MAX_PEER_NAME_BYTES,
        || format!("a peer name is 1 to {MAX_PEER_NAME_BYTES} bytes"),
    )?;
    ensure(
        member.addrs.len() <= MAX_PEER_ADDRS
            && member.addrs.iter().all(|a| a.len() <= MAX_ADDR_BYTES),
        || format!("at most {MAX_PEER_ADDRS} addresses of at most {MAX_ADDR_BYTES} bytes each"),
    )
}

/// The shortest round timeout and resend interval consensus runs with (no busy loops).
pub const MIN_TIMEOUT_MS: u64 = 10;
/// The smallest block payload limit: room for a block.
pub const MIN_BLOCK_BYTES: u32 = 4096;
/// The most times the round timeout may double.
pub const MAX_BACKOFF_DOUBLINGS: u8 = 16;

/// Values the consensus core can run with: no busy loops, room for a block, bounded backoff.
/// Genesis files and `bfte propose params` are checked by it too, before they reach a ledger.
pub fn validate_params(params: &ConsensusParams) -> Result<(), String> {
    if params.round_timeout_ms < MIN_TIMEOUT_MS || params.resend_interval_ms < MIN_TIMEOUT_MS {
        return Err(format!(
            "round timeout and resend interval are at least {MIN_TIMEOUT_MS} ms"
        ));
    }
    if params.max_block_bytes < MIN_BLOCK_BYTES || params.max_block_items < 1 {
        return Err(format!(
            "blocks must hold at least {MIN_BLOCK_BYTES} bytes and one item"
        ));
    }
    if params.max_backoff_doublings > MAX_BACKOFF_DOUBLINGS {
        return Err(format!(
            "the timeout doubles at most {MAX_BACKOFF_DOUBLINGS} times"
        ));
    }
    Ok(())
}

/// `next` with `change` applied; members and modules stay sorted by id.
fn apply_change(next: &mut EpochConfig, change: &Change) {
    match change {
        Change::AddPeer(member) => {
            next.members.push(member.clone());
            next.members.sort_by_key(|m| m.id);
        }
        Change::RemovePeer { id } => next.members.retain(|m| m.id != *id),
        Change::SetParams(params) => next.params = params.clone(),
        Change::EnableModule(module) => {
            next.modules.push(module.clone());
            next.modules.sort_by_key(|m| m.id);
        }
        Change::UpgradeModule { id, version } => {
            for module in next.modules.iter_mut().filter(|m| m.id == *id) {
                module.version = *version;
            }
        }
    }
}

/// Records `voter`'s vote, replacing an earlier one; the same vote again is refused.
fn cast(proposal: &mut Proposal, voter: PeerId, yes: bool) -> Result<(), ApplyError> {
    match proposal
        .votes
        .binary_search_by_key(&voter, |(peer, _)| *peer)
    {
        Ok(index) => {
            ensure(proposal.votes[index].1 != yes, || {
                format!(
                    "{} already voted {} on proposal {}",
                    voter.short(),
                    if yes { "yes" } else { "no" },
                    proposal.id
                )
            })?;
            proposal.votes[index].1 = yes;
        }
        Err(index) => proposal.votes.insert(index, (voter, yes)),
    }
    Ok(())
}

/// Passes or rejects `proposal` if the votes of the peers in force decide it.
fn decide(
    context: &Context<'_>,
    state: &mut ModuleState<'_, '_>,
    proposal: &mut Proposal,
) -> Result<Vec<Effect>, ApplyError> {
    let count = |yes: bool| {
        proposal
            .votes
            .iter()
            .filter(|(peer, vote)| *vote == yes && context.peers.contains(peer))
            .count()
    };
    let (n, q) = (context.peers.len(), context.peers.quorum());
    let rejected = ProposalStatus::Rejected {
        height: context.height,
    };
    if count(true) < q {
        // More noes than n - q leave fewer possible yes votes than a quorum.
        if count(false) > n - q {
            proposal.status = rejected;
            state.delete(OPEN, &open_key(&proposal.change).0);
        }
        return Ok(Vec::new());
    }
    state.delete(OPEN, &open_key(&proposal.change).0);
    let mut next = upcoming(state)?;
    // A change passed earlier may have made this one moot (the peer was added already).
    match validate(&proposal.change, &next) {
        Ok(()) => {}
        Err(ApplyError::Rejected(_)) => {
            proposal.status = rejected;
            return Ok(Vec::new());
        }
        Err(error) => return Err(error),
    }
    apply_change(&mut next, &proposal.change);
    if proposal.change.ends_epoch() {
        let number = in_force(state)?.number.checked_add(1);
        next.number = number.ok_or_else(|| damaged("the last epoch number"))?;
        next.start_height = context.height;
        next.start_block = context.block;
    }
    state.put(CONFIG, PENDING, &next);
    proposal.status = ProposalStatus::Passed {
        height: context.height,
    };
    Ok(vec![Effect {
        from: CONSENSUS_CTRL,
        kind: PASSED.into(),
        data: codec::encode(proposal),
    }])
}

/// A new proposal of `change` by the item's author, or the open proposal of the same change.
fn propose(
    context: &Context<'_>,
    state: &mut ModuleState<'_, '_>,
    change: Change,
) -> Result<Proposal, ApplyError> {
    let open = open_key(&change);
    if let Some(id) = state.get::<ProposalId>(OPEN, &open.0)? {
        let mut proposal = load(state, id)?;
        cast(&mut proposal, context.author, true)?;
        return Ok(proposal);
    }
    validate(&change, &upcoming(state)?)?;
    open_proposal(context, state, change, vec![(context.author, true)])
}

/// Numbers a new open proposal of `change` by the item's author, with `votes`.
fn open_proposal(
    context: &Context<'_>,
    state: &mut ModuleState<'_, '_>,
    change: Change,
    votes: Vec<(PeerId, bool)>,
) -> Result<Proposal, ApplyError> {
    let id = ProposalId(state.get(CONFIG, NEXT_ID)?.unwrap_or(1));
    let next =
        id.0.checked_add(1)
            .ok_or_else(|| damaged("the last proposal id"))?;
    state.put(CONFIG, NEXT_ID, &next);
    state.put(OPEN, &open_key(&change).0, &id);
    Ok(Proposal {
        id,
        change,
        proposer: context.author,
        height: context.height,
        votes,
        status: ProposalStatus::Open,
    })
}

/// Proven misbehaviour (the evidence module's effect) opens a proposal to remove the offender,
/// with no votes yet: admins see it among the proposals and decide. Nothing happens if the
/// offender is no longer a member or such a proposal is already open.
fn suggest_removal(
    context: &Context<'_>,
    state: &mut ModuleState<'_, '_>,
    misbehaviour: &Misbehaviour,
) -> Result<(), ApplyError> {
    let change = Change::RemovePeer {
        id: misbehaviour.offender,
    };
    if state
        .get::<ProposalId>(OPEN, &open_key(&change).0)?
        .is_some()
        || validate(&change, &upcoming(state)?).is_err()
    {
        return Ok(());
    }
    let proposal = open_proposal(context, state, change, Vec::new())?;
    state.put(PROPOSALS, &proposal_key(proposal.id), &proposal);
    Ok(())
}

fn load(state: &ModuleState<'_, '_>, id: ProposalId) -> Result<Proposal, ApplyError> {
    let proposal = state.get::<Proposal>(PROPOSALS, &proposal_key(id))?;
    proposal.ok_or_else(|| Rejected(format!("there is no proposal {id}")).into())
}

impl Module for Ctrl {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            id: CONSENSUS_CTRL,
            kind: "consensus_ctrl",
            version: 1,
        }
    }

    fn apply(
        &self,
        context: &Context<'_>,
        data: &[u8],
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let item: CtrlItem = decode_item(data)?;
        ensure(context.peers.contains(&context.author), || {
            "only peers in force propose and vote on changes".into()
        })?;
        let mut proposal = match item {
            CtrlItem::Propose(change) => propose(context, state, change)?,
            CtrlItem::Vote { proposal, yes } => {
                let mut proposal = load(state, proposal)?;
                ensure(proposal.status == ProposalStatus::Open, || {
                    format!("proposal {} is no longer open", proposal.id)
                })?;
                cast(&mut proposal, context.author, yes)?;
                proposal
            }
        };
        let effects = decide(context, state, &mut proposal)?;
        state.put(PROPOSALS, &proposal_key(proposal.id), &proposal);
        Ok(effects)
    }

    fn on_effect(
        &self,
        context: &Context<'_>,
        effect: &Effect,
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        if effect.kind == MISBEHAVIOUR
            && let Ok(misbehaviour) = codec::decode::<Misbehaviour>(&effect.data, 1024)
        {
            suggest_removal(context, state, &misbehaviour)?;
        }
        Ok(Vec::new())
    }
}
