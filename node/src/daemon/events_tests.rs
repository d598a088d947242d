//! The observer turns what passes through the driver into events, once each, and does no work
//! while nobody subscribes.

use bfte_shared::admin::{AdminEvent, VoteSort};
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

fn vote(round: u64, signer: u8, kind: VoteKind) -> Message {
    Message::Vote(Vote {
        round: Round(round),
        kind,
        signer: peer(signer),
        signature: Signature([0; 64]),
    })
}

fn certificate(round: u64, kind: VoteKind) -> Message {
    Message::Certificate(Certificate::from_signatures(Round(round), kind, 4, []))
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
    observer.inbound(&vote(7, 1, VoteKind::Dummy));
    observer.inbound(&vote(5, 1, VoteKind::Dummy));
    assert_eq!(observer.last_vote(&peer(1)), Some(Round(7)));
    // A subscriber that comes later sees only what happens after it came.
    let mut events = hub.subscribe();
    assert!(drain(&mut events).is_empty());
    observer.inbound(&vote(8, 2, VoteKind::Finalize(Hash::ZERO)));
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
fn rounds_and_certificates_are_reported_once() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    let block = Hash::tagged(b"test", b"block");
    let output = Output {
        send: vec![(
            bfte_consensus::Destination::AllPeers,
            certificate(3, VoteKind::Notarize(block)),
        )],
        ..Output::default()
    };
    observer.output(&output, Round(4), peer(2));
    // The same certificate again (a resend, or from a peer) and the same round again.
    observer.inbound(&certificate(3, VoteKind::Notarize(block)));
    observer.output(&Output::default(), Round(4), peer(2));
    observer.inbound(&certificate(4, VoteKind::Dummy));
    observer.inbound(&certificate(4, VoteKind::Dummy));
    // Finality comes from the core's output, not from certificates.
    observer.inbound(&certificate(3, VoteKind::Finalize(block)));
    assert_eq!(
        drain(&mut events),
        [
            AdminEvent::Notarized {
                round: Round(3),
                block
            },
            AdminEvent::RoundStarted {
                round: Round(4),
                leader: peer(2)
            },
            AdminEvent::DummyCertified { round: Round(4) },
        ]
    );
}

#[test]
fn certificates_of_long_gone_rounds_are_not_reported() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    let mut observer = Observer::new(hub);
    observer.output(&Output::default(), Round(500), peer(1));
    drain(&mut events);
    observer.inbound(&certificate(10, VoteKind::Dummy));
    assert!(drain(&mut events).is_empty());
}

#[test]
fn a_lagging_subscriber_is_told_how_much_it_missed() {
    let hub = EventHub::default();
    let mut events = hub.subscribe();
    for _ in 0..EVENT_BUFFER + 10 {
        hub.publish(AdminEvent::DummyCertified { round: Round(1) });
    }
    assert!(matches!(events.try_recv(), Err(TryRecvError::Lagged(10))));
}
