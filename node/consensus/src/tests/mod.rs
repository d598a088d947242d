//! Unit tests of single rules, driving cores by hand with real signatures.

use std::sync::Arc;

use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::item::{Entry, ModuleId};
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::Round;
use bfte_shared::vote::{Proposal, Vote, VoteKind, vote_signing_bytes};

#[cfg(feature = "mutants")]
use super::Mutation;
use super::{Core, CoreConfig, Durable, Evidence, Input, Now, Output, Restored, StartError, Timer};

struct Federation {
    genesis: Genesis,
    secrets: Vec<PeerSecret>,
}

fn federation(n: u8) -> Federation {
    let mut secrets: Vec<_> = (0..n).map(|i| PeerSecret::from_seed([i + 1; 32])).collect();
    secrets.sort_by_key(PeerSecret::peer_id);
    let genesis = Genesis {
        name: "unit".into(),
        peers: PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect()).expect("peers"),
        params: ConsensusParams::default(),
        timestamp_ms: 0,
    };
    Federation { genesis, secrets }
}

impl Federation {
    fn start(&self, peer: usize, restored: Restored) -> (Core, Output) {
        let config = CoreConfig::new(
            &self.genesis,
            Arc::new(self.secrets[peer].clone()),
            Arc::new(Ed25519Verifier),
        );
        Core::start(config, restored, 0).expect("a member starts")
    }

    fn fresh(&self, peer: usize) -> Core {
        self.start(peer, Restored::genesis(&self.genesis)).0
    }

    fn id(&self, peer: usize) -> PeerId {
        self.secrets[peer].peer_id()
    }

    fn index_of(&self, id: PeerId) -> usize {
        self.secrets
            .iter()
            .position(|s| s.peer_id() == id)
            .expect("a member")
    }
}

