//! The structured target's driver: it plays the other peers of a four-peer federation (signing
//! with their real keys), the clock, the timers, the ledger and the store around one
//! `bfte_consensus::Core`, and checks after every step what the core must never do
//! (`checker`). The fuzzer picks the steps.

mod checker;
mod disk;
mod fixture;
mod step;

use std::collections::{BTreeMap, HashMap, VecDeque};

use bfte_consensus::{Core, Durable, Evidence, Input, Output, Timer};
use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, Entry, ModuleId};
use bfte_shared::message::{Catchup, FinalizedChain, Message, Pull};
use bfte_shared::peer::{PeerId, Signature};
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Proposal, Vote, VoteKind, vote_signing_bytes};

use self::checker::Checker;
use self::disk::Disk;
use self::fixture::{PEERS, fixture};
pub use self::step::{CertificateSpec, ItemSpec, Kind, Step};

/// Rounds the fuzzer picks from: enough to reach past the core's window of future rounds
/// from the start, few enough that votes on one round meet.
const ROUNDS: u8 = 72;
/// Blocks the fuzzer can name; older ones drop out.
const KNOWN_BLOCKS: usize = 64;
/// Most blocks or certificates in one catch-up message the fuzzer builds.
const MAX_IN_MESSAGE: usize = 8;
/// Most bytes of entry data the fuzzer puts in an item.
const MAX_ENTRY_BYTES: usize = 64;
/// State roots a restarted core is told, as the driver tells it the ledger's recent ones.
const RECENT_ROOTS: u64 = 16;

#[derive(Debug)]
pub struct Harness {
    me: usize,
    core: Core,
    /// The monotonic and wall clocks both.
    now: u64,
    known: Vec<Block>,
    timers: BTreeMap<Timer, u64>,
    /// The core's own signatures, for certificates that include its votes.
    own_votes: HashMap<(Round, VoteKind), Signature>,
    checker: Checker,
    disk: Disk,
}

impl Harness {
    /// A fresh core as peer `me` (modulo the federation's size) of the fixed federation.
    pub fn new(me: u8) -> Harness {
        let fixture = fixture();
        let me = usize::from(me) % PEERS;
        let genesis = fixture.genesis_block.clone();
        let (core, output) = fixture.started[me].clone();
        let mut harness = Harness {
            me,
            core,
            now: 0,
            known: vec![genesis.clone()],
            timers: BTreeMap::new(),
            own_votes: HashMap::new(),
            checker: Checker::new(&genesis),
            disk: Disk::new(genesis),
        };
        harness.settle(output, VecDeque::new());
        harness
    }

