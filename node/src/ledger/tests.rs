//! The ledger over a real store: module rules, effects between modules, state roots, resuming
//! after a restart, and the federation changing its peers and modules by vote.

use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, Entry, ModuleId};
use bfte_shared::ledger::ItemOutcome;
use bfte_shared::modules::attest::{AttestItem, STATEMENT_FINAL, StatementFinal};
use bfte_shared::modules::ctrl::{
    Change, CtrlItem, Member, ModuleVersion, PASSED, Proposal, ProposalId, ProposalStatus,
};
use bfte_shared::modules::meta::{MetaItem, VALUE_SET};
use bfte_shared::modules::{ATTEST, CONSENSUS_CTRL, DATA, META};
use bfte_shared::peer::{PeerId, PeerSecret};
use bfte_shared::round::Height;

use super::{Ledger, LedgerError};
use crate::modules::attest::THRESHOLD_KEY;
use crate::store::Store;
use crate::store::fixtures::{Federation, child, federation, finalized, new_store};

fn meta_data(key: &str, value: &str) -> Vec<u8> {
    codec::encode(&MetaItem::Propose {
        key: key.into(),
        value: value.into(),
    })
}

/// Builds blocks of items from a federation's peers, each author's nonces in sequence.
struct Chain {
    fed: Federation,
    blocks: Vec<Block>,
    nonces: Vec<u64>,
}

impl Chain {
    fn new(peers: u8) -> Chain {
        let fed = federation(peers);
        let genesis = Block::genesis(&fed.genesis);
        Chain {
            nonces: vec![0; peers as usize],
            fed,
            blocks: vec![genesis],
        }
    }

    fn item(&mut self, peer: usize, module: ModuleId, data: Vec<u8>) -> ConsensusItem {
        self.nonces[peer] += 1;
        self.fed.module_item(peer, self.nonces[peer], module, data)
    }

    /// One item of several entries, signed once by `peer`.
    fn batch(&mut self, peer: usize, entries: Vec<Entry>) -> ConsensusItem {
        self.nonces[peer] += 1;
        let federation = self.fed.genesis.federation_id();
        ConsensusItem::new(
            &federation,
            &self.fed.secrets[peer],
            self.nonces[peer],
            entries,
        )
    }

    fn meta(&mut self, peer: usize, key: &str, value: &str) -> ConsensusItem {
        self.item(peer, META, meta_data(key, value))
    }

    fn attest(&mut self, peer: usize, subject: &str, claim: &str) -> ConsensusItem {
        let item = AttestItem::Attest {
            subject: subject.into(),
            claim: claim.into(),
            detail: Some(format!("by peer {peer}")),
        };
        self.item(peer, ATTEST, codec::encode(&item))
    }

    fn ctrl(&mut self, peer: usize, item: CtrlItem) -> ConsensusItem {
        self.item(peer, CONSENSUS_CTRL, codec::encode(&item))
    }

    fn propose(&mut self, peer: usize, change: Change) -> ConsensusItem {
        self.ctrl(peer, CtrlItem::Propose(change))
    }

    fn vote(&mut self, peer: usize, proposal: u64, yes: bool) -> ConsensusItem {
        let proposal = ProposalId(proposal);
        self.ctrl(peer, CtrlItem::Vote { proposal, yes })
    }

    fn id(&self, peer: usize) -> PeerId {
        self.fed.secrets[peer].peer_id()
    }

    /// A key outside the federation that can sign items: returns its index and the member
    /// an `AddPeer` of it names.
    fn outsider(&mut self, seed: u8) -> (usize, Member) {
        let secret = PeerSecret::from_seed([seed; 32]);
        let member = Member {
            id: secret.peer_id(),
            name: format!("peer-{seed}"),
            addrs: vec![format!("127.0.0.1:{}", 4000 + u16::from(seed))],
        };
        self.fed.secrets.push(secret);
        self.nonces.push(0);
        (self.fed.secrets.len() - 1, member)
    }

