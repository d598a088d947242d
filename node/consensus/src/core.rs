//! The core state machine: its state, inputs, and moving from round to round.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bfte_shared::block::{Block, BlockHeader};
use bfte_shared::certificate::Certificate;
use bfte_shared::crypto::{Signer, Verifier};
use bfte_shared::federation::{ConsensusParams, FederationId, Genesis, InvalidPeerSet, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::Entry;
use bfte_shared::message::{Message, Pull};
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Vote, VoteKind};

use super::applied::AppliedRoots;
use super::gossip::coalesce_items;
use super::io::{Destination, Durable, Now, Output, Restored, Timer};
#[cfg(feature = "mutants")]
use super::mutants::Mutation;
use super::pool::Pool;
use super::round_state::RoundState;
use super::sit_out::SitOut;

/// Messages about rounds further ahead than this are not stored (the peer pulls instead), so a
/// spammer cannot make a peer hold state for arbitrarily many rounds.
pub(super) const FUTURE_ROUNDS: u64 = 64;

/// What the core runs under: the federation, the epoch (peer set and parameters), and the
/// local signing and verification (it never touches keys itself).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub federation: FederationId,
    epoch: EpochConfig,
    /// The epoch's peer set and configuration hash, worked out once when the epoch is set:
    /// checking the members' keys was most of what a start cost (a restart, a fuzz run).
    peers: Result<(PeerSet, Hash), InvalidPeerSet>,
    pub signer: Arc<dyn Signer>,
    pub verifier: Arc<dyn Verifier>,
    /// The database was restored from a backup: sign nothing until a floor above every round
    /// this peer may have signed in is known (SPEC rule 15). The nonce of its asks, drawn by
    /// the driver for each start (the core draws nothing random).
    pub sit_out: Option<u64>,
    /// Rounds at or below this one get no proposal from this core: after a restart, a
    /// proposal sent there before its batch was durable may be lost (driver contract 1).
    pub proposes_above: Round,
}

impl CoreConfig {
    /// The genesis epoch of `genesis`, whose peer set is checked already.
    pub fn new(genesis: &Genesis, signer: Arc<dyn Signer>, verifier: Arc<dyn Verifier>) -> Self {
        CoreConfig {
            federation: genesis.federation_id(),
            epoch: genesis_epoch(genesis),
            peers: Ok((genesis.peers.clone(), genesis.config_hash())),
            signer,
            verifier,
            sit_out: None,
            proposes_above: Round(0),
        }
    }

    /// The same, for a peer whose database was restored from a backup; `nonce` must not repeat
    /// across the starts of this peer (a random one does).
    pub fn sitting_out(self, nonce: u64) -> Self {
        CoreConfig {
            sit_out: Some(nonce),
            ..self
        }
    }

    /// The same, for a core that must not propose in rounds up to `round`.
    pub fn proposing_above(self, round: Round) -> Self {
        CoreConfig {
            proposes_above: round,
            ..self
        }
    }

    /// The same federation and keys, in another epoch.
    pub fn in_epoch(self, epoch: EpochConfig) -> Self {
        CoreConfig {
            peers: epoch.peers_and_config_hash(),
            epoch,
            ..self
        }
    }
}

/// The genesis epoch as the core needs it: the founding peers and parameters (modules are the
/// ledger's business).
pub fn genesis_epoch(genesis: &Genesis) -> EpochConfig {
    EpochConfig::genesis(genesis, Vec::new())
}

/// One input to the core. Time is always an input: the core never reads a clock.
// Inputs are built and consumed once per call; boxing the message would cost an allocation
// per received message for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    Message {
        from: PeerId,
        message: Message,
    },
    Timer(Timer),
    /// Local clients ask to put entries into consensus: signed together as one item (or as
    /// few as the block limits allow), so a driver hands a whole batch's submissions at once.
    Submit {
        entries: Vec<Entry>,
    },
    /// A connection to a peer came up (again): whatever happened while it was down, compare
    /// notes. Without this, a peer cut off while the rest went idle would never catch up.
    PeerConnected(PeerId),
    /// The ledger applied the finalized block at `height`; `root` is the state after it.
    /// Reported for every height in order, and after a start for the recent applied heights.
    Applied {
        height: Height,
        root: Hash,
    },
}

/// Why the core cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("epoch {epoch} has no valid peer set: {source}")]
    InvalidPeerSet { epoch: u64, source: InvalidPeerSet },
}

