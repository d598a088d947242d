//! The observer turns what passes through the driver into events, once each, and does no work
//! while nobody subscribes.

use bfte_shared::admin::{AdminEvent, DummyCause, VoteSort};
use bfte_shared::certificate::Certificate;
use bfte_shared::hash::Hash;
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};
use tokio::sync::broadcast::error::TryRecvError;

use super::*;

fn peer(n: u8) -> PeerId {
    PeerId([n; 32])
}

/// A core's answers about rounds: peer(round % 4) leads; round 4's proposal was valid, round
/// 5's invalid, others never came.
struct Rounds;

impl RoundView for Rounds {
    fn leader(&self, round: Round) -> PeerId {
        peer((round.0 % 4) as u8)
    }

    fn proposal_verdict(&self, round: Round) -> Option<Result<(), &'static str>> {
        match round.0 {
            4 => Some(Ok(())),
            5 => Some(Err("parent not notarized")),
            _ => None,
        }
    }
}

fn vote(round: u64, signer: u8, kind: VoteKind) -> Message {
    Message::Vote(Vote {
        round: Round(round),
        kind,
        signer: peer(signer),
        signature: Signature([0; 64]),
    })
}

fn certificate(round: u64, kind: VoteKind) -> Certificate {
    Certificate::from_signatures(Round(round), kind, 4, [])
}

/// An output that records `certificate`, as the core's does when it forms or accepts one.
fn recording(certificate: Certificate) -> Output {
    Output {
        persist: vec![Durable::Certificate(certificate)],
        ..Output::default()
    }
}

