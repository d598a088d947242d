//! What a proposal changes, against the epoch in force: an open parameters proposal names only
//! the parameters it sets to another value ("round timeout 2000 ms (now 1000 ms)"), since the
//! node's `propose params` fills in the rest with the values in force.

use bfte_shared::federation::ConsensusParams;
use bfte_shared::modules::ctrl::{Change, EpochConfig, Proposal, ProposalStatus};

/// The change of `proposal` in one line. Only an open proposal is compared with the
/// parameters in force: a decided one was proposed against those of its own time, which the
/// epoch in force no longer shows, so it is described in full.
pub fn describe_change(proposal: &Proposal, epoch: Option<&EpochConfig>) -> String {
    match (&proposal.change, epoch) {
        (Change::SetParams(proposed), Some(epoch)) if proposal.status == ProposalStatus::Open => {
            params_change(&epoch.params, proposed)
        }
        (change, _) => change.describe(),
    }
}

/// "set parameters: round timeout 2000 ms (now 1000 ms)", naming only the parameters that
/// differ; the new value first, as `Change::describe` says it.
pub fn params_change(in_force: &ConsensusParams, proposed: &ConsensusParams) -> String {
    let changes: Vec<String> = fields(in_force)
        .into_iter()
        .zip(fields(proposed))
        .filter(|((_, now), (_, then))| now != then)
        .map(|((name, now), (_, then))| format!("{name} {then} (now {now})"))
        .collect();
    if changes.is_empty() {
        "set parameters: the values in force (changes nothing)".into()
    } else {
        format!("set parameters: {}", changes.join(", "))
    }
}

/// Each parameter by the name and in the units `Change::describe` uses.
fn fields(params: &ConsensusParams) -> [(&'static str, String); 6] {
    [
        ("round timeout", format!("{} ms", params.round_timeout_ms)),
        (
            "backoff",
            format!("×{}", 1u64 << params.max_backoff_doublings.min(63)),
        ),
        ("resend", format!("{} ms", params.resend_interval_ms)),
        ("blocks", format!("≤ {} bytes", params.max_block_bytes)),
        ("block items", format!("≤ {}", params.max_block_items)),
        ("clock drift", format!("≤ {} ms", params.max_clock_drift_ms)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parameters_that_differ_are_named() {
        let now = ConsensusParams::default();
        let proposed = ConsensusParams {
            round_timeout_ms: 2_000,
            max_block_items: 500,
            ..now.clone()
        };
        assert_eq!(
            params_change(&now, &proposed),
            "set parameters: round timeout 2000 ms (now 1000 ms), block items ≤ 500 (now ≤ 10000)"
        );
        assert_eq!(
            params_change(&now, &now),
            "set parameters: the values in force (changes nothing)"
        );
    }
}