    /// Appends a block of `items` and returns it.
    fn block(&mut self, items: Vec<ConsensusItem>) -> Block {
        let parent = self.blocks.last().expect("genesis");
        let block = child(parent, parent.header.round.0 + 1, items);
        self.blocks.push(block.clone());
        block
    }
}

fn new_ledger(chain: &Chain) -> Ledger {
    Ledger::new(&chain.fed.genesis)
}

/// Finalizes `block` in `store` and applies it; returns the block's item outcomes.
fn apply(ledger: &mut Ledger, store: &Store, block: &Block) -> Vec<ItemOutcome> {
    store
        .commit(&[], &[finalized(std::slice::from_ref(block))])
        .expect("commit");
    let caught_up = ledger.catch_up(store).expect("apply");
    assert_eq!(
        caught_up.applied.last().map(|(h, _)| *h),
        Some(block.header.height)
    );
    ledger
        .outcome(store.database(), block.header.height)
        .expect("outcome")
        .expect("recorded")
        .entries
}

fn effect_kinds(outcome: &ItemOutcome) -> Vec<String> {
    match outcome {
        ItemOutcome::Applied { effects } => effects.iter().map(|e| e.kind.clone()).collect(),
        ItemOutcome::Rejected { reason } => panic!("rejected: {reason}"),
    }
}

