//! Byzantine peers: an honest core whose outgoing messages a behaviour rewrites. Each
//! behaviour is one small, reusable fault.

use std::collections::VecDeque;
use std::sync::Arc;

use bfte_shared::block::Payload;
use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::Signer;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::message::{Message, Pull};
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Proposal, Vote, VoteKind};
use rand::{Rng, RngExt};

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// As leader, signs two proposals and shows them to two halves of the peers in opposite
    /// orders, voting for both.
    Equivocate,
    /// Votes notarize and finalize for a second, made-up block in every round.
    DoubleVote,
    /// Sends both a dummy vote and a finalize vote in every round it acts in.
    DummyAndFinalize,
    /// Corrupts the signature of half of what it sends.
    BadSignatures,
    /// Sends garbage bytes, truncated messages, over-limit blocks and impossible certificates.
    Malformed,
    /// Sends nothing at all.
    Withhold,
    /// Replays old messages and floods peers with pulls from round zero.
    StaleSpam,
    /// As leader, commits its proposals to a made-up state root, and votes for them.
    FalseState,
}

impl Behavior {
    pub const ALL: [Behavior; 8] = [
        Behavior::Equivocate,
        Behavior::DoubleVote,
        Behavior::DummyAndFinalize,
        Behavior::BadSignatures,
        Behavior::Malformed,
        Behavior::Withhold,
        Behavior::StaleSpam,
        Behavior::FalseState,
    ];
}

/// What a Byzantine peer sends: raw bytes to a list of peer indices.
pub type Outgoing = Vec<(Vec<usize>, Vec<u8>)>;

#[derive(Debug)]
pub struct Byzantine {
    pub behavior: Behavior,
    signer: Arc<dyn Signer>,
    federation: FederationId,
    history: VecDeque<Vec<u8>>,
}

impl Byzantine {
    pub fn new(behavior: Behavior, signer: Arc<dyn Signer>, federation: FederationId) -> Self {
        Byzantine {
            behavior,
            signer,
            federation,
            history: VecDeque::new(),
        }
    }

    /// Signs over another epoch's domain from now on, as its own core does.
    pub fn set_domain(&mut self, domain: FederationId) {
        self.federation = domain;
    }

    fn vote(&self, round: Round, kind: VoteKind) -> Message {
        Message::Vote(Vote::new(
            &self.federation,
            self.signer.as_ref(),
            round,
            kind,
        ))
    }