/// Clone: a harness can start a core once and fork it for every run.
#[derive(Debug, Clone)]
pub struct Core {
    /// What items are signed over: the federation, in every epoch.
    pub(super) federation: FederationId,
    /// What votes, proposals and certificates are signed over: this epoch only.
    pub(super) domain: FederationId,
    pub(super) epoch: u64,
    pub(super) config_hash: Hash,
    pub(super) peers: PeerSet,
    pub(super) params: ConsensusParams,
    pub(super) me: PeerId,
    /// `None` for a peer outside this epoch's set: it follows (certificates, finalized
    /// history) but never votes or proposes.
    pub(super) my_index: Option<usize>,
    pub(super) signer: Arc<dyn Signer>,
    pub(super) verifier: Arc<dyn Verifier>,
    /// The monotonic clock, for timers and rate limits.
    pub(super) now: u64,
    /// The wall clock, for block timestamps only.
    pub(super) wall_ms: u64,
    pub(super) round: Round,
    /// Rounds above the finalized round, plus the current one.
    pub(super) rounds: BTreeMap<Round, RoundState>,
    /// Blocks above the finalized tip that this peer has seen, by hash.
    pub(super) blocks: HashMap<Hash, Block>,
    pub(super) tip: BlockHeader,
    pub(super) tip_hash: Hash,
    /// The finalization of `tip` (none for the genesis block).
    pub(super) tip_finalization: Option<Certificate>,
    pub(super) finalized_nonces: BTreeMap<PeerId, u64>,
    pub(super) pool: Pool,
    pub(super) applied: AppliedRoots,
    pub(super) out: Output,
    pub(super) resend_armed: bool,
    pub(super) round_timer_armed: Option<Round>,
    pub(super) height_at_last_resend: Height,
    pub(super) last_pull_ms: Option<u64>,
    /// When each peer's last pull was answered, and what it asked.
    pub(super) last_served: HashMap<PeerId, (u64, Pull)>,
    /// When each peer's dummy vote was last answered with certificates (`answer_dummy`).
    pub(super) last_dummy_answer: HashMap<PeerId, u64>,
    /// Set while restored from a backup (SPEC rule 15).
    pub(super) sit_out: Option<SitOut>,
    /// No proposal at or below this round (`CoreConfig::proposes_above`).
    pub(super) proposes_above: Round,
    /// When each peer's last ask for the highest certificate was answered.
    pub(super) highest_answered: HashMap<PeerId, u64>,
    #[cfg(feature = "mutants")]
    pub(super) mutation: Option<Mutation>,
}

impl Core {
    /// Starts (or restarts) the core from what the database holds. The output re-sends what
    /// this peer had signed and asks peers for what it missed.
    pub fn start(
        config: CoreConfig,
        restored: Restored,
        now: impl Into<Now>,
    ) -> Result<(Core, Output), StartError> {
        Self::start_inner(
            config,
            restored,
            now.into(),
            #[cfg(feature = "mutants")]
            None,
        )
    }

    /// Starts a core with a rule broken from the first step (restoring included).
    #[cfg(feature = "mutants")]
    pub fn start_mutated(
        config: CoreConfig,
        restored: Restored,
        now: impl Into<Now>,
        mutation: Option<Mutation>,
    ) -> Result<(Core, Output), StartError> {
        Self::start_inner(config, restored, now.into(), mutation)
    }