    pub fn run(&mut self, step: Step) {
        match step {
            Step::Vote { from, round, kind } => {
                let from = self.other(from);
                let kind = self.kind(kind);
                let vote = Vote::new(
                    &self.domain(),
                    &*fixture().signers[from],
                    round_of(round),
                    kind,
                );
                self.deliver(from, Message::Vote(vote));
            }
            Step::Certificate { from, certificate } => {
                let certificate = self.certificate(certificate);
                self.deliver(self.other(from), Message::Certificate(certificate));
            }
            Step::Propose {
                round,
                parent,
                item,
                delay_ms,
            } => self.propose(round_of(round), parent, item, delay_ms),
            Step::Item(spec) => {
                let from = self.other(spec.from);
                let item = self.item(&spec);
                self.deliver(from, Message::Item(item));
            }
            Step::Catchup {
                from,
                certificates,
                blocks,
            } => {
                let catchup = Catchup {
                    certificates: certificates
                        .into_iter()
                        .take(MAX_IN_MESSAGE)
                        .map(|spec| self.certificate(spec))
                        .collect(),
                    blocks: blocks
                        .into_iter()
                        .take(MAX_IN_MESSAGE)
                        .map(|i| self.block(i).clone())
                        .collect(),
                };
                self.deliver(self.other(from), Message::Catchup(catchup));
            }
            Step::Finalized {
                from,
                blocks,
                round,
                signers,
            } => {
                let blocks: Vec<Block> = blocks
                    .into_iter()
                    .take(MAX_IN_MESSAGE)
                    .map(|i| self.block(i).clone())
                    .collect();
                let Some(last) = blocks.last() else {
                    return;
                };
                let kind = VoteKind::Finalize(last.hash());
                let finalization = self.signed_certificate(round_of(round), kind, signers);
                let chain = FinalizedChain {
                    blocks,
                    finalization,
                };
                self.deliver(self.other(from), Message::Finalized(chain));
            }
            Step::Pull {
                from,
                round,
                height,
            } => {
                let pull = Pull {
                    round: round_of(round),
                    finalized_height: Height(u64::from(height)),
                };
                self.deliver(self.other(from), Message::Pull(pull));
            }
            Step::Raw { from, bytes } => {
                if let Ok(message) = Message::decode(&bytes) {
                    self.deliver(self.other(from), message);
                }
            }
            Step::Submit(mut data) => {
                data.truncate(MAX_ENTRY_BYTES);
                let entries = vec![Entry {
                    module: ModuleId(0),
                    data,
                }];
                self.handle(Input::Submit { entries });
            }
            Step::PeerConnected(peer) => {
                self.handle(Input::PeerConnected(peer_id(usize::from(peer) % PEERS)));
            }
            Step::FireTimer(index) => {
                let Some((&timer, &at)) = self
                    .timers
                    .iter()
                    .nth(usize::from(index) % self.timers.len().max(1))
                else {
                    return;
                };
                self.timers.remove(&timer);
                self.now = self.now.max(at);
                self.handle(Input::Timer(timer));
            }
            Step::Wait(ms) => self.now += u64::from(ms),
            Step::Restart => self.restart(),
            Step::RestartLosingFinalized(blocks) => {
                let tip = self.disk.lose_finalized(usize::from(blocks));
                self.checker.rolled_back(&tip);
                self.restart();
            }
        }
    }

    fn propose(&mut self, round: Round, parent: u8, item: Option<ItemSpec>, delay_ms: u8) {
        let leader = self.core.leader(round);
        let Some(index) = fixture().signers.iter().position(|s| s.id() == leader) else {
            panic!("the leader {leader} is not in the federation");
        };
        if index == self.me {
            return;
        }
        let parent = self.block(parent).header.clone();
        let payload = Payload {
            items: item.iter().map(|spec| self.item(spec)).collect(),
        };
        let block = Block {
            header: BlockHeader {
                round,
                height: parent.height.next(),
                parent: parent.hash(),
                payload_hash: payload.hash(),
                timestamp_ms: parent.timestamp_ms + u64::from(delay_ms),
                config_hash: parent.config_hash,
                state_root: parent.state_root,
                state_height: parent.state_height,
                proposer: leader,
            },
            payload,
        };
        self.learn(&block);
        let proposal = Proposal::new(&self.domain(), &*fixture().signers[index], block);
        self.deliver(index, Message::Proposal(proposal));
    }

    fn restart(&mut self) {
        let config = fixture().configs[self.me].clone();
        let (core, output) = fixture::start(config, self.disk.restored(), self.now);
        self.core = core;
        self.timers.clear();
        let tip = self.core.finalized_height().0;
        let roots = (tip.saturating_sub(RECENT_ROOTS).max(1)..=tip)
            .map(|height| applied(Height(height)))
            .collect();
        self.settle(output, roots);
    }

    fn deliver(&mut self, from: usize, message: Message) {
        self.handle(Input::Message {
            from: peer_id(from),
            message,
        });
    }

    fn handle(&mut self, input: Input) {
        let output = self.core.handle(self.now, input);
        self.settle(output, VecDeque::new());
    }

    /// Checks and stores `output`, then hands the core what a driver would in reply (the state
    /// roots of what it finalized), until it has nothing more to say.
    fn settle(&mut self, output: Output, mut replies: VecDeque<Input>) {
        self.absorb(output, &mut replies);
        while let Some(input) = replies.pop_front() {
            let output = self.core.handle(self.now, input);
            self.absorb(output, &mut replies);
        }
    }

