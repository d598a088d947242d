//! The end checks of a chaos run, on what each stopped node recorded in its database.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use bfte_shared::block::Block;
use bfte_shared::codec;
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::federation::FederationId;
use bfte_shared::hash::Hash;
use bfte_shared::modules::EVIDENCE;
use bfte_shared::modules::ctrl::Change;
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};

use crate::daemon::DataDir;
use crate::ledger::Ledger;
use crate::modules::evidence::PROOFS;
use crate::store::Store;

/// Finalized blocks read per transaction.
const PAGE: usize = 1_000;

/// What one node holds, read from its database after it stopped.
#[derive(Debug)]
pub struct NodeRecord {
    pub name: String,
    pub peer: PeerId,
    /// Finalized blocks from height 1 up, as stored.
    pub chain: Vec<Block>,
    /// The ledger's state root at every applied height.
    pub roots: BTreeMap<u64, Hash>,
    /// Conflicting pairs of validly signed votes in the received-votes audit trail: the signer
    /// and the round.
    pub conflicts: Vec<(PeerId, Round)>,
    /// Votes in the audit trail with a valid signature, all signers together.
    pub audited_votes: usize,
    /// Peers the ledger holds a proof of misbehaviour against.
    pub evidence: Vec<PeerId>,
    /// Peers a governance proposal (open or decided) would remove.
    pub removals: Vec<PeerId>,
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
        let ledger = Ledger::new(store.genesis());
        let roots = ledger
            .recent_roots(store.database(), u64::MAX)
            .with_context(|| format!("reading {name}'s state roots"))?
            .into_iter()
            .map(|(height, root)| (height.0, root))
            .collect();
        let mut evidence = Vec::new();
        for (key, _) in ledger
            .entries(store.database(), EVIDENCE, PROOFS, usize::MAX)
            .with_context(|| format!("reading {name}'s evidence"))?
        {
            let (offender, _): (PeerId, Round) = codec::decode(&key, key.len())
                .with_context(|| format!("{name}'s evidence table holds a bad key"))?;
            evidence.push(offender);
        }
        let removals = ledger
            .proposals(store.database(), usize::MAX)
            .with_context(|| format!("reading {name}'s proposals"))?
            .into_iter()
            .filter_map(|p| match p.change {
                Change::RemovePeer { id } => Some(id),
                _ => None,
            })
            .collect();
        let peer = dir
            .secret()
            .with_context(|| format!("reading {name}'s key"))?
            .peer_id();
        let federation = store.genesis().federation_id();
        let domains: Vec<_> = ledger
            .epochs(store.database())
            .with_context(|| format!("reading {name}'s epochs"))?
            .iter()
            .map(|epoch| epoch.signing_domain(&federation))
            .collect();
        let audit = store
            .audit_seen_votes(&Ed25519Verifier, &domains)
            .with_context(|| format!("auditing {name}'s received votes"))?;
        Ok(NodeRecord {
            name: name.to_string(),
            peer,
            chain,
            roots,
            conflicts: audit
                .conflicts
                .iter()
                .map(|(first, _)| (first.signer, first.round))
                .collect(),
            audited_votes: audit.valid_votes.values().sum(),
            evidence,
            removals,
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
    /// Honest nodes whose ledger holds evidence against the Byzantine node, and those that
    /// also have a proposal to remove it.
    pub evidence_at: usize,
    pub removal_at: usize,
    /// Votes audited over all nodes.
    pub audited_votes: usize,
    pub violations: Vec<String>,
}

/// The Byzantine node of a run, if it has one.
#[derive(Debug, Clone, Copy)]
pub struct Byzantine {
    pub peer: PeerId,
    /// Whether its behaviour signs conflicting messages, which honest nodes must prove.
    pub leaves_evidence: bool,
}

/// Checks the nodes' records against each other and against the accepted items. Conflicting
/// votes are violations unless the Byzantine node signed them; one that must leave evidence
/// must be proven, with its removal proposed, at every honest node.
pub fn check(
    records: &[NodeRecord],
    accepted: &[Accepted],
    federation: &FederationId,
    byzantine: Option<Byzantine>,
) -> Verdict {
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
        if byzantine.is_some_and(|b| b.peer == *signer) {
            continue;
        }
        verdict.violations.push(format!(
            "{signer} signed conflicting votes in round {round} (in a node's audit trail)"
        ));
    }
    if let Some(byzantine) = byzantine {
        check_evidence(records, byzantine, &mut verdict);
    }
    verdict.conflicts = conflicts;
    verdict.audited_votes = records.iter().map(|r| r.audited_votes).sum();
    if verdict.audited_votes == 0 {
        verdict.violations.push(
            "no node's audit trail held a vote that verifies: the conflicting-votes check \
             checked nothing"
                .into(),
        );
    }
    verdict
}

fn check_evidence(records: &[NodeRecord], byzantine: Byzantine, verdict: &mut Verdict) {
    for record in records.iter().filter(|r| r.peer != byzantine.peer) {
        let proven = record.evidence.contains(&byzantine.peer);
        let removal = record.removals.contains(&byzantine.peer);
        verdict.evidence_at += usize::from(proven);
        verdict.removal_at += usize::from(proven && removal);
        if byzantine.leaves_evidence && !(proven && removal) {
            verdict.violations.push(format!(
                "{} holds {} against the Byzantine {}",
                record.name,
                if proven {
                    "no removal proposal"
                } else {
                    "no evidence"
                },
                byzantine.peer
            ));
        }
    }
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
            peer: PeerId([name.len() as u8; 32]),
            chain,
            roots: roots.iter().map(|(h, r)| (*h, Hash([*r; 32]))).collect(),
            conflicts: Vec::new(),
            audited_votes: 6,
            evidence: Vec::new(),
            removals: Vec::new(),
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
    fn an_audit_trail_without_one_verified_vote_fails_the_run() {
        let (genesis, one, _, _) = setup();
        let mut silent = record("peer0", vec![one], &[(1, 1)]);
        silent.audited_votes = 0;
        let verdict = check(&[silent], &[], &genesis.federation_id(), None);
        assert_eq!(verdict.violations.len(), 1, "{:?}", verdict.violations);
        assert!(verdict.violations[0].contains("checked nothing"));
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
        let verdict = check(&records, &[Accepted { node: 0, item }], &id, None);
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
        let verdict = check(&records, &[lost], &id, None);
        let text = verdict.violations.join("\n");
        assert_eq!(verdict.violations.len(), 4, "{text}");
        assert!(text.contains("different blocks at height 2"), "{text}");
        assert!(text.contains("different state roots at height 1"), "{text}");
        assert!(text.contains("accepted by peer3 is not final"), "{text}");
        assert!(text.contains("conflicting votes in round 5"), "{text}");
    }

    #[test]
    fn the_byzantine_signer_may_conflict_but_must_be_proven_and_its_removal_proposed() {
        let (genesis, one, _, _) = setup();
        let id = genesis.federation_id();
        let liar = fixtures::federation(4).secrets[3].peer_id();
        let mut proven = record("peer0", vec![one.clone()], &[]);
        proven.conflicts.push((liar, Round(4)));
        proven.evidence.push(liar);
        proven.removals.push(liar);
        let unaware = record("peer11", vec![one], &[]);
        let byzantine = Byzantine {
            peer: liar,
            leaves_evidence: true,
        };
        let verdict = check(&[proven, unaware], &[], &id, Some(byzantine));
        assert_eq!((verdict.evidence_at, verdict.removal_at), (1, 1));
        assert_eq!(verdict.violations.len(), 1, "{:?}", verdict.violations);
        assert!(verdict.violations[0].contains("peer11 holds no evidence"));
    }
}