fn proposals(output: &Output) -> Vec<Proposal> {
    output
        .send
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Proposal(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn votes(output: &Output) -> Vec<Vote> {
    output
        .send
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Vote(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// The certificates an output records (formed from votes, or received and verified).
fn recorded(output: &Output) -> Vec<Certificate> {
    output
        .persist
        .iter()
        .filter_map(|d| match d {
            Durable::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

mod batch;
mod certificates;
mod sit_out;

/// One entry for module 0, submitted alone.
fn submit(data: Vec<u8>) -> Input {
    Input::Submit {
        entries: vec![Entry {
            module: ModuleId(0),
            data,
        }],
    }
}

/// The leader of round 1 proposes once it has an item; returns (leader index, proposal).
fn first_proposal(fed: &Federation) -> (usize, Core, Proposal, Output) {
    let probe = fed.fresh(0);
    let leader = fed.index_of(probe.leader(Round(1)));
    let mut core = fed.fresh(leader);
    let submit = submit(b"hello".to_vec());
    let output = core.handle(1, submit);
    let proposal = proposals(&output).pop().expect("the leader proposes");
    (leader, core, proposal, output)
}

#[test]
fn every_peer_computes_the_same_leaders_and_each_leads_its_share() {
    let fed = federation(4);
    let cores: Vec<Core> = (0..4).map(|i| fed.fresh(i)).collect();
    let mut led = [0u32; 4];
    for round in 1..=4_000 {
        let leader = cores[0].leader(Round(round));
        assert!(cores.iter().all(|c| c.leader(Round(round)) == leader));
        assert_eq!(cores[1].leader(Round(round)), leader, "stable across calls");
        led[fed.index_of(leader)] += 1;
    }
    assert!(led.iter().all(|&n| (850..1150).contains(&n)), "{led:?}");
}

#[test]
fn a_correct_peer_votes_for_the_first_proposal_and_refuses_a_second() {
    let fed = federation(4);
    let (leader, _, proposal, _) = first_proposal(&fed);
    let voter = (leader + 1) % 4;
    let mut core = fed.fresh(voter);
    let from = fed.id(leader);
    let output = core.handle(
        2,
        Input::Message {
            from,
            message: Message::Proposal(proposal.clone()),
        },
    );
    let cast = votes(&output);
    assert_eq!(cast.len(), 1);
    assert_eq!(cast[0].kind, VoteKind::Notarize(proposal.block.hash()));

    let mut twin = proposal.block.clone();
    twin.header.timestamp_ms += 1;
    let twin = Proposal::new(&fed.genesis.federation_id(), &fed.secrets[leader], twin);
    let output = core.handle(
        3,
        Input::Message {
            from,
            message: Message::Proposal(twin),
        },
    );
    assert!(votes(&output).is_empty(), "voted for a second proposal");
    assert!(matches!(
        output.evidence.as_slice(),
        [Evidence::ConflictingProposals(_)]
    ));
}

#[test]
fn a_proposal_from_a_non_leader_or_with_a_bad_signature_gets_no_vote() {
    let fed = federation(4);
    let (leader, _, proposal, _) = first_proposal(&fed);
    let voter = (leader + 1) % 4;
    let mut core = fed.fresh(voter);
    let mut forged = proposal.clone();
    forged.signature.0[0] ^= 1;
    let from = fed.id(leader);
    let output = core.handle(
        2,
        Input::Message {
            from,
            message: Message::Proposal(forged),
        },
    );
    assert!(votes(&output).is_empty());
    let other = (leader + 2) % 4;
    let output = core.handle(
        2,
        Input::Message {
            from: fed.id(other),
            message: Message::Proposal(proposal.clone()),
        },
    );
    assert!(votes(&output).is_empty());
    // The genuine one still gets the vote: the bad ones did not use up the round.
    let output = core.handle(
        2,
        Input::Message {
            from,
            message: Message::Proposal(proposal),
        },
    );
    assert_eq!(votes(&output).len(), 1);
}

fn dummy_certificate(fed: &Federation, round: Round, signers: &[usize]) -> Certificate {
    let bytes = vote_signing_bytes(&fed.genesis.federation_id(), round, VoteKind::Dummy);
    Certificate::from_signatures(
        round,
        VoteKind::Dummy,
        4,
        signers.iter().map(|&i| (i, fed.secrets[i].sign(&bytes))),
    )
}

#[test]
fn certificates_with_foreign_or_duplicate_signers_change_nothing() {
    let fed = federation(4);
    let mut core = fed.fresh(0);
    let from = fed.id(1);
    let mut foreign = dummy_certificate(&fed, Round(1), &[0, 1, 2]);
    foreign.signers[0] |= 1 << 5;
    foreign.signatures.push(foreign.signatures[0]);
    let mut duplicate = dummy_certificate(&fed, Round(1), &[0, 1, 2]);
    duplicate.signatures[2] = duplicate.signatures[1];
    for bad in [foreign, duplicate] {
        core.handle(
            5,
            Input::Message {
                from,
                message: Message::Certificate(bad),
            },
        );
        assert_eq!(core.round(), Round(1));
    }
    let good = dummy_certificate(&fed, Round(1), &[0, 1, 2]);
    core.handle(
        5,
        Input::Message {
            from,
            message: Message::Certificate(good),
        },
    );
    assert_eq!(core.round(), Round(2));
}

#[test]
fn every_vote_is_persisted_in_the_output_that_sends_it() {
    let fed = federation(4);
    let (leader, _, proposal, output) = first_proposal(&fed);
    let persisted = |output: &Output| -> Vec<Vote> {
        output
            .persist
            .iter()
            .filter_map(|d| match d {
                Durable::Vote(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(votes(&output), persisted(&output));
    let mut voter = fed.fresh((leader + 1) % 4);
    let message = Message::Proposal(proposal);
    let output = voter.handle(
        2,
        Input::Message {
            from: fed.id(leader),
            message,
        },
    );
    assert!(!votes(&output).is_empty());
    assert_eq!(votes(&output), persisted(&output));
}

#[test]
fn an_idle_peer_sets_no_timers() {
    let fed = federation(4);
    let (_, output) = fed.start(0, Restored::genesis(&fed.genesis));
    assert!(output.timers.is_empty(), "{:?}", output.timers);
    assert!(output.persist.is_empty());
}

/// A peer whose wall clock steps back an hour arms the same timers, at the same monotonic
/// times, as one whose clock is right: the step delays no round.
#[test]
fn a_wall_clock_stepping_back_delays_no_timer() {
    let fed = federation(4);
    let leader = fed.index_of(fed.fresh(0).leader(Round(1)));
    let follower = (leader + 1) % 4;
    let hour = 3_600_000;
    let armed = |wall_ms: u64| {
        let mut core = fed.fresh(follower);
        let submit = submit(b"hello".to_vec());
        let now = Now {
            monotonic_ms: 1_000,
            wall_ms,
        };
        core.handle(now, submit).timers
    };
    let right = armed(10 * hour);
    let stepped_back = armed(9 * hour);
    assert!(
        right.iter().any(|(t, _)| *t == Timer::Round(Round(1))),
        "{right:?}"
    );
    assert!(
        right
            .iter()
            .all(|(_, at)| *at > 1_000 && *at < 1_000 + hour)
    );
    assert_eq!(stepped_back, right);
}

/// A leader whose wall clock is behind its parent's timestamp still proposes a block no
/// older than its parent, and a peer with the right clock votes for it.
#[test]
fn a_leader_with_a_clock_behind_proposes_a_block_others_accept() {
    let fed = federation(4);
    let leader = fed.index_of(fed.fresh(0).leader(Round(1)));
    let voter = (leader + 1) % 4;
    let mut core = fed.fresh(leader);
    let behind = Now {
        monotonic_ms: 5,
        wall_ms: 0,
    };
    let submit = submit(b"hello".to_vec());
    let proposal = proposals(&core.handle(behind, submit))
        .pop()
        .expect("the leader proposes");
    assert!(proposal.block.header.timestamp_ms >= fed.genesis.timestamp_ms);
    let mut other = fed.fresh(voter);
    let right = Now {
        monotonic_ms: 5,
        wall_ms: 1_000_000,
    };
    let input = Input::Message {
        from: fed.id(leader),
        message: Message::Proposal(proposal),
    };
    assert_eq!(votes(&other.handle(right, input)).len(), 1);
}

/// How a test starts a core: `Core::start`, or a mutated start.
type StartCore = fn(CoreConfig, Restored, u64) -> Result<(Core, Output), StartError>;

/// The leader of round 1 proposes, crashes, and restarts from what it persisted; returns
/// its first vote and the votes it signs while starting again (through `start`).
fn restart_after_proposing(start: StartCore) -> (Vote, Vec<Vote>) {
    let fed = federation(4);
    let (leader, _, _, output) = first_proposal(&fed);
    let restored = Restored {
        votes: votes(&output),
        own_items: output
            .persist
            .iter()
            .filter_map(|d| match d {
                Durable::OwnItem(item) => Some(item.clone()),
                _ => None,
            })
            .collect(),
        ..Restored::genesis(&fed.genesis)
    };
    let config = CoreConfig::new(
        &fed.genesis,
        Arc::new(fed.secrets[leader].clone()),
        Arc::new(Ed25519Verifier),
    );
    let (_, restarted) = start(config, restored, 10).expect("restart");
    (votes(&output)[0].clone(), votes(&restarted))
}

#[test]
fn a_restarted_leader_does_not_propose_or_vote_again() {
    let (before, after) = restart_after_proposing(Core::start);
    assert!(
        after.iter().all(|v| v == &before),
        "signed something new: {after:?}"
    );
}

#[cfg(feature = "mutants")]
#[test]
fn a_restarted_leader_that_forgets_its_votes_votes_again() {
    let (before, after) = restart_after_proposing(|config, restored, now| {
        Core::start_mutated(config, restored, now, Some(Mutation::ForgetVotesOnRestart))
    });
    assert!(
        after
            .iter()
            .any(|v| v.round == before.round && v.kind != before.kind),
        "the mutated core should have voted for a second block"
    );
}

#[test]
fn items_gossiped_together_are_pooled_except_a_forged_one() {
    let fed = federation(4);
    let mut author = fed.fresh(0);
    let mut receiver = fed.fresh(1);
    // Three submissions in a row, as the driver batches them: one message per output each.
    let mut sent = Vec::new();
    for i in 0..3u8 {
        let output = author.handle(0, submit(vec![i]));
        sent.extend(output.send);
    }
    let merged = super::coalesce_items(sent);
    let items = merged
        .iter()
        .find_map(|(_, m)| match m {
            Message::Items(items) => Some(items.clone()),
            _ => None,
        })
        .expect("one Items message");
    assert_eq!(items.len(), 3);
    assert!(
        !merged.iter().any(|(_, m)| matches!(m, Message::Item(_))),
        "no item left alone"
    );
    let mut forged = items.clone();
    forged[1].entries[0].data = vec![9];
    let from = fed.id(0);
    receiver.handle(
        0,
        Input::Message {
            from,
            message: Message::Items(forged),
        },
    );
    assert_eq!(
        receiver.pending_items(),
        2,
        "the forged item is dropped, the others kept"
    );
    receiver.handle(
        0,
        Input::Message {
            from,
            message: Message::Items(items),
        },
    );
    assert_eq!(receiver.pending_items(), 3);
}

/// A vote signed in the previous epoch may arrive after the switch, in a round number the new
/// epoch reuses: it fails the new domain's check, and must not keep the signer's real vote of a
/// conflicting kind out of the tally.
#[test]
fn a_vote_from_the_previous_epoch_does_not_block_the_signers_vote_in_this_one() {
    let fed = federation(4);
    let mut epoch = super::genesis_epoch(&fed.genesis);
    epoch.number = 1;
    let domain = epoch.signing_domain(&fed.genesis.federation_id());
    let config = CoreConfig::new(
        &fed.genesis,
        Arc::new(fed.secrets[0].clone()),
        Arc::new(Ed25519Verifier),
    )
    .in_epoch(epoch);
    let (mut core, _) =
        Core::start(config, Restored::genesis(&fed.genesis), 0).expect("a member starts");
    let round = Round(1);
    let stale = Vote::new(
        &fed.genesis.federation_id(),
        &fed.secrets[1],
        round,
        VoteKind::Finalize(bfte_shared::hash::Hash::tagged(b"test", b"old block")),
    );
    let deliver = |core: &mut Core, signer: usize, vote: Vote| {
        core.handle(
            1,
            Input::Message {
                from: fed.id(signer),
                message: Message::Vote(vote),
            },
        )
    };
    deliver(&mut core, 1, stale);
    let mut certificates = Vec::new();
    for signer in 1..4 {
        let dummy = Vote::new(&domain, &fed.secrets[signer], round, VoteKind::Dummy);
        let output = deliver(&mut core, signer, dummy);
        assert!(output.evidence.is_empty(), "no evidence from a stale vote");
        certificates.extend(
            recorded(&output)
                .into_iter()
                .filter(|c| c.kind == VoteKind::Dummy),
        );
    }
    assert_eq!(
        certificates.len(),
        1,
        "peers 1 to 3 form the dummy certificate"
    );
    let peers = core.peers().clone();
    assert!(
        certificates[0]
            .verify(&domain, &peers, &Ed25519Verifier)
            .is_ok()
    );
}

/// Found by the `core` fuzz target: a quorum's finalization of the finalized tip itself (here
/// genesis, in a later round) left `try_finalize` reporting progress with nothing to finalize,
/// and `advance` looped forever on the next input.
#[test]
fn a_finalization_of_the_finalized_tip_itself_does_not_hang_the_core() {
    let fed = federation(4);
    let mut core = fed.fresh(3);
    let genesis = Block::genesis(&fed.genesis).hash();
    let round = Round(48);
    let kind = VoteKind::Finalize(genesis);
    let bytes = vote_signing_bytes(&fed.genesis.federation_id(), round, kind);
    let certificate = Certificate::from_signatures(
        round,
        kind,
        4,
        (0..3).map(|i| (i, fed.secrets[i].sign(&bytes))),
    );
    let vote = Vote::new(
        &fed.genesis.federation_id(),
        &fed.secrets[0],
        Round(0),
        VoteKind::Notarize(genesis),
    );
    let from = fed.id(0);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for message in [Message::Certificate(certificate), Message::Vote(vote)] {
            core.handle(1, Input::Message { from, message });
        }
        let _ = done.send((core.finalized_height(), core.round()));
    });
    let (height, round) = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the core returned from both inputs");
    assert_eq!(height.0, 0, "nothing above genesis became final");
    assert_eq!(round, Round(1), "no round was certified");
}
