//! Rule 15: a core restored from a backup signs nothing until `2f + 1` other peers answered
//! this start's ask for their highest certificate, and then nothing at or below two rounds
//! above the highest of them. Certificates that were not asked for do not count.

use std::sync::Arc;

use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::message::{Catchup, Message};
use bfte_shared::round::Round;

use super::{Federation, dummy_certificate, federation, proposals, submit, votes};
use crate::{Core, CoreConfig, Destination, Durable, Input, Output, Restored, Timer};

const NONCE: u64 = 0x5eed;

/// Peer 0 of four, from `restored`, with an item pending so that it has work (timers,
/// proposals); sitting out with `NONCE` if asked.
fn start_with(fed: &Federation, restored: Restored, sitting_out: bool) -> (Core, Output) {
    let config = CoreConfig::new(
        &fed.genesis,
        Arc::new(fed.secrets[0].clone()),
        Arc::new(Ed25519Verifier),
    );
    let config = if sitting_out {
        config.sitting_out(NONCE)
    } else {
        config
    };
    let (mut core, output) = Core::start(config, restored, 0).expect("a member starts");
    core.handle(1, submit(b"pending".to_vec()));
    (core, output)
}

fn start(fed: &Federation, sitting_out: bool) -> Core {
    start_with(fed, Restored::genesis(&fed.genesis), sitting_out).0
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

fn message(core: &mut Core, fed: &Federation, now: u64, from: usize, message: Message) -> Output {
    core.handle(
        now,
        Input::Message {
            from: fed.id(from),
            message,
        },
    )
}

/// Round `round` is dummy-certified by peers 1 to 3, as peer 1 tells it; then the core's new
/// round times out. Returns the rounds of whatever the core signed meanwhile.
fn certify_and_time_out(core: &mut Core, fed: &Federation, round: u64) -> Vec<Round> {
    let certificate = dummy_certificate(fed, Round(round), &[1, 2, 3]);
    let now = round * 1_000_000;
    let mut signed = signed_rounds(&message(
        core,
        fed,
        now,
        1,
        Message::Certificate(certificate),
    ));
    let current = core.round();
    signed.extend(signed_rounds(
        &core.handle(now + 500_000, Input::Timer(Timer::Round(current))),
    ));
    signed
}

fn highest(certificate: Option<Certificate>) -> Message {
    Message::Highest {
        nonce: NONCE,
        certificate,
    }
}

/// The asks in an output, by destination.
fn asks(output: &Output) -> Vec<Destination> {
    output
        .send
        .iter()
        .filter_map(|(to, m)| match m {
            Message::HighestAsk { nonce } if *nonce == NONCE => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn certificates_not_asked_for_do_not_count_and_fresh_answers_do() {
    let fed = federation(4);
    let (mut core, started) = start_with(&fed, Restored::genesis(&fed.genesis), true);
    assert_eq!(asks(&started), vec![Destination::AllPeers], "asks at start");
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));

    // Certificates, catch-up answers, answers to another start's ask, answers whose
    // certificate does not verify: all may predate the restore or prove nothing.
    let certificate = dummy_certificate(&fed, Round(1), &[1, 2, 3]);
    let forged = dummy_certificate(&fed, Round(9), &[1]);
    for from in 1..=3 {
        message(
            &mut core,
            &fed,
            2,
            from,
            Message::Certificate(certificate.clone()),
        );
        let catchup = Catchup {
            certificates: vec![certificate.clone()],
            blocks: Vec::new(),
        };
        message(&mut core, &fed, 3, from, Message::Catchup(catchup));
        let stale = Message::Highest {
            nonce: NONCE + 1,
            certificate: Some(certificate.clone()),
        };
        message(&mut core, &fed, 4, from, stale);
        message(&mut core, &fed, 5, from, highest(Some(forged.clone())));
    }
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));

    // Only peers not heard yet are asked again, on the resend timer.
    message(&mut core, &fed, 6, 1, highest(Some(certificate.clone())));
    let again = core.handle(1_000_000, Input::Timer(Timer::Resend));
    assert_eq!(
        asks(&again),
        vec![Destination::Peer(fed.id(2)), Destination::Peer(fed.id(3))]
    );
    // A second answer from a heard peer does not count twice.
    message(&mut core, &fed, 7, 1, highest(None));
    message(&mut core, &fed, 8, 2, highest(None));
    assert_eq!(core.signs_only_above(), Some(Round(u64::MAX)));
    // The third fresh answer fixes the floor two rounds above the highest certificate.
    message(&mut core, &fed, 9, 3, highest(None));
    assert_eq!(core.signs_only_above(), Some(Round(3)));
    let quiet = core.handle(3_000_000, Input::Timer(Timer::Resend));
    assert!(
        asks(&quiet).is_empty(),
        "no more asks once the floor is known"
    );
}

