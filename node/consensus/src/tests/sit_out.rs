//! Rule 15: a core restored from a backup signs nothing until 2f + 1 other peers showed it
//! certificates, and then nothing at or below two rounds above the highest of them.

use std::sync::Arc;

use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::message::Message;
use bfte_shared::round::Round;

use super::{Federation, dummy_certificate, federation, proposals, submit, votes};
use crate::{Core, CoreConfig, Durable, Input, Output, Restored, Timer};

/// Peer 0 of four, with an item pending so that it has work (timers, proposals).
fn start(fed: &Federation, sitting_out: bool) -> Core {
    let config = CoreConfig::new(
        &fed.genesis,
        Arc::new(fed.secrets[0].clone()),
        Arc::new(Ed25519Verifier),
    );
    let config = if sitting_out {
        config.sitting_out()
    } else {
        config
    };
    let (mut core, _) =
        Core::start(config, Restored::genesis(&fed.genesis), 0).expect("a member starts");
    core.handle(1, submit(b"pending".to_vec()));
    core
}

/// Everything the core signed in an output: its votes' and proposals' rounds.
fn signed_rounds(output: &Output) -> Vec<Round> {
    let persisted = output.persist.iter().filter_map(|d| match d {
        Durable::Vote(vote) => Some(vote.round),
        _ => None,
    });
    let sent = votes(output).into_iter().map(|v| v.round);
    let proposed = proposals(output).into_iter().map(|p| p.block.header.round);
    persisted.chain(sent).chain(proposed).collect()
}

/// Round `round` is dummy-certified by peers 1 to 3, as peer `from` tells it; then the core's
/// new round times out. Returns the rounds of whatever the core signed meanwhile.
fn certify_and_time_out(core: &mut Core, fed: &Federation, round: u64, from: usize) -> Vec<Round> {
    let certificate = dummy_certificate(fed, Round(round), &[1, 2, 3]);
    let now = round * 1_000_000;
    let mut signed = signed_rounds(&core.handle(
        now,
        Input::Message {
            from: fed.id(from),
            message: Message::Certificate(certificate),
        },
    ));
    let current = core.round();
    signed.extend(signed_rounds(
        &core.handle(now + 500_000, Input::Timer(Timer::Round(current))),
    ));
    signed
}

#[test]
fn a_core_sitting_out_signs_nothing_at_or_below_its_floor_and_votes_above_it() {
    let fed = federation(4);

    // Without sitting out, the same script makes the core vote at once.
    let mut normal = start(&fed, false);
    assert!(!certify_and_time_out(&mut normal, &fed, 1, 1).is_empty());

    let mut core = start(&fed, true);
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));
    let mut signed = Vec::new();
    // One peer (f + 1 would not do either) shows rounds 1 to 5: no floor yet, nothing signed.
    for round in 1..=5 {
        signed.extend(certify_and_time_out(&mut core, &fed, round, 1));
    }
    assert_eq!(
        signed,
        Vec::<Round>::new(),
        "signed before a floor was known"
    );
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));
    // Two more peers: 2f + 1 heard, the highest certificate is of round 7, the floor 9.
    signed.extend(certify_and_time_out(&mut core, &fed, 6, 2));
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));
    signed.extend(certify_and_time_out(&mut core, &fed, 7, 3));
    assert_eq!(core.signs_only_above(), Some(Round(9)));
    for round in 8..=11 {
        signed.extend(certify_and_time_out(&mut core, &fed, round, 1));
    }
    assert!(
        signed.iter().all(|round| *round > Round(9)),
        "signed at or below the floor: {signed:?}"
    );
    assert!(
        signed.contains(&Round(10)),
        "it votes again above the floor: {signed:?}"
    );
}