    fn absorb(&mut self, output: Output, replies: &mut VecDeque<Input>) {
        let me = peer_id(self.me);
        for durable in &output.persist {
            match durable {
                Durable::Vote(vote) => {
                    assert_eq!(
                        vote.signer, me,
                        "the core persisted another peer's vote as its own"
                    );
                    self.checker.persisted_vote(vote);
                    self.own_votes
                        .insert((vote.round, vote.kind), vote.signature);
                }
                Durable::Block(block) => self.learn(block),
                Durable::OwnItem(_) | Durable::Certificate(_) => {}
            }
        }
        for (_, message) in &output.send {
            match message {
                Message::Vote(vote) if vote.signer == me => self.checker.sent_vote(vote),
                Message::Proposal(proposal) => {
                    if proposal.block.header.proposer == me {
                        self.checker.proposed(&proposal.block);
                    }
                    self.learn(&proposal.block);
                }
                _ => {}
            }
        }
        for evidence in &output.evidence {
            let accused = match evidence {
                Evidence::ConflictingVotes(pair) => pair.0.signer,
                Evidence::ConflictingProposals(pair) => pair.0.block.header.proposer,
            };
            assert_ne!(accused, me, "the core holds evidence against itself");
        }
        for finalized in &output.finalized {
            self.checker.finalized(finalized);
            replies.extend(finalized.blocks.iter().map(|b| applied(b.header.height)));
        }
        self.timers.extend(output.timers.iter().copied());
        self.disk.write(&output);
    }

    fn learn(&mut self, block: &Block) {
        if self.known.iter().any(|b| b == block) {
            return;
        }
        if self.known.len() >= KNOWN_BLOCKS {
            // Keep the genesis block: the one every chain starts from.
            self.known.remove(1);
        }
        self.known.push(block.clone());
    }

    fn block(&self, index: u8) -> &Block {
        &self.known[usize::from(index) % self.known.len()]
    }

    fn kind(&self, kind: Kind) -> VoteKind {
        match kind {
            Kind::Notarize(i) => VoteKind::Notarize(self.block(i).hash()),
            Kind::Dummy => VoteKind::Dummy,
            Kind::Finalize(i) => VoteKind::Finalize(self.block(i).hash()),
        }
    }

    fn certificate(&self, spec: CertificateSpec) -> Certificate {
        self.signed_certificate(round_of(spec.round), self.kind(spec.kind), spec.signers)
    }

    /// A certificate signed by the peers in the `signers` bitmap; the core's own signature only
    /// where it did vote so.
    fn signed_certificate(&self, round: Round, kind: VoteKind, signers: u8) -> Certificate {
        let bytes = vote_signing_bytes(&self.domain(), round, kind);
        let signatures: Vec<(usize, Signature)> = (0..PEERS)
            .filter(|i| signers & (1 << i) != 0)
            .filter_map(|i| {
                if i == self.me {
                    self.own_votes.get(&(round, kind)).map(|s| (i, *s))
                } else {
                    Some((
                        i,
                        bfte_shared::crypto::Signer::sign(&*fixture().signers[i], &bytes),
                    ))
                }
            })
            .collect();
        Certificate::from_signatures(round, kind, PEERS, signatures)
    }

    fn item(&self, spec: &ItemSpec) -> ConsensusItem {
        let from = self.other(spec.from);
        let mut data = spec.data.clone();
        data.truncate(MAX_ENTRY_BYTES);
        ConsensusItem::single(
            &self.core.federation(),
            &*fixture().signers[from],
            u64::from(spec.nonce),
            ModuleId(0),
            data,
        )
    }

    /// One of the other peers.
    fn other(&self, pick: u8) -> usize {
        (self.me + 1 + usize::from(pick) % (PEERS - 1)) % PEERS
    }

    fn domain(&self) -> FederationId {
        self.core.domain()
    }
}

fn peer_id(index: usize) -> PeerId {
    fixture().signers[index].id()
}

fn round_of(round: u8) -> Round {
    Round(u64::from(round % ROUNDS))
}

/// The driver's report of the state after the finalized block at `height`.
fn applied(height: Height) -> Input {
    Input::Applied {
        height,
        root: Hash::tagged(b"bfte-fuzz/state\0", &height.0.to_be_bytes()),
    }
}