#[test]
fn a_meta_value_is_set_exactly_at_quorum() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    // q = 3 of 4. Two agree, one proposes something else: nothing is set.
    let items = vec![
        chain.meta(0, "federation.name", "alpha"),
        chain.meta(1, "federation.name", "alpha"),
        chain.meta(2, "federation.name", "beta"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(outcomes.iter().all(|o| effect_kinds(o).is_empty()));
    // Peer 2 changes its mind: the third matching proposal sets the value, once.
    let items = vec![
        chain.meta(2, "federation.name", "alpha"),
        chain.meta(3, "federation.name", "alpha"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert_eq!(effect_kinds(&outcomes[0]), [VALUE_SET]);
    assert_eq!(effect_kinds(&outcomes[1]), Vec::<String>::new());
}

#[test]
fn items_that_break_a_rule_are_rejected_and_change_nothing() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    // Block 1 records the genesis configuration; compare the state after it.
    let empty = chain.block(vec![]);
    apply(&mut ledger, &store, &empty);
    let undecodable = chain.item(0, META, vec![0xff, 0x00]);
    let empty_key = chain.meta(0, "", "x");
    let unknown_module = chain.item(0, ModuleId(99), vec![]);
    let opaque = chain.item(0, DATA, b"anything".to_vec());
    let block = chain.block(vec![undecodable, empty_key, unknown_module, opaque]);
    let before = ledger.recent_roots(store.database(), 1).expect("roots");
    let outcomes = apply(&mut ledger, &store, &block);
    let reasons: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Rejected { reason } => Some(reason.as_str()),
            ItemOutcome::Applied { .. } => None,
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{outcomes:?}");
    assert!(reasons[0].contains("undecodable"));
    assert!(reasons[1].contains("key"));
    assert!(reasons[2].contains("module 99 is not enabled"));
    let after = ledger.recent_roots(store.database(), 1).expect("roots");
    assert_eq!(
        before[0].1, after[0].1,
        "rejected items and opaque data leave state as it was"
    );
}

#[test]
fn a_statement_is_final_at_the_threshold_once_and_attesting_twice_is_refused() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let items = vec![
        chain.attest(0, "artifact:abc", "built-from:c0ffee"),
        chain.attest(0, "artifact:abc", "built-from:c0ffee"),
        chain.attest(1, "artifact:abc", "built-from:c0ffee"),
        chain.attest(2, "artifact:abc", "built-from:other"),
        chain.attest(2, "artifact:abc", "built-from:c0ffee"),
        chain.attest(3, "artifact:abc", "built-from:c0ffee"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(
        matches!(&outcomes[1], ItemOutcome::Rejected { reason } if reason.contains("already attested"))
    );
    assert_eq!(effect_kinds(&outcomes[2]), Vec::<String>::new());
    assert_eq!(
        effect_kinds(&outcomes[4]),
        [STATEMENT_FINAL],
        "third of 4 is the quorum"
    );
    assert_eq!(
        effect_kinds(&outcomes[5]),
        Vec::<String>::new(),
        "final only once"
    );
    let ItemOutcome::Applied { effects } = &outcomes[4] else {
        unreachable!()
    };
    let body: StatementFinal = codec::decode(&effects[0].data, 1 << 16).expect("body");
    assert_eq!(
        (body.claim.as_str(), body.attesters),
        ("built-from:c0ffee", 3)
    );
}

#[test]
fn meta_sets_the_attest_threshold_through_an_effect_and_a_bad_value_is_refused_whole() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    // An unusable threshold: attest refuses the effect, so the item that reached quorum is
    // rejected and the proposals before it stay as they were.
    let items = vec![
        chain.meta(0, THRESHOLD_KEY, "9"),
        chain.meta(1, THRESHOLD_KEY, "9"),
        chain.meta(2, THRESHOLD_KEY, "9"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(
        matches!(&outcomes[2], ItemOutcome::Rejected { reason } if reason.contains("number of peers"))
    );
    // Threshold 1: one attestation makes a statement final.
    let items = vec![
        chain.meta(0, THRESHOLD_KEY, "1"),
        chain.meta(1, THRESHOLD_KEY, "1"),
        chain.meta(2, THRESHOLD_KEY, "1"),
        chain.attest(3, "change:42", "approved"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert_eq!(effect_kinds(&outcomes[2]), [VALUE_SET]);
    assert_eq!(effect_kinds(&outcomes[3]), [STATEMENT_FINAL]);
}

#[test]
fn roots_agree_across_ledgers_survive_a_restart_and_a_divergence_stops_the_ledger() {
    let mut chain = Chain::new(4);
    let blocks: Vec<Block> = (0..6)
        .map(|i| {
            let items = vec![
                chain.meta(i % 4, "k", &format!("v{}", i / 2)),
                chain.attest((i + 1) % 4, &format!("s{i}"), "ok"),
            ];
            chain.block(items)
        })
        .collect();
    let (dir_a, store_a) = new_store(&chain.fed);
    let (_dir_b, store_b) = new_store(&chain.fed);
    let mut ledger_a = new_ledger(&chain);
    for block in &blocks[..3] {
        apply(&mut ledger_a, &store_a, block);
    }
    // Restart peer A: a new ledger resumes where the old one stopped.
    let path = store_a.path().to_path_buf();
    drop(store_a);
    let store_a = Store::open(&path).expect("reopen");
    let mut ledger_a = new_ledger(&chain);
    for block in &blocks[3..] {
        apply(&mut ledger_a, &store_a, block);
    }
    // Peer B gets all six at once.
    let mut ledger_b = new_ledger(&chain);
    store_b.commit(&[], &[finalized(&blocks)]).expect("commit");
    let applied_b = ledger_b.catch_up(&store_b).expect("apply").applied;
    let roots_a = ledger_a
        .recent_roots(store_a.database(), 100)
        .expect("roots");
    let roots_b = ledger_b
        .recent_roots(store_b.database(), 100)
        .expect("roots");
    assert_eq!(roots_a.len(), 7, "height 0 and six blocks");
    assert_eq!(roots_a, roots_b);
    assert_eq!(&roots_b[1..], &applied_b[..]);
    let distinct: std::collections::BTreeSet<Hash> = roots_a.iter().map(|(_, r)| *r).collect();
    assert_eq!(distinct.len(), 7, "every block changed state");

    // A finalized block committing to another root than ours at height 3 stops the ledger.
    let mut wrong = chain.block(vec![]);
    wrong.header.state_height = Height(3);
    wrong.header.state_root = Hash::tagged(b"test", b"not our state");
    store_a
        .commit(&[], &[finalized(std::slice::from_ref(&wrong))])
        .expect("commit");
    match ledger_a.catch_up(&store_a) {
        Err(LedgerError::Divergence { block, height, .. }) => {
            assert_eq!((block, height), (Height(7), Height(3)));
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
    drop(dir_a);
}

#[test]
fn evidence_is_recorded_once_when_both_signatures_hold_and_the_messages_conflict() {
    use bfte_shared::modules::EVIDENCE;
    use bfte_shared::modules::evidence::{MISBEHAVIOUR, Proof};
    use bfte_shared::round::Round;
    use bfte_shared::vote::{Vote, VoteKind, proposal_signing_bytes};

    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let federation = chain.fed.genesis.federation_id();
    let (a, b) = (Hash::tagged(b"test", b"a"), Hash::tagged(b"test", b"b"));
    let vote = |peer: usize, kind| Vote::new(&federation, &chain.fed.secrets[peer], Round(7), kind);
    let double = Proof::Votes {
        first: vote(3, VoteKind::Notarize(a)),
        second: vote(3, VoteKind::Notarize(b)),
    };
    let allowed = Proof::Votes {
        first: vote(2, VoteKind::Notarize(a)),
        second: vote(2, VoteKind::Dummy),
    };
    let mut forged = vote(1, VoteKind::Finalize(b));
    forged.signature = vote(1, VoteKind::Finalize(a)).signature;
    let forgery = Proof::Votes {
        first: vote(1, VoteKind::Finalize(a)),
        second: forged,
    };
    let sign = |block: Hash| {
        let bytes = proposal_signing_bytes(&federation, Round(9), block);
        (block, chain.fed.secrets[0].sign(&bytes))
    };
    let equivocation = Proof::Proposals {
        proposer: chain.fed.secrets[0].peer_id(),
        round: Round(9),
        first: sign(a),
        second: sign(b),
    };
    let items: Vec<ConsensusItem> = [&double, &double, &allowed, &forgery, &equivocation]
        .into_iter()
        .enumerate()
        .map(|(i, proof)| chain.item(i % 4, EVIDENCE, codec::encode(proof)))
        .collect();
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert_eq!(effect_kinds(&outcomes[0]), [MISBEHAVIOUR]);
    assert!(
        matches!(&outcomes[1], ItemOutcome::Rejected { reason } if reason.contains("already proven"))
    );
    assert!(
        matches!(&outcomes[2], ItemOutcome::Rejected { .. }),
        "notarize then dummy is allowed"
    );
    assert!(
        matches!(&outcomes[3], ItemOutcome::Rejected { .. }),
        "a forged signature proves nothing"
    );
    assert_eq!(effect_kinds(&outcomes[4]), [MISBEHAVIOUR]);
    // Each proven offender gets one suggested removal, open with no votes, for admins to
    // decide; the second proof against peer 3 adds none.
    let suggested: Vec<(Change, usize, ProposalStatus)> = proposals(&ledger, &store)
        .into_iter()
        .map(|p| (p.change, p.votes.len(), p.status))
        .collect();
    let remove = |peer: usize| Change::RemovePeer {
        id: chain.fed.secrets[peer].peer_id(),
    };
    assert_eq!(
        suggested,
        [
            (remove(3), 0, ProposalStatus::Open),
            (remove(0), 0, ProposalStatus::Open)
        ]
    );
}

#[test]
fn catching_up_more_blocks_than_one_read_applies_them_all() {
    let mut chain = Chain::new(1);
    let blocks: Vec<Block> = (0..150)
        .map(|i| {
            let item = chain.item(0, DATA, vec![i as u8]);
            chain.block(vec![item])
        })
        .collect();
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    store.commit(&[], &[finalized(&blocks)]).expect("commit");
    let caught_up = ledger.catch_up(&store).expect("apply");
    assert_eq!(caught_up.applied.len(), 150);
    assert_eq!(
        ledger.applied_height(store.database()).expect("height"),
        Height(150)
    );
}

/// The proposals the ledger holds, oldest first.
fn proposals(ledger: &Ledger, store: &Store) -> Vec<Proposal> {
    let mut proposals = ledger.proposals(store.database(), 100).expect("proposals");
    proposals.reverse();
    proposals
}

fn rejection(outcome: &ItemOutcome) -> &str {
    match outcome {
        ItemOutcome::Rejected { reason } => reason,
        ItemOutcome::Applied { .. } => panic!("applied, expected a rejection"),
    }
}

#[test]
fn a_change_passes_exactly_at_quorum_and_takes_effect_after_its_block() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let genesis = ledger.epoch(store.database()).expect("epoch");
    assert_eq!((genesis.number, genesis.members.len()), (0, 4));
    assert!(genesis.members.iter().all(|m| m.name.is_empty()));
    let (newcomer, member) = chain.outsider(50);
    // q = 3 of 4: the proposer's and one more yes vote leave it open.
    let items = vec![
        chain.propose(0, Change::AddPeer(member.clone())),
        chain.vote(1, 1, true),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(outcomes.iter().all(|o| effect_kinds(o).is_empty()));
    let open = proposals(&ledger, &store);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].status, ProposalStatus::Open);
    assert_eq!(open[0].votes.len(), 2);
    assert_eq!(ledger.epoch(store.database()).expect("epoch"), genesis);

    // The third yes passes it; the newcomer's item later in the same block is still refused.
    let items = vec![
        chain.vote(2, 1, true),
        chain.meta(newcomer, "federation.name", "x"),
    ];
    let block = chain.block(items);
    store
        .commit(&[], &[finalized(std::slice::from_ref(&block))])
        .expect("commit");
    let caught_up = ledger.catch_up(&store).expect("apply");
    let outcome = ledger
        .outcome(store.database(), Height(2))
        .expect("outcome")
        .expect("recorded");
    let ItemOutcome::Applied { effects } = &outcome.entries[0] else {
        panic!("the deciding vote was refused: {:?}", outcome.entries[0]);
    };
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].kind, PASSED);
    let passed: Proposal = codec::decode(&effects[0].data, 1 << 16).expect("body");
    assert_eq!(passed.status, ProposalStatus::Passed { height: Height(2) });
    assert!(rejection(&outcome.entries[1]).contains("only peers in force"));
    // The catch-up reports the proposal as it stands after the block, as subscribers see it.
    assert_eq!(caught_up.proposals_changed, vec![passed.clone()]);
    assert_eq!(proposals(&ledger, &store), vec![passed]);

    let epoch = caught_up.epoch.expect("a new epoch");
    assert_eq!(
        (epoch.number, epoch.start_height, epoch.start_block),
        (1, Height(2), block.hash())
    );
    assert_eq!(epoch.members.len(), 5);
    assert_eq!(epoch.member(&member.id), Some(&member));
    assert!(epoch.members.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(ledger.epoch(store.database()).expect("epoch"), epoch);
    let epochs = ledger.epochs(store.database()).expect("epochs");
    assert_eq!(epochs, vec![genesis, epoch]);
}

#[test]
fn outsiders_and_repeated_votes_change_nothing_and_enough_noes_reject() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let (outsider, member) = chain.outsider(60);
    let items = vec![
        chain.propose(0, Change::AddPeer(member.clone())),
        chain.propose(outsider, Change::RemovePeer { id: chain.id(0) }),
        chain.vote(outsider, 1, true),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(rejection(&outcomes[1]).contains("only peers in force"));
    assert!(rejection(&outcomes[2]).contains("only peers in force"));
    let before = ledger.recent_roots(store.database(), 1).expect("roots");

    // The proposer votes yes again, and proposes the same change again: both refused.
    let items = vec![
        chain.vote(0, 1, true),
        chain.propose(0, Change::AddPeer(member.clone())),
        chain.vote(1, 7, true),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(rejection(&outcomes[0]).contains("already voted yes"));
    assert!(rejection(&outcomes[1]).contains("already voted yes"));
    assert!(rejection(&outcomes[2]).contains("no proposal 7"));
    let after = ledger.recent_roots(store.database(), 1).expect("roots");
    assert_eq!(before[0].1, after[0].1, "nothing changed");
    assert_eq!(
        proposals(&ledger, &store)[0].votes,
        vec![(chain.id(0), true)]
    );

    // n - q = 1: one no leaves a quorum possible, a second makes it impossible.
    let items = vec![chain.vote(1, 1, false)];
    apply(&mut ledger, &store, &chain.block(items));
    assert_eq!(proposals(&ledger, &store)[0].status, ProposalStatus::Open);
    let items = vec![
        chain.vote(2, 1, false),
        chain.vote(3, 1, true),
        chain.propose(3, Change::AddPeer(member)),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(rejection(&outcomes[1]).contains("no longer open"));
    let all = proposals(&ledger, &store);
    assert_eq!(
        all[0].status,
        ProposalStatus::Rejected {
            height: block.header.height
        }
    );
    assert_eq!(
        (all.len(), all[1].id, all[1].status.clone()),
        (2, ProposalId(2), ProposalStatus::Open),
        "the same change proposed after a rejection is a new proposal"
    );
    assert_eq!(ledger.epoch(store.database()).expect("epoch").number, 0);
}

#[test]
fn changes_that_cannot_apply_are_refused() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let (_, stranger) = chain.outsider(70);
    let member = Member {
        id: chain.id(1),
        name: "again".into(),
        addrs: vec![],
    };
    let not_a_key = (0..=255u8)
        .map(|b| PeerId([b; 32]))
        .find(|id| id.verifying_key().is_err())
        .expect("some byte pattern is not a curve point");
    let params = bfte_shared::federation::ConsensusParams {
        round_timeout_ms: 5,
        ..Default::default()
    };
    let items = vec![
        chain.propose(0, Change::AddPeer(member)),
        chain.propose(0, Change::RemovePeer { id: stranger.id }),
        chain.propose(
            0,
            Change::AddPeer(Member {
                id: not_a_key,
                ..stranger.clone()
            }),
        ),
        chain.propose(
            0,
            Change::AddPeer(Member {
                name: String::new(),
                ..stranger
            }),
        ),
        chain.propose(0, Change::SetParams(params)),
        chain.propose(
            0,
            Change::EnableModule(ModuleVersion {
                id: META,
                kind: "meta".into(),
                version: 2,
            }),
        ),
        chain.propose(
            0,
            Change::UpgradeModule {
                id: ModuleId(42),
                version: 2,
            },
        ),
        chain.propose(
            0,
            Change::UpgradeModule {
                id: META,
                version: 1,
            },
        ),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    let reasons: Vec<&str> = outcomes.iter().map(rejection).collect();
    for (reason, expected) in reasons.iter().zip([
        "already a member",
        "is not a member",
        "not a valid peer key",
        "peer name",
        "at least 10 ms",
        "already enabled",
        "module 42 is not enabled",
        "already runs version 1",
    ]) {
        assert!(
            reason.contains(expected),
            "{reason:?} should say {expected:?}"
        );
    }
    assert!(proposals(&ledger, &store).is_empty());
}

#[test]
fn catch_up_stops_at_an_epoch_boundary_and_the_next_block_applies_under_the_new_peers() {
    let mut chain = Chain::new(4);
    let (newcomer, member) = chain.outsider(80);
    let removed = chain.id(3);
    // Two admins approving the same joiner count on one proposal.
    let items = vec![
        chain.propose(0, Change::AddPeer(member.clone())),
        chain.propose(1, Change::AddPeer(member.clone())),
        chain.propose(1, Change::RemovePeer { id: removed }),
        chain.vote(0, 2, true),
    ];
    let first = chain.block(items);
    // Both pass in one block: one new epoch with both applied.
    let items = vec![chain.vote(2, 1, true), chain.vote(2, 2, true)];
    let second = chain.block(items);
    // Under 0, 1, 2 and the newcomer (q = 3): peer 3's proposal is refused, the newcomer's
    // makes the third and sets the value.
    let items = vec![
        chain.meta(3, "federation.name", "new"),
        chain.meta(0, "federation.name", "new"),
        chain.meta(1, "federation.name", "new"),
        chain.meta(newcomer, "federation.name", "new"),
    ];
    let third = chain.block(items);
    let blocks = [first, second.clone(), third];

    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    store.commit(&[], &[finalized(&blocks)]).expect("commit");
    let caught_up = ledger.catch_up(&store).expect("apply");
    assert_eq!(
        caught_up
            .applied
            .iter()
            .map(|(h, _)| *h)
            .collect::<Vec<_>>(),
        [Height(1), Height(2)],
        "the block above the boundary waits"
    );
    let epoch = caught_up.epoch.expect("a new epoch");
    assert_eq!(
        (epoch.number, epoch.start_height, epoch.start_block),
        (1, Height(2), second.hash())
    );
    let mut expected: Vec<PeerId> = vec![chain.id(0), chain.id(1), chain.id(2), member.id];
    expected.sort();
    assert_eq!(
        epoch.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(ledger.epochs(store.database()).expect("epochs").len(), 2);
    let all = proposals(&ledger, &store);
    assert_eq!(all.len(), 2, "the second AddPeer joined the first");
    assert!(
        all.iter()
            .all(|p| p.status == ProposalStatus::Passed { height: Height(2) })
    );
    assert_eq!(
        ledger.applied_height(store.database()).expect("height"),
        Height(2)
    );

    let caught_up = ledger.catch_up(&store).expect("apply");
    assert_eq!(caught_up.applied.len(), 1);
    assert_eq!(caught_up.epoch, None);
    let outcomes = ledger
        .outcome(store.database(), Height(3))
        .expect("outcome")
        .expect("recorded")
        .entries;
    assert!(rejection(&outcomes[0]).contains("only peers in force"));
    assert_eq!(effect_kinds(&outcomes[2]), Vec::<String>::new());
    assert_eq!(effect_kinds(&outcomes[3]), [VALUE_SET]);

    // Another peer applying the same blocks one by one reaches the same roots.
    let (_dir_b, store_b) = new_store(&chain.fed);
    let mut ledger_b = new_ledger(&chain);
    for block in &blocks {
        apply(&mut ledger_b, &store_b, block);
    }
    assert_eq!(
        ledger.recent_roots(store.database(), 10).expect("roots"),
        ledger_b
            .recent_roots(store_b.database(), 10)
            .expect("roots")
    );
}

#[test]
fn a_module_change_keeps_the_epoch_and_a_module_this_binary_lacks_stops_the_ledger() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let second_attest = Change::EnableModule(ModuleVersion {
        id: ModuleId(7),
        kind: "attest".into(),
        version: 1,
    });
    assert!(!ledger.runs(ModuleId(7)));
    let items = vec![
        chain.propose(0, second_attest.clone()),
        chain.propose(1, second_attest.clone()),
        chain.propose(2, second_attest),
    ];
    let block = chain.block(items);
    store
        .commit(&[], &[finalized(std::slice::from_ref(&block))])
        .expect("commit");
    let caught_up = ledger.catch_up(&store).expect("apply");
    assert_eq!(caught_up.epoch, None, "a module change ends no epoch");
    assert!(ledger.runs(ModuleId(7)));
    let epoch = ledger.epoch(store.database()).expect("epoch");
    assert_eq!(epoch.number, 0);
    assert!(epoch.modules.iter().any(|m| m.id == ModuleId(7)));
    let attest = AttestItem::Attest {
        subject: "s".into(),
        claim: "c".into(),
        detail: None,
    };
    let item = chain.item(3, ModuleId(7), codec::encode(&attest));
    let outcomes = apply(&mut ledger, &store, &chain.block(vec![item]));
    assert_eq!(effect_kinds(&outcomes[0]), Vec::<String>::new());

    let unknown = Change::EnableModule(ModuleVersion {
        id: ModuleId(9),
        kind: "payments".into(),
        version: 3,
    });
    let items = vec![
        chain.propose(0, unknown.clone()),
        chain.propose(1, unknown.clone()),
        chain.propose(2, unknown),
    ];
    let block = chain.block(items);
    store
        .commit(&[], &[finalized(std::slice::from_ref(&block))])
        .expect("commit");
    for _ in 0..2 {
        let error = ledger
            .catch_up(&store)
            .expect_err("a module this binary lacks");
        assert!(
            matches!(&error, LedgerError::UnknownModule { height: Height(3), kind, version: 3 } if kind == "payments"),
            "{error:?}"
        );
        assert!(error.to_string().contains("upgrade bfte"));
        assert_eq!(
            ledger.applied_height(store.database()).expect("height"),
            Height(2)
        );
    }
    assert_eq!(
        ledger.outcome(store.database(), Height(3)).expect("read"),
        None
    );
}

#[test]
fn a_change_that_no_longer_applies_when_it_reaches_quorum_is_rejected() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let (_, member) = chain.outsider(90);
    let renamed = Member {
        name: "other-name".into(),
        ..member.clone()
    };
    let items = vec![
        chain.propose(3, Change::AddPeer(renamed)),
        chain.propose(0, Change::AddPeer(member.clone())),
        chain.propose(1, Change::AddPeer(member.clone())),
        chain.propose(2, Change::AddPeer(member)),
    ];
    apply(&mut ledger, &store, &chain.block(items));
    // Epoch 1 has 5 peers (q = 4): three more yes votes reach the quorum on proposal 1, whose
    // peer is a member by now.
    let items = vec![
        chain.vote(0, 1, true),
        chain.vote(1, 1, true),
        chain.vote(2, 1, true),
    ];
    let block = chain.block(items);
    let outcomes = apply(&mut ledger, &store, &block);
    assert!(outcomes.iter().all(|o| effect_kinds(o).is_empty()));
    let first = &proposals(&ledger, &store)[0];
    assert_eq!(
        first.status,
        ProposalStatus::Rejected {
            height: block.header.height
        }
    );
    assert_eq!(ledger.epoch(store.database()).expect("epoch").number, 1);
}

/// A batch is applied entry by entry, in order, each with its own outcome: a refused entry
/// changes nothing and does not take the others of its item down with it, and entries count
/// as their author's, as single items do.
#[test]
fn a_batch_applies_each_entry_in_order_with_its_own_outcome() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let mut ledger = new_ledger(&chain);
    let entry = |module, data| Entry { module, data };
    let first = chain.batch(
        0,
        vec![
            entry(META, meta_data("federation.name", "alpha")),
            entry(META, vec![0xff, 0x00]),
            entry(DATA, b"opaque".to_vec()),
            entry(META, meta_data("federation.name", "alpha")),
        ],
    );
    let second = chain.batch(
        1,
        vec![
            entry(ModuleId(99), vec![]),
            entry(META, meta_data("federation.name", "alpha")),
        ],
    );
    let third = chain.meta(2, "federation.name", "alpha");
    let block = chain.block(vec![first, second, third]);
    let outcomes = apply(&mut ledger, &store, &block);
    assert_eq!(outcomes.len(), 7, "one outcome per entry: {outcomes:?}");
    assert_eq!(effect_kinds(&outcomes[0]), Vec::<String>::new());
    assert!(rejection(&outcomes[1]).contains("undecodable"));
    assert_eq!(effect_kinds(&outcomes[2]), Vec::<String>::new());
    assert!(
        matches!(&outcomes[3], ItemOutcome::Applied { .. }),
        "a second proposal of the same value by the same author counts once: {:?}",
        outcomes[3]
    );
    assert!(rejection(&outcomes[4]).contains("module 99 is not enabled"));
    assert_eq!(
        effect_kinds(&outcomes[5]),
        Vec::<String>::new(),
        "two authors are not a quorum of 3"
    );
    assert_eq!(
        effect_kinds(&outcomes[6]),
        [VALUE_SET],
        "the third author makes the quorum"
    );
}
