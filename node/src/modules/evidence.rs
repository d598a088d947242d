//! Evidence: a proof that a peer signed two conflicting messages is checked here (both
//! signatures, and that the two really conflict), recorded once per offender and round, and
//! announced as an effect. Admins see recorded offenders as suggested removals.

use bfte_shared::codec;
use bfte_shared::crypto::{Ed25519Verifier, SignedBytes, Verifier};
use bfte_shared::modules::evidence::{MISBEHAVIOUR, Misbehaviour, Proof};
use bfte_shared::modules::{EVIDENCE, Effect};
use bfte_shared::vote::proposal_signing_bytes;

use super::{ApplyError, Context, Module, ModuleInfo, decode_item, ensure};
use crate::ledger::ModuleState;

pub use bfte_shared::modules::evidence::PROOFS;

#[derive(Debug)]
pub struct Evidence;

/// The proof of what the core caught.
pub fn proof_of(evidence: &bfte_consensus::Evidence) -> Proof {
    match evidence {
        bfte_consensus::Evidence::ConflictingVotes(pair) => Proof::Votes {
            first: pair.0.clone(),
            second: pair.1.clone(),
        },
        bfte_consensus::Evidence::ConflictingProposals(pair) => {
            let (first, second) = &**pair;
            Proof::Proposals {
                proposer: first.block.header.proposer,
                round: first.block.header.round,
                first: (first.block.hash(), first.signature),
                second: (second.block.hash(), second.signature),
            }
        }
    }
}

/// Whether the proof shows two validly signed messages a correct peer never signs together.
fn holds(context: &Context<'_>, proof: &Proof) -> bool {
    let verifier = Ed25519Verifier;
    match proof {
        Proof::Votes { first, second } => {
            let valid = |vote: &bfte_shared::vote::Vote| {
                verifier.verify(vote.signed(&vote.signing_bytes(context.federation)))
            };
            first.signer == second.signer
                && first.round == second.round
                && first.kind.conflicts_with(second.kind)
                && valid(first)
                && valid(second)
        }
        Proof::Proposals {
            proposer,
            round,
            first,
            second,
        } => {
            let valid = |(block, signature): &(bfte_shared::hash::Hash, _)| {
                let message = proposal_signing_bytes(context.federation, *round, *block);
                verifier.verify(SignedBytes {
                    signer: proposer,
                    message: &message,
                    signature,
                })
            };
            first.0 != second.0 && valid(first) && valid(second)
        }
    }
}

impl Module for Evidence {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            id: EVIDENCE,
            kind: "evidence",
            version: 1,
        }
    }

    fn apply(
        &self,
        context: &Context<'_>,
        data: &[u8],
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let proof: Proof = decode_item(data)?;
        ensure(holds(context, &proof), || {
            "the proof does not show two validly signed conflicting messages".into()
        })?;
        let (offender, round) = proof.offence();
        let key = codec::encode(&(offender, round));
        let known: Option<Proof> = state.get(PROOFS, &key)?;
        ensure(known.is_none(), || {
            format!(
                "{} is already proven to have misbehaved in round {round}",
                offender.short()
            )
        })?;
        state.put(PROOFS, &key, &proof);
        let body = Misbehaviour { offender, round };
        Ok(vec![Effect {
            from: EVIDENCE,
            kind: MISBEHAVIOUR.into(),
            data: codec::encode(&body),
        }])
    }
}
