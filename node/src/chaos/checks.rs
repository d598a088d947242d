//! The end checks of a chaos run, on what each stopped node recorded in its database.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use bfte_shared::block::Block;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};

use crate::daemon::DataDir;
use crate::ledger::Ledger;
use crate::store::Store;

/// Finalized blocks read per transaction.
const PAGE: usize = 1_000;

/// What one node holds, read from its database after it stopped.
#[derive(Debug)]
pub struct NodeRecord {
    pub name: String,
    /// Finalized blocks from height 1 up, as stored.
    pub chain: Vec<Block>,
    /// The ledger's state root at every applied height.
    pub roots: BTreeMap<u64, Hash>,
    /// Conflicting pairs of validly signed votes in the received-votes audit trail: the signer
    /// and the round.
    pub conflicts: Vec<(PeerId, Round)>,
    /// Votes in the audit trail with a valid signature, all signers together.
    pub audited_votes: usize,
}

impl NodeRecord {
    /// Reads the node in `dir`, which must not be running (redb takes a lock).
    pub fn read(name: &str, dir: &DataDir) -> anyhow::Result<NodeRecord> {
        let path = dir.database_path();
        let store = Store::open(&path)
            .with_context(|| format!("cannot open {name}'s database {}", path.display()))?;
        let mut chain = Vec::new();
        loop {
            let from = Height(chain.len() as u64 + 1);
            let page = store
                .finalized_blocks(from, PAGE)
                .with_context(|| format!("reading {name}'s finalized blocks from {from}"))?;
            let done = page.len() < PAGE;
            chain.extend(page.into_iter().map(|(block, _)| block));
            if done {
                break;
            }
        }
        let roots = Ledger::new(store.genesis())
            .recent_roots(store.database(), u64::MAX)
            .with_context(|| format!("reading {name}'s state roots"))?
            .into_iter()
            .map(|(height, root)| (height.0, root))
            .collect();
        let audit = store
            .audit_seen_votes(&Ed25519Verifier)
            .with_context(|| format!("auditing {name}'s received votes"))?;
        Ok(NodeRecord {
            name: name.to_string(),
            chain,
            roots,
            conflicts: audit
                .conflicts
                .iter()
                .map(|(first, _)| (first.signer, first.round))
                .collect(),
            audited_votes: audit.valid_votes.values().sum(),
        })
    }
}

/// An item a node accepted during the run: the id its receipt named.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    pub node: usize,
    pub item: Hash,
}

/// What the checks found. The run passed if `violations` is empty.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Height of the longest finalized chain.
    pub longest: u64,
    /// Items in the longest chain.
    pub items_final: usize,
    /// Accepted items found final (exactly once) in the longest chain.
    pub accepted_final: usize,
    /// Every (signer, round) with conflicting votes in some node's audit trail, once.
    pub conflicts: Vec<(PeerId, Round)>,
    /// Votes audited over all nodes.
    pub audited_votes: usize,
    pub violations: Vec<String>,
}

/// Checks the nodes' records against each other and against the accepted items.
pub fn check(records: &[NodeRecord], accepted: &[Accepted], federation: &FederationId) -> Verdict {
    let mut verdict = Verdict::default();
    let Some(longest) = records.iter().max_by_key(|r| r.chain.len()) else {
        verdict.violations.push("no node was read".into());
        return verdict;
    };
    verdict.longest = longest.chain.len() as u64;
    for record in records {
        check_chain(record, longest, &mut verdict.violations);
    }
    check_roots(records, &mut verdict.violations);

    let mut final_count: HashMap<Hash, usize> = HashMap::new();
    for item in longest.chain.iter().flat_map(|b| &b.payload.items) {
        *final_count.entry(item.id(federation)).or_default() += 1;
        verdict.items_final += 1;
    }
    for (item, count) in &final_count {
        if *count > 1 {
            verdict.violations.push(format!(
                "item {item} is final {count} times in {}'s chain",
                longest.name
            ));
        }
    }
    for accepted in accepted {
        match final_count.get(&accepted.item) {
            Some(1) => verdict.accepted_final += 1,
            Some(_) => {}
            None => verdict.violations.push(format!(
                "item {} accepted by peer{} is not final",
                accepted.item, accepted.node
            )),
        }
    }

    let mut conflicts: Vec<(PeerId, Round)> =
        records.iter().flat_map(|r| r.conflicts.clone()).collect();
    conflicts.sort_unstable();
    conflicts.dedup();
    for (signer, round) in &conflicts {
        verdict.violations.push(format!(
            "{signer} signed conflicting votes in round {round} (in a node's audit trail)"
        ));
    }
    verdict.conflicts = conflicts;
    verdict.audited_votes = records.iter().map(|r| r.audited_votes).sum();
    verdict
}