fn drain(events: &mut broadcast::Receiver<EventFrame>) -> Vec<AdminEvent> {
    let mut seen = Vec::new();
    loop {
        match events.try_recv() {
            Ok(frame) => seen.push(frame.event),
            Err(TryRecvError::Empty) => return seen,
            Err(other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn nothing_is_published_without_subscribers_but_last_votes_are_kept() {
    let hub = EventHub::default();
    let mut observer = Observer::new(hub.clone());
    assert!(!hub.is_watched());
    observer.inbound(peer(1), &vote(7, 1, VoteKind::Dummy), 1_000);
    observer.inbound(peer(1), &vote(5, 1, VoteKind::Dummy), 1_500);
    assert_eq!(observer.last_vote(&peer(1)), Some(Round(7)));
    assert_eq!(observer.silent_ms(&peer(1), 4_000), Some(2_500));
    assert_eq!(observer.silent_ms(&peer(3), 4_000), None, "never heard");
    assert!(
        observer.is_voting(&peer(1), Round(8), 2_000),
        "voted the round before"
    );
    assert!(
        !observer.is_voting(&peer(1), Round(8), 1_500 + FRESH_VOTE_MS),
        "a stuck round: its vote of the round before went stale"
    );
    assert!(
        observer.is_voting(&peer(1), Round(7), 60_000),
        "voted this round"
    );
    assert!(!observer.is_voting(&peer(1), Round(9), 2_000));
    assert!(!observer.is_voting(&peer(3), Round(1), 2_000));
    // A subscriber that comes later sees only what happens after it came.
    let mut events = hub.subscribe();
    assert!(drain(&mut events).is_empty());
    observer.inbound(peer(2), &vote(8, 2, VoteKind::Finalize(Hash::ZERO)), 2_000);
    assert_eq!(
        drain(&mut events),
        [AdminEvent::VoteSeen {
            round: Round(8),
            signer: peer(2),
            kind: VoteSort::Finalize
        }]
    );
}

#[test]
fn rounds_and_recorded_certificates_are_reported_once() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    let block = Hash::tagged(b"test", b"block");
    // A certificate from a peer is not reported: it is unverified until the core records it.
    let from = peer(1);
    let inbound = Message::Certificate(certificate(3, VoteKind::Notarize(block)));
    observer.inbound(from, &inbound, 0);
    observer.output(
        &recording(certificate(3, VoteKind::Notarize(block))),
        Round(4),
        &Rounds,
    );
    // The same certificate again and the same round again.
    observer.output(
        &recording(certificate(3, VoteKind::Notarize(block))),
        Round(4),
        &Rounds,
    );
    for _ in 0..2 {
        observer.output(
            &recording(certificate(4, VoteKind::Dummy)),
            Round(5),
            &Rounds,
        );
    }
    // Finality comes from the core's finalized blocks, not from certificates.
    observer.output(
        &recording(certificate(5, VoteKind::Finalize(block))),
        Round(5),
        &Rounds,
    );
    assert_eq!(
        drain(&mut events),
        [
            AdminEvent::Notarized {
                round: Round(3),
                block
            },
            AdminEvent::RoundStarted {
                round: Round(4),
                leader: peer(0)
            },
            AdminEvent::DummyCertified {
                round: Round(4),
                cause: DummyCause::Timeout
            },
            AdminEvent::RoundStarted {
                round: Round(5),
                leader: peer(1)
            },
        ]
    );
}

#[test]
fn a_dummy_round_says_whether_the_leader_was_silent_or_its_proposal_invalid() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    for round in [5, 6] {
        observer.output(
            &recording(certificate(round, VoteKind::Dummy)),
            Round(round),
            &Rounds,
        );
    }
    let dummies: Vec<_> = drain(&mut events)
        .into_iter()
        .filter(|e| matches!(e, AdminEvent::DummyCertified { .. }))
        .collect();
    assert_eq!(
        dummies,
        [
            AdminEvent::DummyCertified {
                round: Round(5),
                cause: DummyCause::ProposalInvalid {
                    why: "parent not notarized".into()
                }
            },
            AdminEvent::DummyCertified {
                round: Round(6),
                cause: DummyCause::LeaderSilent { leader: peer(2) }
            },
        ]
    );
}

#[test]
fn evidence_in_the_output_names_the_offender() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    let Message::Vote(first) = vote(3, 2, VoteKind::Dummy) else {
        unreachable!()
    };
    let Message::Vote(second) = vote(3, 2, VoteKind::Finalize(Hash::ZERO)) else {
        unreachable!()
    };
    let output = Output {
        evidence: vec![bfte_consensus::Evidence::ConflictingVotes(Box::new((
            first, second,
        )))],
        ..Output::default()
    };
    observer.output(&output, Round(0), &Rounds);
    assert_eq!(
        drain(&mut events),
        [AdminEvent::Evidence {
            offender: peer(2),
            round: Round(3),
            what: "two votes".into()
        }]
    );
}

#[test]
fn certificates_of_long_gone_rounds_are_not_reported() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    observer.output(&Output::default(), Round(500), &Rounds);
    drain(&mut events);
    observer.output(
        &recording(certificate(10, VoteKind::Dummy)),
        Round(500),
        &Rounds,
    );
    assert!(drain(&mut events).is_empty());
}

#[test]
fn a_lagging_subscriber_is_told_how_much_it_missed() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    for _ in 0..EVENT_BUFFER + 10 {
        hub.publish(AdminEvent::DummyCertified {
            round: Round(1),
            cause: DummyCause::Timeout,
        });
    }
    assert!(matches!(events.try_recv(), Err(TryRecvError::Lagged(10))));
}

#[test]
fn clones_share_the_channel_that_the_first_subscription_makes() {
    let hub = EventHub::default();
    let driver_side = hub.clone();
    let dummy = |round| AdminEvent::DummyCertified {
        round: Round(round),
        cause: DummyCause::Timeout,
    };
    driver_side.publish(dummy(1));
    let mut events = hub.subscribe();
    assert!(driver_side.is_watched());
    driver_side.publish(dummy(2));
    let mut late = hub.clone().subscribe();
    driver_side.publish(dummy(3));
    assert_eq!(drain(&mut events), vec![dummy(2), dummy(3)]);
    assert_eq!(drain(&mut late), vec![dummy(3)]);
    drop((events, late));
    assert!(!driver_side.is_watched());
}