    fn start_inner(
        config: CoreConfig,
        restored: Restored,
        now: Now,
        #[cfg(feature = "mutants")] mutation: Option<Mutation>,
    ) -> Result<(Core, Output), StartError> {
        let me = config.signer.peer_id();
        let epoch = &config.epoch;
        let (peers, config_hash) =
            config
                .peers
                .clone()
                .map_err(|source| StartError::InvalidPeerSet {
                    epoch: epoch.number,
                    source,
                })?;
        let my_index = peers.index_of(&me);
        let tip = restored.finalized_tip.header.clone();
        let tip_round = tip.round;
        let mut core = Core {
            federation: config.federation,
            domain: epoch.signing_domain(&config.federation),
            epoch: epoch.number,
            config_hash,
            params: epoch.params.clone(),
            peers,
            me,
            my_index,
            signer: config.signer,
            verifier: config.verifier,
            now: now.monotonic_ms,
            wall_ms: now.wall_ms,
            round: tip.round.next(),
            rounds: BTreeMap::new(),
            blocks: HashMap::new(),
            tip_hash: tip.hash(),
            tip_finalization: restored.tip_finalization,
            height_at_last_resend: tip.height,
            tip,
            finalized_nonces: restored.finalized_nonces,
            pool: Pool::default(),
            applied: AppliedRoots::default(),
            out: Output::default(),
            resend_armed: false,
            round_timer_armed: None,
            last_pull_ms: None,
            last_served: HashMap::new(),
            last_dummy_answer: HashMap::new(),
            sit_out: config.sit_out.map(|nonce| SitOut::new(nonce, tip_round)),
            proposes_above: config.proposes_above,
            highest_answered: HashMap::new(),
            #[cfg(feature = "mutants")]
            mutation,
        };
        core.restore_votes(restored.votes);
        for block in restored.blocks {
            if block.header.round > core.tip.round && block.payload_matches() {
                core.blocks.insert(block.hash(), block);
            }
        }
        for certificate in restored.certificates {
            if certificate.round > core.tip.round {
                core.round = core.round.max(certificate.round);
                core.record_certificate(certificate);
            }
        }
        // What was just reloaded is on disk already.
        core.out
            .persist
            .retain(|d| !matches!(d, Durable::Certificate(_) | Durable::Block(_)));
        for item in restored.own_items {
            core.add_item(item);
        }
        core.resend_own();
        core.enter_round(core.round);
        core.advance();
        // Asked once what was restored is in place, so the question is as precise as can be.
        core.pull(Destination::AllPeers);
        core.ask_highest(Destination::AllPeers);
        core.arm_resend();
        let mut output = std::mem::take(&mut core.out);
        output.send = coalesce_items(output.send);
        Ok((core, output))
    }

    #[cfg(feature = "mutants")]
    pub(super) fn mutated(&self, mutation: Mutation) -> bool {
        self.mutation == Some(mutation)
    }

    /// Reloads own votes: the round resumes after the last one this peer acted in, and no rule
    /// that depends on an earlier vote can be broken by forgetting it.
    fn restore_votes(&mut self, votes: Vec<Vote>) {
        #[cfg(feature = "mutants")]
        if self.mutated(Mutation::ForgetVotesOnRestart) {
            return;
        }
        for vote in votes {
            if vote.round <= self.tip.round || vote.signer != self.me {
                continue;
            }
            let resume = match vote.kind {
                VoteKind::Finalize(_) => vote.round.next(),
                _ => vote.round,
            };
            self.round = self.round.max(resume);
            let state = self.rounds.entry(vote.round).or_default();
            let slot = match vote.kind {
                VoteKind::Notarize(_) => &mut state.own_notarize,
                VoteKind::Dummy => &mut state.own_dummy,
                VoteKind::Finalize(_) => &mut state.own_finalize,
            };
            *slot = Some(vote.clone());
            if let Some(index) = self.my_index {
                self.count_vote(index, vote.round, vote.kind, vote.signature, true);
            }
        }
    }

    pub fn handle(&mut self, now: impl Into<Now>, input: Input) -> Output {
        let now = now.into();
        self.now = self.now.max(now.monotonic_ms);
        self.wall_ms = now.wall_ms;
        match input {
            Input::Message { from, message } => self.on_message(from, message),
            Input::Timer(Timer::Round(round)) => self.on_round_timeout(round),
            Input::Timer(Timer::Resend) => self.on_resend(),
            Input::Submit { entries } => self.submit(entries),
            Input::PeerConnected(peer) => {
                if self.peers.contains(&peer) && peer != self.me {
                    self.pull(Destination::Peer(peer));
                    if !self.heard_highest_from(peer) {
                        self.ask_highest(Destination::Peer(peer));
                    }
                }
            }
            Input::Applied { height, root } => self.on_applied(height, root),
        }
        self.advance();
        let mut output = std::mem::take(&mut self.out);
        output.send = coalesce_items(output.send);
        output
    }

    fn on_message(&mut self, from: PeerId, message: Message) {
        if !self.peers.contains(&from) || from == self.me {
            return;
        }
        match message {
            Message::Proposal(proposal) => self.on_proposal(from, proposal),
            Message::Vote(vote) => self.on_vote(from, vote),
            Message::Certificate(certificate) => self.on_certificate(from, certificate),
            Message::Item(item) => self.on_items(vec![item]),
            Message::Items(items) => self.on_items(items),
            Message::Pull(pull) => self.on_pull(from, pull),
            Message::Catchup(catchup) => self.on_catchup(from, catchup),
            Message::Finalized(chain) => self.on_finalized_chain(from, chain),
            Message::HighestAsk { nonce } => self.answer_highest(from, nonce),
            Message::Highest { nonce, certificate } => self.on_highest(from, nonce, certificate),
        }
    }