/// `record`'s chain runs 1, 2, .. without a gap and is a prefix of `longest`.
fn check_chain(record: &NodeRecord, longest: &NodeRecord, violations: &mut Vec<String>) {
    for (i, block) in record.chain.iter().enumerate() {
        let height = i as u64 + 1;
        if block.header.height.0 != height {
            violations.push(format!(
                "{} stores the block of height {} at height {height}",
                record.name, block.header.height
            ));
            return;
        }
        if block.hash() != longest.chain[i].hash() {
            violations.push(format!(
                "{} and {} finalized different blocks at height {height}",
                record.name, longest.name
            ));
            return;
        }
    }
}

/// Every node that applied a height has the same state root there.
fn check_roots(records: &[NodeRecord], violations: &mut Vec<String>) {
    let mut first: BTreeMap<u64, (&str, Hash)> = BTreeMap::new();
    for record in records {
        for (height, root) in &record.roots {
            let (name, agreed) = *first.entry(*height).or_insert((&record.name, *root));
            if agreed != *root {
                violations.push(format!(
                    "{} and {name} have different state roots at height {height}",
                    record.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::federation::Genesis;

    use super::*;
    use crate::store::fixtures::{self, child};

    fn record(name: &str, chain: Vec<Block>, roots: &[(u64, u8)]) -> NodeRecord {
        NodeRecord {
            name: name.into(),
            chain,
            roots: roots.iter().map(|(h, r)| (*h, Hash([*r; 32]))).collect(),
            conflicts: Vec::new(),
            audited_votes: 0,
        }
    }

    fn setup() -> (Genesis, Block, Block, Block) {
        let fed = fixtures::federation(4);
        let genesis = Block::genesis(&fed.genesis);
        let one = child(&genesis, 1, vec![fed.item(0, 1)]);
        let two = child(&one, 2, vec![fed.item(1, 1)]);
        let fork = child(&one, 3, vec![]);
        (fed.genesis, one, two, fork)
    }

    #[test]
    fn prefixes_with_agreeing_roots_and_final_items_pass() {
        let (genesis, one, two, _) = setup();
        let id = genesis.federation_id();
        let item = one.payload.items[0].id(&id);
        let records = [
            record("peer0", vec![one.clone(), two.clone()], &[(1, 1), (2, 2)]),
            record("peer1", vec![one.clone()], &[(1, 1)]),
        ];
        let verdict = check(&records, &[Accepted { node: 0, item }], &id);
        assert!(verdict.violations.is_empty(), "{:?}", verdict.violations);
        assert_eq!(
            (verdict.longest, verdict.items_final, verdict.accepted_final),
            (2, 2, 1)
        );
    }

    #[test]
    fn a_fork_a_root_mismatch_a_lost_item_and_a_double_vote_are_each_reported() {
        let (genesis, one, two, fork) = setup();
        let id = genesis.federation_id();
        let mut forked = record("peer1", vec![one.clone(), fork], &[(1, 9)]);
        forked
            .conflicts
            .push((fixtures::federation(4).secrets[2].peer_id(), Round(5)));
        let records = [record("peer0", vec![one, two], &[(1, 1)]), forked];
        let lost = Accepted {
            node: 3,
            item: Hash([7; 32]),
        };
        let verdict = check(&records, &[lost], &id);
        let text = verdict.violations.join("\n");
        assert_eq!(verdict.violations.len(), 4, "{text}");
        assert!(text.contains("different blocks at height 2"), "{text}");
        assert!(text.contains("different state roots at height 1"), "{text}");
        assert!(text.contains("accepted by peer3 is not final"), "{text}");
        assert!(text.contains("conflicting votes in round 5"), "{text}");
    }
}