#[test]
fn a_peer_answers_an_ask_with_its_highest_certificate_also_after_a_restart() {
    let fed = federation(4);
    let ask = Message::HighestAsk { nonce: NONCE };
    let answer = |output: &Output| -> Vec<Message> {
        output
            .send
            .iter()
            .filter(|(to, m)| {
                *to == Destination::Peer(fed.id(1)) && matches!(m, Message::Highest { .. })
            })
            .map(|(_, m)| m.clone())
            .collect()
    };
    let mut fresh = start(&fed, false);
    assert_eq!(
        answer(&message(&mut fresh, &fed, 2, 1, ask.clone())),
        vec![highest(None)]
    );
    for round in 1..=3 {
        certify_and_time_out(&mut fresh, &fed, round);
    }
    let top = dummy_certificate(&fed, Round(3), &[1, 2, 3]);
    let now = 10_000_000;
    assert_eq!(
        answer(&message(&mut fresh, &fed, now, 1, ask.clone())),
        vec![highest(Some(top))]
    );

    // Restarted with nothing open above its tip: the tip's finalization, as the store hands
    // it back, is the answer.
    let finalization = dummy_certificate(&fed, Round(7), &[1, 2, 3]);
    let restored = Restored {
        tip_finalization: Some(finalization.clone()),
        ..Restored::genesis(&fed.genesis)
    };
    let (mut restarted, _) = start_with(&fed, restored, false);
    assert_eq!(
        answer(&message(&mut restarted, &fed, 2, 1, ask)),
        vec![highest(Some(finalization))]
    );
}

#[test]
fn the_floor_lies_above_every_round_the_lost_votes_can_be_in() {
    let fed = federation(4);
    // Before the crash, peer 0 signed in every round up to `last`: the backup kept none of it.
    let last = 6;
    let mut before = start(&fed, false);
    let mut lost: Vec<Round> = Vec::new();
    for round in 1..last {
        lost.extend(certify_and_time_out(&mut before, &fed, round));
    }
    assert_eq!(lost.iter().max(), Some(&Round(last)), "{lost:?}");

    // The worst case for the floor: the other peers signed the certificate of `last - 1` but
    // never received it, so the highest they hold is of `last - 2`.
    let mut others: Vec<Core> = (1..=3).map(|i| fed.fresh(i)).collect();
    for other in &mut others {
        for round in 1..=last - 2 {
            let certificate = dummy_certificate(&fed, Round(round), &[1, 2, 3]);
            other.handle(
                round,
                Input::Message {
                    from: fed.id(0),
                    message: Message::Certificate(certificate),
                },
            );
        }
    }

    let (mut restored, started) = start_with(&fed, Restored::genesis(&fed.genesis), true);
    assert!(signed_rounds(&started).is_empty());
    let mut signed = Vec::new();
    for (i, other) in others.iter_mut().enumerate() {
        let asked = other.handle(
            100,
            Input::Message {
                from: fed.id(0),
                message: Message::HighestAsk { nonce: NONCE },
            },
        );
        for (_, answer) in asked.send {
            if matches!(answer, Message::Highest { .. }) {
                signed.extend(signed_rounds(&message(
                    &mut restored,
                    &fed,
                    200,
                    i + 1,
                    answer,
                )));
            }
        }
    }
    let floor = restored.signs_only_above().expect("sits out");
    assert_eq!(
        floor,
        Round(last),
        "the highest answer is of round {}",
        last - 2
    );
    assert!(lost.iter().all(|round| *round <= floor));

    // From here on it signs only above every round of the lost votes, and it does sign.
    for round in 1..=last + 3 {
        signed.extend(certify_and_time_out(&mut restored, &fed, round));
    }
    assert!(
        signed.iter().all(|round| !lost.contains(round)),
        "signed again in a round of a lost vote: {signed:?}"
    );
    assert!(
        signed.contains(&Round(last + 1)),
        "it votes again above the floor: {signed:?}"
    );
}

#[test]
fn without_sitting_out_the_same_script_signs_in_the_lost_rounds() {
    let fed = federation(4);
    let mut core = start(&fed, false);
    assert_eq!(core.signs_only_above(), None);
    let signed = certify_and_time_out(&mut core, &fed, 1);
    assert!(signed.contains(&Round(2)), "{signed:?}");
}