    /// New work arrived: an idle round starts its timer, an idle leader proposes.
    pub(super) fn on_work(&mut self) {
        self.arm_round_timer();
        self.try_propose();
        self.arm_resend();
    }

    /// Whether anything is waiting for consensus: a pending item, or more than f peers acting
    /// in the current round or later (so at least one correct peer has work). With neither, no
    /// timers run: an idle federation is silent, and a lone Byzantine peer cannot spin rounds.
    pub(super) fn has_work(&self) -> bool {
        let f = self.peers.max_faulty();
        self.pool.has_ready(&self.finalized_nonces)
            || self
                .rounds
                .range(self.round..)
                .any(|(_, state)| state.active.len() > f)
    }

    /// Leaves every certified round in turn; a peer that saw a block notarized and never voted
    /// dummy in its round sends finalize on the way out.
    pub(super) fn advance(&mut self) {
        loop {
            loop {
                let round = self.round;
                let certified = round <= self.tip.round
                    || self
                        .rounds
                        .get(&round)
                        .is_some_and(RoundState::is_certified);
                if !certified {
                    break;
                }
                self.maybe_finalize_vote(round);
                // A round that is final already moves the tip before the next one starts:
                // the next leader's check for stalled finality must see it, or a lone peer
                // whose finality stalled once would propose empty blocks here forever.
                let finalized = self.rounds.get(&round);
                if finalized.is_some_and(|state| state.finalized_block().is_some()) {
                    self.try_finalize();
                }
                self.enter_round(round.next());
            }
            if !self.try_finalize() {
                break;
            }
        }
    }

    pub(super) fn enter_round(&mut self, round: Round) {
        tracing::trace!(peer = %self.me.short(), now = self.now, %round, "enter round");
        self.round = round;
        self.rounds.entry(round).or_default();
        self.arm_round_timer();
        self.try_propose();
        self.try_vote();
    }

    pub(super) fn send(&mut self, to: Destination, message: Message) {
        self.out.send.push((to, message));
    }

    /// The leader of a round: a pseudo-random peer every peer computes alike.
    pub fn leader(&self, round: Round) -> PeerId {
        let mut seed = self.domain.0.0.to_vec();
        seed.extend_from_slice(&round.0.to_le_bytes());
        let hash = Hash::tagged(b"bfte/v1/leader\0", &seed);
        let mut word = [0u8; 8];
        word.copy_from_slice(&hash.0[..8]);
        let index = u64::from_le_bytes(word) % self.peers.len() as u64;
        *self.peers.get(index as usize).unwrap_or(&self.me)
    }

    pub fn round(&self) -> Round {
        self.round
    }

    pub fn finalized_height(&self) -> Height {
        self.tip.height
    }

    pub fn finalized_tip(&self) -> (Hash, &BlockHeader) {
        (self.tip_hash, &self.tip)
    }

    pub fn peer_id(&self) -> PeerId {
        self.me
    }

    pub fn peers(&self) -> &PeerSet {
        &self.peers
    }

    /// Entries pending in the pool (what clients submitted, whichever items carry them).
    pub fn pending_items(&self) -> usize {
        self.pool.entries()
    }

    pub fn federation(&self) -> FederationId {
        self.federation
    }

    /// What this epoch's votes, proposals and certificates are signed over.
    pub fn domain(&self) -> FederationId {
        self.domain
    }

    /// The epoch this core runs in.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// While restored from a backup (SPEC rule 15): the round above which this peer signs
    /// again (`Round(u64::MAX)` until it is learnt). `None` for a peer that does not sit out.
    pub fn signs_only_above(&self) -> Option<Round> {
        let sit_out = self.sit_out.as_ref()?;
        Some(sit_out.floor().unwrap_or(Round(u64::MAX)))
    }

    /// Whether this node votes in this epoch (else it only follows).
    pub fn is_voter(&self) -> bool {
        self.my_index.is_some()
    }

    /// What this peer made of the leader's proposal in `round`, while it keeps the round:
    /// `None` if none arrived, `Some(Err(why))` if it was invalid, `Some(Ok(()))` otherwise.
    /// Operators read it as the cause of a dummy round.
    pub fn proposal_verdict(&self, round: Round) -> Option<Result<(), &'static str>> {
        let state = self.rounds.get(&round)?;
        match state.proposal_rejected {
            Some(why) => Some(Err(why)),
            None => state.proposal.as_ref().map(|_| Ok(())),
        }
    }
}
