//! The ledger over a real store: module rules, effects between modules, state roots, and
//! resuming after a restart.

use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::ledger::ItemOutcome;
use bfte_shared::modules::attest::{AttestItem, STATEMENT_FINAL, StatementFinal};
use bfte_shared::modules::meta::{MetaItem, VALUE_SET};
use bfte_shared::modules::{ATTEST, DATA, META};
use bfte_shared::round::Height;

use super::{Ledger, LedgerError};
use crate::modules::attest::THRESHOLD_KEY;
use crate::store::Store;
use crate::store::fixtures::{Federation, child, federation, finalized, new_store};

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

    fn meta(&mut self, peer: usize, key: &str, value: &str) -> ConsensusItem {
        let item = MetaItem::Propose {
            key: key.into(),
            value: value.into(),
        };
        self.item(peer, META, codec::encode(&item))
    }

    fn attest(&mut self, peer: usize, subject: &str, claim: &str) -> ConsensusItem {
        let item = AttestItem::Attest {
            subject: subject.into(),
            claim: claim.into(),
            detail: Some(format!("by peer {peer}")),
        };
        self.item(peer, ATTEST, codec::encode(&item))
    }

    /// Appends a block of `items` and returns it.
    fn block(&mut self, items: Vec<ConsensusItem>) -> Block {
        let parent = self.blocks.last().expect("genesis");
        let block = child(parent, parent.header.round.0 + 1, items);
        self.blocks.push(block.clone());
        block
    }
}

fn ledger(chain: &Chain) -> Ledger {
    Ledger::new(&chain.fed.genesis)
}

/// Finalizes `block` in `store` and applies it; returns the block's item outcomes.
fn apply(ledger: &Ledger, store: &Store, block: &Block) -> Vec<ItemOutcome> {
    store
        .commit(&[], &[finalized(std::slice::from_ref(block))])
        .expect("commit");
    let applied = ledger.catch_up(store).expect("apply");
    assert_eq!(applied.last().map(|(h, _)| *h), Some(block.header.height));
    ledger
        .outcome(store.database(), block.header.height)
        .expect("outcome")
        .expect("recorded")
        .items
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
    let ledger = ledger(&chain);
    // q = 3 of 4. Two agree, one proposes something else: nothing is set.
    let items = vec![
        chain.meta(0, "federation.name", "alpha"),
        chain.meta(1, "federation.name", "alpha"),
        chain.meta(2, "federation.name", "beta"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&ledger, &store, &block);
    assert!(outcomes.iter().all(|o| effect_kinds(o).is_empty()));
    // Peer 2 changes its mind: the third matching proposal sets the value, once.
    let items = vec![
        chain.meta(2, "federation.name", "alpha"),
        chain.meta(3, "federation.name", "alpha"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&ledger, &store, &block);
    assert_eq!(effect_kinds(&outcomes[0]), [VALUE_SET]);
    assert_eq!(effect_kinds(&outcomes[1]), Vec::<String>::new());
}

#[test]
fn items_that_break_a_rule_are_rejected_and_change_nothing() {
    let mut chain = Chain::new(4);
    let (_dir, store) = new_store(&chain.fed);
    let ledger = ledger(&chain);
    let undecodable = chain.item(0, META, vec![0xff, 0x00]);
    let empty_key = chain.meta(0, "", "x");
    let unknown_module = chain.item(0, ModuleId(99), vec![]);
    let opaque = chain.item(0, DATA, b"anything".to_vec());
    let block = chain.block(vec![undecodable, empty_key, unknown_module, opaque]);
    let before = ledger.recent_roots(store.database(), 1).expect("roots");
    let outcomes = apply(&ledger, &store, &block);
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
    assert!(reasons[2].contains("no module with id 99"));
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
    let ledger = ledger(&chain);
    let items = vec![
        chain.attest(0, "artifact:abc", "built-from:c0ffee"),
        chain.attest(0, "artifact:abc", "built-from:c0ffee"),
        chain.attest(1, "artifact:abc", "built-from:c0ffee"),
        chain.attest(2, "artifact:abc", "built-from:other"),
        chain.attest(2, "artifact:abc", "built-from:c0ffee"),
        chain.attest(3, "artifact:abc", "built-from:c0ffee"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&ledger, &store, &block);
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
    let ledger = ledger(&chain);
    // An unusable threshold: attest refuses the effect, so the item that reached quorum is
    // rejected and the proposals before it stay as they were.
    let items = vec![
        chain.meta(0, THRESHOLD_KEY, "9"),
        chain.meta(1, THRESHOLD_KEY, "9"),
        chain.meta(2, THRESHOLD_KEY, "9"),
    ];
    let block = chain.block(items);
    let outcomes = apply(&ledger, &store, &block);
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
    let outcomes = apply(&ledger, &store, &block);
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
    let ledger = ledger(&chain);
    for block in &blocks[..3] {
        apply(&ledger, &store_a, block);
    }
    // Restart peer A: the ledger resumes where it stopped.
    let path = store_a.path().to_path_buf();
    drop(store_a);
    let store_a = Store::open(&path).expect("reopen");
    for block in &blocks[3..] {
        apply(&ledger, &store_a, block);
    }
    // Peer B gets all six at once.
    store_b.commit(&[], &[finalized(&blocks)]).expect("commit");
    let applied_b = ledger.catch_up(&store_b).expect("apply");
    let roots_a = ledger.recent_roots(store_a.database(), 100).expect("roots");
    let roots_b = ledger.recent_roots(store_b.database(), 100).expect("roots");
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
    match ledger.catch_up(&store_a) {
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
    let ledger = ledger(&chain);
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
    let outcomes = apply(&ledger, &store, &block);
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
}
