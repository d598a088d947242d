//! Attestations: a peer attests a claim about a subject; the statement is final once the
//! threshold of peers in force attested it, which emits an effect other modules act on. The
//! threshold is the quorum unless the federation agreed on another through the meta key
//! [`THRESHOLD_KEY`] (an effect this module reacts to).

use bfte_shared::codec;
pub use bfte_shared::modules::attest::Statement;
use bfte_shared::modules::attest::{AttestItem, STATEMENT_FINAL, StatementFinal};
use bfte_shared::modules::meta::{VALUE_SET, ValueSet};
use bfte_shared::modules::{ATTEST, Effect, MAX_NAME_BYTES, MAX_VALUE_BYTES};

use super::{ApplyError, Context, Module, ModuleInfo, decode_item, ensure};
use crate::ledger::ModuleState;

pub use bfte_shared::modules::attest::{CONFIG, STATEMENTS, THRESHOLD_KEY};

#[derive(Debug)]
pub struct Attest;

impl Attest {
    fn threshold(context: &Context<'_>, state: &ModuleState<'_, '_>) -> Result<usize, ApplyError> {
        let agreed: Option<u32> = state.get(CONFIG, b"threshold")?;
        Ok(agreed.map_or(context.peers.quorum(), |t| t as usize))
    }
}

impl Module for Attest {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            id: ATTEST,
            kind: "attest",
            version: 1,
        }
    }

    fn apply(
        &self,
        context: &Context<'_>,
        data: &[u8],
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        let AttestItem::Attest {
            subject,
            claim,
            detail,
        } = decode_item(data)?;
        ensure(context.peers.contains(&context.author), || {
            "only peers in force attest".into()
        })?;
        ensure(
            !subject.is_empty()
                && subject.len() <= MAX_NAME_BYTES
                && !claim.is_empty()
                && claim.len() <= MAX_NAME_BYTES,
            || format!("subject and claim are 1 to {MAX_NAME_BYTES} bytes each"),
        )?;
        ensure(
            detail.as_ref().is_none_or(|d| d.len() <= MAX_VALUE_BYTES),
            || format!("a detail is at most {MAX_VALUE_BYTES} bytes"),
        )?;
        let key = codec::encode(&(&subject, &claim));
        let mut statement: Statement = state.get(STATEMENTS, &key)?.unwrap_or_default();
        ensure(!statement.attesters.contains_key(&context.author), || {
            format!("{} already attested this", context.author.short())
        })?;
        statement.attesters.insert(context.author, detail);
        let attesters = statement
            .attesters
            .keys()
            .filter(|peer| context.peers.contains(peer))
            .count();
        let mut effects = Vec::new();
        if statement.final_at.is_none() && attesters >= Self::threshold(context, state)? {
            statement.final_at = Some(context.height);
            let body = StatementFinal {
                subject,
                claim,
                attesters: attesters as u32,
            };
            effects.push(Effect {
                from: ATTEST,
                kind: STATEMENT_FINAL.into(),
                data: codec::encode(&body),
            });
        }
        state.put(STATEMENTS, &key, &statement);
        Ok(effects)
    }

    /// The federation set the threshold through meta: take it if it is a usable number.
    fn on_effect(
        &self,
        context: &Context<'_>,
        effect: &Effect,
        state: &mut ModuleState<'_, '_>,
    ) -> Result<Vec<Effect>, ApplyError> {
        if effect.kind != VALUE_SET {
            return Ok(Vec::new());
        }
        let Ok(set) = codec::decode::<ValueSet>(&effect.data, MAX_VALUE_BYTES) else {
            return Ok(Vec::new());
        };
        if set.key != THRESHOLD_KEY {
            return Ok(Vec::new());
        }
        let threshold = set.value.parse::<u32>().ok();
        let usable = threshold.filter(|t| (1..=context.peers.len() as u32).contains(t));
        ensure(usable.is_some(), || {
            format!(
                "{THRESHOLD_KEY} must be a number of peers from 1 to {}",
                context.peers.len()
            )
        })?;
        if let Some(threshold) = usable {
            state.put(CONFIG, b"threshold", &threshold);
        }
        Ok(Vec::new())
    }
}