    /// Rewrites one message the honest core wanted to send to `targets`.
    pub fn rewrite<R: Rng>(
        &mut self,
        rng: &mut R,
        targets: Vec<usize>,
        message: Message,
    ) -> Outgoing {
        let (first_half, second_half) = {
            let mid = targets.len() / 2;
            (targets[..mid].to_vec(), targets[mid..].to_vec())
        };
        let made_up = Hash(rng_bytes(rng));
        let mut out: Vec<(Vec<usize>, Message)> = Vec::new();
        match (self.behavior, message) {
            (Behavior::Withhold, _) => {}
            (Behavior::Equivocate, Message::Proposal(proposal)) => {
                let mut block = proposal.block.clone();
                block.header.timestamp_ms += 1;
                let twin = Proposal::new(&self.federation, self.signer.as_ref(), block);
                let twin_vote = self.vote(
                    twin.block.header.round,
                    VoteKind::Notarize(twin.block.hash()),
                );
                // Each half gets both proposals, in opposite orders, so each half's first
                // (the one a correct peer votes for) differs.
                out.push((first_half.clone(), Message::Proposal(proposal.clone())));
                out.push((second_half.clone(), Message::Proposal(twin.clone())));
                out.push((second_half.clone(), twin_vote));
                out.push((first_half, Message::Proposal(twin)));
                out.push((second_half, Message::Proposal(proposal)));
            }
            (Behavior::FalseState, Message::Proposal(proposal)) => {
                let mut block = proposal.block;
                block.header.state_root = made_up;
                let vote = self.vote(block.header.round, VoteKind::Notarize(block.hash()));
                let lie = Proposal::new(&self.federation, self.signer.as_ref(), block);
                out.push((targets.clone(), Message::Proposal(lie)));
                out.push((targets, vote));
            }
            (Behavior::DoubleVote, Message::Vote(vote)) => {
                let other = match vote.kind {
                    VoteKind::Notarize(_) => Some(VoteKind::Notarize(made_up)),
                    VoteKind::Finalize(_) => Some(VoteKind::Finalize(made_up)),
                    VoteKind::Dummy => None,
                };
                if let Some(kind) = other {
                    out.push((second_half, self.vote(vote.round, kind)));
                }
                out.push((targets, Message::Vote(vote)));
            }
            (Behavior::DummyAndFinalize, Message::Vote(vote)) => {
                match vote.kind {
                    VoteKind::Finalize(_) | VoteKind::Notarize(_) => {
                        out.push((targets.clone(), self.vote(vote.round, VoteKind::Dummy)));
                    }
                    VoteKind::Dummy => {
                        let kind = VoteKind::Finalize(made_up);
                        out.push((targets.clone(), self.vote(vote.round, kind)));
                    }
                }
                out.push((targets, Message::Vote(vote)));
            }
            (Behavior::BadSignatures, mut message) => {
                if rng.random_bool(0.5) {
                    corrupt_signature(&mut message);
                }
                out.push((targets, message));
            }
            (Behavior::Malformed, message) => {
                let roll = rng.random_range(0..6u8);
                match roll {
                    0 => {
                        let len = rng.random_range(0..200usize);
                        let garbage: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                        return vec![(targets, garbage)];
                    }
                    1 => {
                        let bytes = message.encode();
                        let cut = rng.random_range(0..bytes.len().max(1));
                        return vec![(targets, bytes[..cut].to_vec())];
                    }
                    2 => out.push((targets.clone(), hostile_certificate(&message))),
                    3 => {
                        if let Message::Proposal(proposal) = &message {
                            out.push((targets.clone(), self.oversized(proposal)));
                        }
                    }
                    _ => {}
                }
                out.push((targets, message));
            }
            (Behavior::StaleSpam, message) => {
                let bytes = message.encode();
                if let Some(old) = self
                    .history
                    .get(rng.random_range(0..self.history.len().max(1)))
                {
                    out_bytes(&mut out, targets.clone(), old.clone());
                }
                let pull = Message::Pull(Pull {
                    round: Round(0),
                    finalized_height: Height(0),
                });
                out.push((targets.clone(), pull));
                self.history.push_back(bytes);
                if self.history.len() > 64 {
                    self.history.pop_front();
                }
                out.push((targets, message));
            }
            (_, message) => out.push((targets, message)),
        }
        out.into_iter()
            .map(|(to, message)| (to, message.encode()))
            .collect()
    }

    /// A validly signed proposal whose payload is far over the block size limit.
    fn oversized(&self, proposal: &Proposal) -> Message {
        let mut block = proposal.block.clone();
        let item = ConsensusItem::single(
            &self.federation,
            self.signer.as_ref(),
            u64::MAX,
            ModuleId(0),
            vec![7; 2 << 20],
        );
        block.payload = Payload { items: vec![item] };
        block.header.payload_hash = block.payload.hash();
        Message::Proposal(Proposal::new(&self.federation, self.signer.as_ref(), block))
    }
}

fn out_bytes(out: &mut Vec<(Vec<usize>, Message)>, targets: Vec<usize>, bytes: Vec<u8>) {
    if let Ok(message) = Message::decode(&bytes) {
        out.push((targets, message));
    }
}

fn rng_bytes<R: Rng>(rng: &mut R) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn corrupt_signature(message: &mut Message) {
    let signature = match message {
        Message::Vote(vote) => &mut vote.signature,
        Message::Proposal(proposal) => &mut proposal.signature,
        Message::Item(item) => &mut item.signature,
        Message::Items(items) => match items.first_mut() {
            Some(item) => &mut item.signature,
            None => return,
        },
        Message::Certificate(certificate) => match certificate.signatures.first_mut() {
            Some(signature) => signature,
            None => return,
        },
        _ => return,
    };
    signature.0[5] ^= 0x20;
}

/// Certificates no correct peer can accept: signers beyond the peer set, a bitmap of the wrong
/// size, or a quorum's worth of one repeated signature.
fn hostile_certificate(message: &Message) -> Message {
    let round = match message {
        Message::Vote(vote) => vote.round,
        Message::Proposal(proposal) => proposal.block.header.round,
        _ => Round(1),
    };
    let signature = match message {
        Message::Vote(vote) => vote.signature,
        _ => bfte_shared::peer::Signature([1; 64]),
    };
    Message::Certificate(Certificate {
        round,
        kind: VoteKind::Dummy,
        signers: vec![0xff; 3],
        signatures: vec![signature; 24],
    })
}
