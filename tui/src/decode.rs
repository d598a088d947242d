//! One line per entry of a consensus item and per effect, decoded by its module: what the
//! block explorer shows. Entries of modules the console does not know, or that do not decode,
//! show as bytes; such effects as their kind and size.

use bfte_shared::codec;
use bfte_shared::item::Entry;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::ctrl::{CtrlItem, PASSED, Proposal};
use bfte_shared::modules::evidence::Proof;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, CONSENSUS_CTRL, DATA, EVIDENCE, Effect, MAX_VALUE_BYTES, META};

/// Module items are far below this; it only bounds a malformed one.
const LIMIT: usize = 4 * MAX_VALUE_BYTES;
/// Bytes of opaque data shown.
const PREVIEW_BYTES: usize = 48;

pub fn describe(entry: &Entry) -> String {
    let decoded =
        match entry.module {
            DATA => Some(format!("data: {}", preview(&entry.data))),
            CONSENSUS_CTRL => codec::decode::<CtrlItem>(&entry.data, LIMIT)
                .ok()
                .map(|ctrl| match ctrl {
                    CtrlItem::Propose(change) => format!("ctrl: propose {}", change.describe()),
                    CtrlItem::Vote { proposal, yes } => format!(
                        "ctrl: vote {} on proposal {proposal}",
                        if yes { "yes" } else { "no" }
                    ),
                }),
            META => codec::decode::<MetaItem>(&entry.data, LIMIT).ok().map(
                |MetaItem::Propose { key, value }| format!("meta: propose {key} = \"{value}\""),
            ),
            ATTEST => codec::decode::<AttestItem>(&entry.data, LIMIT).ok().map(
                |AttestItem::Attest { subject, claim, .. }| format!("attest: {subject} {claim}"),
            ),
            EVIDENCE => codec::decode::<Proof>(&entry.data, LIMIT)
                .ok()
                .map(|proof| {
                    let (offender, round) = proof.offence();
                    format!("evidence: {} misbehaved in round {round}", offender.short())
                }),
            _ => None,
        };
    decoded.unwrap_or_else(|| format!("module {}: {}", entry.module.0, preview(&entry.data)))
}

/// What an applied item's effect says, when its module's effect is known: a passed proposal.
pub fn describe_effect(effect: &Effect) -> String {
    let decoded = (effect.from == CONSENSUS_CTRL && effect.kind == PASSED)
        .then(|| codec::decode::<Proposal>(&effect.data, LIMIT).ok())
        .flatten()
        .map(|p| format!("proposal {} passed: {}", p.id, p.change.describe()));
    decoded.unwrap_or_else(|| format!("effect {} ({} bytes)", effect.kind, effect.data.len()))
}

/// Data as text when it is printable, hex otherwise.
fn preview(data: &[u8]) -> String {
    let head = &data[..data.len().min(PREVIEW_BYTES)];
    let more = if data.len() > PREVIEW_BYTES {
        "…"
    } else {
        ""
    };
    match std::str::from_utf8(head) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("\"{text}\"{more}"),
        _ => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}{more}")
        }
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::codec;
    use bfte_shared::item::{Entry, ModuleId};
    use bfte_shared::modules::ctrl::{
        Change, CtrlItem, ModuleVersion, PASSED, Proposal, ProposalId, ProposalStatus,
    };
    use bfte_shared::modules::{CONSENSUS_CTRL, Effect, META};
    use bfte_shared::peer::PeerSecret;
    use bfte_shared::round::Height;

    use super::{describe, describe_effect};

    fn item(module: ModuleId, data: Vec<u8>) -> Entry {
        Entry { module, data }
    }

    fn ctrl(item_: &CtrlItem) -> String {
        describe(&item(CONSENSUS_CTRL, codec::encode(item_)))
    }

    #[test]
    fn consensus_ctrl_items_say_what_they_propose_or_vote() {
        let upgrade = Change::UpgradeModule {
            id: META,
            version: 2,
        };
        assert_eq!(
            ctrl(&CtrlItem::Propose(upgrade)),
            "ctrl: propose upgrade module 2 to v2"
        );
        let vote = |yes| CtrlItem::Vote {
            proposal: ProposalId(7),
            yes,
        };
        assert_eq!(ctrl(&vote(true)), "ctrl: vote yes on proposal 7");
        assert_eq!(ctrl(&vote(false)), "ctrl: vote no on proposal 7");
        assert_eq!(
            describe(&item(CONSENSUS_CTRL, vec![0xff, 0x01])),
            "module 1: 0xff01",
            "an item that does not decode shows as bytes"
        );
    }

    #[test]
    fn a_passed_proposal_effect_says_which_change_passed() {
        let proposal = Proposal {
            id: ProposalId(3),
            change: Change::EnableModule(ModuleVersion {
                id: ModuleId(5),
                kind: "escrow".into(),
                version: 1,
            }),
            proposer: PeerSecret::from_seed([2; 32]).peer_id(),
            height: Height(27),
            votes: Vec::new(),
            status: ProposalStatus::Passed { height: Height(30) },
        };
        let effect = |from, kind: &str, data| Effect {
            from,
            kind: kind.into(),
            data,
        };
        let passed = effect(CONSENSUS_CTRL, PASSED, codec::encode(&proposal));
        assert_eq!(
            describe_effect(&passed),
            "proposal 3 passed: enable module escrow v1 as id 5"
        );
        assert_eq!(
            describe_effect(&effect(CONSENSUS_CTRL, PASSED, vec![0; 5])),
            "effect ctrl/passed (5 bytes)",
            "a body that does not decode shows as its kind and size"
        );
        assert_eq!(
            describe_effect(&effect(META, "meta/value-set", vec![0; 40])),
            "effect meta/value-set (40 bytes)"
        );
    }
}
