//! One line per consensus item, decoded by its module: what the block explorer shows. Items of
//! modules the console does not know, or that do not decode, show as bytes.

use bfte_shared::codec;
use bfte_shared::item::ConsensusItem;
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::evidence::Proof;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, DATA, EVIDENCE, MAX_VALUE_BYTES, META};

/// Module items are far below this; it only bounds a malformed one.
const LIMIT: usize = 4 * MAX_VALUE_BYTES;
/// Bytes of opaque data shown.
const PREVIEW_BYTES: usize = 48;

pub fn describe(item: &ConsensusItem) -> String {
    let decoded = match item.module {
        DATA => Some(format!("data: {}", preview(&item.data))),
        META => codec::decode::<MetaItem>(&item.data, LIMIT)
            .ok()
            .map(|MetaItem::Propose { key, value }| format!("meta: propose {key} = \"{value}\"")),
        ATTEST => codec::decode::<AttestItem>(&item.data, LIMIT)
            .ok()
            .map(|AttestItem::Attest { subject, claim, .. }| format!("attest: {subject} {claim}")),
        EVIDENCE => codec::decode::<Proof>(&item.data, LIMIT).ok().map(|proof| {
            let (offender, round) = proof.offence();
            format!("evidence: {} misbehaved in round {round}", offender.short())
        }),
        _ => None,
    };
    decoded.unwrap_or_else(|| format!("module {}: {}", item.module.0, preview(&item.data)))
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
