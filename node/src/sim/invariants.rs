//! The safety and liveness invariants, checked as every peer's output is processed.

use std::collections::HashMap;
use std::fmt;

use bfte_shared::block::Block;
use bfte_shared::hash::Hash;
use bfte_shared::round::Round;
use bfte_shared::vote::{Vote, VoteKind};

use super::ledger::{genesis_root, model_root};

/// A broken invariant, with what is needed to understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two correct peers finalized different blocks at one height.
    Agreement { height: u64, peer: usize },
    /// A correct peer's finalized chain skipped a height or does not link to its parent.
    BrokenChain { peer: usize, height: u64 },
    /// A correct peer signed two votes that must never coexist.
    ConflictingVotes {
        peer: usize,
        round: u64,
        what: &'static str,
    },
    /// A correct peer proposed two blocks in one round.
    ConflictingProposals { peer: usize, round: u64 },
    /// A block a correct peer finalized commits to a state root other than the one every
    /// correct peer computes for that height.
    StateCommitment { peer: usize, height: u64 },
    /// Evidence was raised against a correct peer.
    FalseEvidence { peer: usize },
    /// Two correct peers started an epoch from different blocks.
    EpochBoundary { epoch: u64, peer: usize },
    /// A block a correct peer finalized is stamped earlier than its parent.
    TimestampBackwards { peer: usize, height: u64 },
    /// A correct peer's step stopped with an error, as a node stops on one (a commit its
    /// store refused, a ledger that cannot go on).
    Stopped { peer: usize, reason: String },
    /// After the network healed, a correct peer's item was not final everywhere in time.
    Liveness {
        pending_items: usize,
        detail: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Agreement { height, peer } => {
                write!(
                    f,
                    "agreement: peer {peer} finalized a different block at height {height}"
                )
            }
            Violation::StateCommitment { peer, height } => {
                write!(
                    f,
                    "state: peer {peer} finalized a block at height {height} committing to a wrong state root"
                )
            }
            Violation::BrokenChain { peer, height } => {
                write!(
                    f,
                    "chain: peer {peer} finalized a block at height {height} that does not extend its chain"
                )
            }
            Violation::ConflictingVotes { peer, round, what } => {
                write!(
                    f,
                    "double vote: correct peer {peer} signed {what} in round {round}"
                )
            }
            Violation::ConflictingProposals { peer, round } => {
                write!(
                    f,
                    "equivocation: correct peer {peer} proposed two blocks in round {round}"
                )
            }
            Violation::Stopped { peer, reason } => write!(f, "peer {peer} stopped: {reason}"),
            Violation::FalseEvidence { peer } => {
                write!(f, "evidence raised against correct peer {peer}")
            }
            Violation::TimestampBackwards { peer, height } => write!(
                f,
                "timestamps: peer {peer} finalized a block at height {height} stamped before its parent"
            ),
            Violation::EpochBoundary { epoch, peer } => {
                write!(
                    f,
                    "epochs: peer {peer} started epoch {epoch} from another block than other correct peers"
                )
            }
            Violation::Liveness {
                pending_items,
                detail,
            } => {
                write!(
                    f,
                    "liveness: {pending_items} items of correct peers not final in time ({detail})"
                )
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct SignedInRound {
    notarize: Option<Hash>,
    dummy: bool,
    finalize: Option<Hash>,
}

/// Blocks and votes are compared per epoch: each epoch signs over its own domain, restarts
/// from the block it starts at, and may reuse round numbers and heights its predecessor used
/// past that block (those blocks leave every chain at the switch).
#[derive(Debug)]
pub struct Checker {
    correct: Vec<bool>,
    /// The epoch each peer is in.
    epochs: Vec<u64>,
    /// The block correct peers finalized at each (epoch, height).
    canonical: HashMap<(u64, u64), Hash>,
    /// Where correct peers started each epoch: (height, block).
    boundaries: HashMap<u64, (u64, Hash)>,
    /// The state root after each finalized block, by block hash.
    roots: HashMap<Hash, Hash>,
    /// The timestamp of each finalized block, by block hash.
    timestamps: HashMap<Hash, u64>,
    /// Each peer's finalized chain: the hash at each height.
    chains: Vec<Vec<Hash>>,
    signed: HashMap<(usize, u64, Round), SignedInRound>,
    proposed: HashMap<(usize, u64, Round), Hash>,
    pub violations: Vec<Violation>,
}

impl Checker {
    pub fn new(correct: Vec<bool>, genesis: &Block) -> Self {
        let n = correct.len();
        let genesis_hash = genesis.hash();
        Checker {
            correct,
            epochs: vec![0; n],
            canonical: HashMap::from([((0, 0), genesis_hash)]),
            boundaries: HashMap::new(),
            roots: HashMap::from([(genesis_hash, genesis_root(genesis))]),
            timestamps: HashMap::from([(genesis_hash, genesis.header.timestamp_ms)]),
            chains: vec![vec![genesis_hash]; n],
            signed: HashMap::new(),
            proposed: HashMap::new(),
            violations: Vec::new(),
        }
    }

    pub fn is_correct(&self, peer: usize) -> bool {
        self.correct[peer]
    }

    /// Every vote a correct peer signs passes through here (it is persisted before sending).
    pub fn on_signed_vote(&mut self, peer: usize, vote: &Vote) {
        if !self.correct[peer] {
            return;
        }
        let entry = self
            .signed
            .entry((peer, self.epochs[peer], vote.round))
            .or_default();
        let conflict = match vote.kind {
            VoteKind::Notarize(hash) => {
                let clash = entry.notarize.is_some_and(|h| h != hash);
                entry.notarize = Some(hash);
                clash.then_some("two notarize votes")
            }
            VoteKind::Dummy => {
                entry.dummy = true;
                entry.finalize.is_some().then_some("dummy and finalize")
            }
            VoteKind::Finalize(hash) => {
                let clash = entry.finalize.is_some_and(|h| h != hash);
                entry.finalize = Some(hash);
                if clash {
                    Some("two finalize votes")
                } else {
                    entry.dummy.then_some("dummy and finalize")
                }
            }
        };
        if let Some(what) = conflict {
            self.violations.push(Violation::ConflictingVotes {
                peer,
                round: vote.round.0,
                what,
            });
        }
    }

    pub fn on_proposal(&mut self, peer: usize, round: Round, hash: Hash) {
        if !self.correct[peer] {
            return;
        }
        if let Some(previous) = self.proposed.insert((peer, self.epochs[peer], round), hash)
            && previous != hash
        {
            self.violations.push(Violation::ConflictingProposals {
                peer,
                round: round.0,
            });
        }
    }

    pub fn on_evidence_against(&mut self, peer: usize) {
        if self.correct[peer] {
            self.violations.push(Violation::FalseEvidence { peer });
        }
    }

    /// Blocks a correct peer just finalized, in height order. Returns how many of them it had
    /// finalized before: a crash may lose finalized blocks that were not synced yet, and the
    /// peer must then finalize exactly the same blocks again.
    pub fn on_finalized(&mut self, peer: usize, blocks: &[Block]) -> usize {
        if !self.correct[peer] {
            return 0;
        }
        let epoch = self.epochs[peer];
        let mut again = 0;
        for block in blocks {
            let height = block.header.height.0 as usize;
            let hash = block.hash();
            let chain = &mut self.chains[peer];
            if height < chain.len() && height == again + blocks[0].header.height.0 as usize {
                if chain[height] != hash {
                    self.violations.push(Violation::Agreement {
                        height: height as u64,
                        peer,
                    });
                    return again;
                }
                again += 1;
                continue;
            }
            if height != chain.len() || chain.last() != Some(&block.header.parent) {
                self.violations.push(Violation::BrokenChain {
                    peer,
                    height: height as u64,
                });
                return again;
            }
            chain.push(hash);
            let known = *self.canonical.entry((epoch, height as u64)).or_insert(hash);
            if known != hash {
                self.violations.push(Violation::Agreement {
                    height: height as u64,
                    peer,
                });
                return again;
            }
            let stamp = block.header.timestamp_ms;
            if self
                .timestamps
                .get(&block.header.parent)
                .is_some_and(|parent| stamp < *parent)
            {
                self.violations.push(Violation::TimestampBackwards {
                    peer,
                    height: height as u64,
                });
                return again;
            }
            self.timestamps.entry(hash).or_insert(stamp);
            let parent_root = self.roots.get(&block.header.parent).copied();
            if let Some(parent_root) = parent_root {
                self.roots
                    .entry(hash)
                    .or_insert_with(|| model_root(&parent_root, block));
            }
            let committed = block.header.state_height.0 as usize;
            let committed_root = self.chains[peer]
                .get(committed)
                .and_then(|ancestor| self.roots.get(ancestor));
            if committed >= height || committed_root != Some(&block.header.state_root) {
                self.violations.push(Violation::StateCommitment {
                    peer,
                    height: height as u64,
                });
                return again;
            }
        }
        again
    }

    /// A correct peer moved into `epoch`, which starts from its block `start` at `height`:
    /// every correct peer must start it from the same block, and what it finalized above that
    /// block leaves its chain.
    pub fn on_epoch(&mut self, peer: usize, epoch: u64, height: u64, start: Hash) {
        self.epochs[peer] = epoch;
        if !self.correct[peer] {
            return;
        }
        let agreed = *self.boundaries.entry(epoch).or_insert((height, start));
        let chain = &mut self.chains[peer];
        if agreed != (height, start) || chain.get(height as usize) != Some(&start) {
            self.violations
                .push(Violation::EpochBoundary { epoch, peer });
            return;
        }
        chain.truncate(height as usize + 1);
    }

    /// The prefix property, checked in full: every correct chain is a prefix of the longest
    /// (up to where its epoch ended, for a peer left behind in an ended epoch: its blocks past
    /// that were checked against its epoch's peers as they were finalized).
    pub fn check_prefixes(&mut self) {
        let longest = (0..self.chains.len())
            .filter(|&p| self.correct[p])
            .max_by_key(|&p| self.chains[p].len());
        let Some(longest) = longest else {
            return;
        };
        let reference = self.chains[longest].clone();
        for peer in 0..self.chains.len() {
            if !self.correct[peer] {
                continue;
            }
            let chain = &self.chains[peer];
            let ended_at = self
                .boundaries
                .get(&(self.epochs[peer] + 1))
                .map_or(usize::MAX, |(height, _)| *height as usize + 1);
            let compared = chain.len().min(ended_at).min(reference.len());
            if reference[..compared] != chain[..compared] {
                self.violations.push(Violation::Agreement {
                    height: chain.len() as u64,
                    peer,
                });
            }
        }
    }

    pub fn finalized_height(&self, peer: usize) -> u64 {
        self.chains[peer].len() as u64 - 1
    }

    pub fn longest_height(&self) -> u64 {
        self.chains.iter().map(Vec::len).max().unwrap_or(1) as u64 - 1
    }

    /// The epoch `peer` is in.
    pub fn epoch(&self, peer: usize) -> u64 {
        self.epochs[peer]
    }
}
