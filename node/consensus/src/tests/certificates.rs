//! Certificates are not broadcast (SPEC rule 5): each peer forms its own from the votes it
//! receives, and a peer whose dummy vote shows it lacks one is sent it.

use bfte_shared::message::Message;
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};

use super::{Core, Federation, Input, Output, federation, recorded};
use crate::Destination;

fn dummy(fed: &Federation, core: &mut Core, now: u64, signer: usize) -> Output {
    let vote = Vote::new(
        &fed.genesis.federation_id(),
        &fed.secrets[signer],
        Round(1),
        VoteKind::Dummy,
    );
    core.handle(
        now,
        Input::Message {
            from: fed.id(signer),
            message: Message::Vote(vote),
        },
    )
}

/// Where each certificate in an output's sends goes.
fn sent_certificates(output: &Output) -> Vec<Destination> {
    output
        .send
        .iter()
        .filter_map(|(to, m)| matches!(m, Message::Certificate(_)).then_some(*to))
        .collect()
}

#[test]
fn a_certificate_formed_from_votes_is_recorded_and_not_broadcast() {
    let fed = federation(4);
    let mut core = fed.fresh(0);
    let mut formed = Vec::new();
    for signer in 1..=3 {
        let output = dummy(&fed, &mut core, 1, signer);
        assert_eq!(sent_certificates(&output), [], "vote of peer {signer}");
        formed.extend(recorded(&output));
    }
    assert_eq!(formed.len(), 1, "peers 1 to 3 form the dummy certificate");
    assert_eq!(formed[0].kind, VoteKind::Dummy);
    assert_eq!(core.round(), Round(2), "the certificate moved the round on");
}

#[test]
fn a_dummy_vote_in_a_round_already_certified_is_answered_with_the_certificate() {
    let fed = federation(4);
    let mut core = fed.fresh(0);
    for signer in 1..=3 {
        dummy(&fed, &mut core, 1, signer);
    }
    // Peer 1 re-sends its dummy vote: its timer ran out and it still lacks the certificate.
    let answer = dummy(&fed, &mut core, 2, 1);
    assert_eq!(sent_certificates(&answer), [Destination::Peer(fed.id(1))]);
    let Some((_, Message::Certificate(certificate))) = answer.send.first() else {
        panic!("the answer is the certificate: {:?}", answer.send);
    };
    assert_eq!(certificate.kind, VoteKind::Dummy);
    assert_eq!(certificate.round, Round(1));

    // At most a few answers per resend interval to one peer; another peer is answered at once.
    let gap = fed.genesis.params.resend_interval_ms / 4;
    assert_eq!(sent_certificates(&dummy(&fed, &mut core, 3, 1)), []);
    assert_eq!(
        sent_certificates(&dummy(&fed, &mut core, 4, 2)),
        [Destination::Peer(fed.id(2))]
    );
    assert_eq!(
        sent_certificates(&dummy(&fed, &mut core, 2 + gap, 1)),
        [Destination::Peer(fed.id(1))],
        "answered again once the gap has passed"
    );
}
