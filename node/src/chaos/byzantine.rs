//! The Byzantine behaviours a chaos run can give one node: the simulator's
//! (`crate::sim::byzantine`), by name, and what the honest nodes must then have recorded.

use crate::sim::byzantine::Behavior;

/// The file in a data directory that makes the node Byzantine (feature `chaos` only): it holds
/// a behaviour's name.
pub const BYZANTINE_FILE: &str = "chaos-byzantine";

pub const NAMES: [(&str, Behavior); 8] = [
    ("equivocate", Behavior::Equivocate),
    ("double-vote", Behavior::DoubleVote),
    ("dummy-and-finalize", Behavior::DummyAndFinalize),
    ("bad-signatures", Behavior::BadSignatures),
    ("malformed", Behavior::Malformed),
    ("withhold", Behavior::Withhold),
    ("stale-spam", Behavior::StaleSpam),
    ("false-state", Behavior::FalseState),
];

pub fn behavior(name: &str) -> Option<Behavior> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

pub fn name(behavior: Behavior) -> &'static str {
    NAMES
        .iter()
        .find(|(_, b)| *b == behavior)
        .map_or("unknown", |(n, _)| n)
}

/// Whether the behaviour signs conflicting messages, so honest nodes must record evidence
/// against it and open its removal. Equivocation only shows when the node leads a round,
/// which it does in turn in every run long enough to finalize anything.
pub fn leaves_evidence(behavior: Behavior) -> bool {
    matches!(
        behavior,
        Behavior::Equivocate | Behavior::DoubleVote | Behavior::DummyAndFinalize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_behaviour_has_a_name_that_reads_back() {
        for behavior in Behavior::ALL {
            assert_eq!(super::behavior(name(behavior)), Some(behavior));
        }
        assert_eq!(super::behavior("polite"), None);
    }
}
