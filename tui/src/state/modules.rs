//! Module state as the Modules screen shows it: the ledger's tables, fetched whole through the
//! admin `ModuleEntries` call and decoded here into rows. The node stores CBOR; the types are
//! the ones in `bfte_shared::modules`, so the console reads what the ledger wrote.

use std::collections::BTreeMap;

use bfte_shared::admin::ModuleEntry;
use bfte_shared::codec;
use bfte_shared::item::ModuleId;
use bfte_shared::modules::attest::Statement;
use bfte_shared::modules::ctrl::{EpochConfig, Proposal};
use bfte_shared::modules::evidence::Proof;
use bfte_shared::modules::{
    ATTEST, CONSENSUS_CTRL, DATA, EVIDENCE, META, attest, ctrl, evidence, meta,
};
use bfte_shared::peer::PeerId;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::VoteKind;
use serde::de::DeserializeOwned;

/// A statement lists at most every peer's detail; this bounds a malformed one.
const LIMIT: usize = 1 << 20;

/// The modules the screen lists: in module id order, except consensus_ctrl, which came later
/// and goes last so the rows above keep their places (the end-to-end console test walks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleTab {
    Data,
    Meta,
    Attest,
    Evidence,
    Ctrl,
}

impl ModuleTab {
    pub const ALL: [ModuleTab; 5] = [
        ModuleTab::Data,
        ModuleTab::Meta,
        ModuleTab::Attest,
        ModuleTab::Evidence,
        ModuleTab::Ctrl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModuleTab::Data => "data",
            ModuleTab::Meta => "meta",
            ModuleTab::Attest => "attest",
            ModuleTab::Evidence => "evidence",
            ModuleTab::Ctrl => "ctrl",
        }
    }

    pub fn id(self) -> ModuleId {
        match self {
            ModuleTab::Data => DATA,
            ModuleTab::Meta => META,
            ModuleTab::Attest => ATTEST,
            ModuleTab::Evidence => EVIDENCE,
            ModuleTab::Ctrl => CONSENSUS_CTRL,
        }
    }
}

/// The tables the console fetches, as `(module, table)`, named by the definitions in
/// `bfte_shared::modules` that the node's modules use too.
pub const META_VALUES: (ModuleId, &str) = (META, meta::VALUES);
pub const META_PROPOSALS: (ModuleId, &str) = (META, meta::PROPOSALS);
pub const ATTEST_STATEMENTS: (ModuleId, &str) = (ATTEST, attest::STATEMENTS);
pub const EVIDENCE_PROOFS: (ModuleId, &str) = (EVIDENCE, evidence::PROOFS);
pub const CTRL_EPOCHS: (ModuleId, &str) = (CONSENSUS_CTRL, ctrl::EPOCHS);
pub const CTRL_PROPOSALS: (ModuleId, &str) = (CONSENSUS_CTRL, ctrl::PROPOSALS);
pub const TABLES: [(ModuleId, &str); 6] = [
    META_VALUES,
    META_PROPOSALS,
    ATTEST_STATEMENTS,
    EVIDENCE_PROOFS,
    CTRL_EPOCHS,
    CTRL_PROPOSALS,
];

/// The entries of every table in [`TABLES`], as the node sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTables {
    pub meta_values: Vec<ModuleEntry>,
    pub meta_proposals: Vec<ModuleEntry>,
    pub statements: Vec<ModuleEntry>,
    pub proofs: Vec<ModuleEntry>,
    pub epochs: Vec<ModuleEntry>,
    pub ctrl_proposals: Vec<ModuleEntry>,
}

/// One metadata key: its agreed value, if any, and the proposals still pending for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRow {
    pub key: String,
    pub value: Option<String>,
    pub proposals: BTreeMap<PeerId, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub subject: String,
    pub claim: String,
    pub attesters: usize,
    pub final_at: Option<Height>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRow {
    pub offender: PeerId,
    pub round: Round,
    /// What the two conflicting messages were.
    pub kind: String,
}

/// Decoded module state, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleTables {
    pub meta: Vec<MetaRow>,
    pub statements: Vec<StatementRow>,
    pub proofs: Vec<ProofRow>,
    /// The peer set history: every epoch's configuration, oldest first.
    pub epochs: Vec<EpochConfig>,
    /// consensus_ctrl proposals, oldest first.
    pub ctrl_proposals: Vec<Proposal>,
    /// Entries that did not decode (a node of another version); counted, not hidden.
    pub undecoded: usize,
}

impl ModuleTables {
    pub fn decode(raw: &RawTables) -> ModuleTables {
        let mut tables = ModuleTables::default();
        let mut meta: BTreeMap<String, MetaRow> = BTreeMap::new();
        let mut undecoded = 0;
        for entry in &raw.meta_values {
            match value::<String>(&entry.value) {
                Some(value) => meta_row(&mut meta, &entry.key).value = Some(value),
                None => undecoded += 1,
            }
        }
        for entry in &raw.meta_proposals {
            match value::<BTreeMap<PeerId, String>>(&entry.value) {
                Some(proposals) => meta_row(&mut meta, &entry.key).proposals = proposals,
                None => undecoded += 1,
            }
        }
        tables.meta = meta.into_values().collect();
        for entry in &raw.statements {
            let key = value::<(String, String)>(&entry.key);
            match (key, value::<Statement>(&entry.value)) {
                (Some((subject, claim)), Some(statement)) => {
                    tables.statements.push(StatementRow {
                        subject,
                        claim,
                        attesters: statement.attesters.len(),
                        final_at: statement.final_at,
                    });
                }
                _ => undecoded += 1,
            }
        }
        for entry in &raw.proofs {
            match value::<Proof>(&entry.value) {
                Some(proof) => {
                    let (offender, round) = proof.offence();
                    tables.proofs.push(ProofRow {
                        offender,
                        round,
                        kind: describe(&proof),
                    });
                }
                None => undecoded += 1,
            }
        }
        for entry in &raw.epochs {
            match value::<EpochConfig>(&entry.value) {
                Some(epoch) => tables.epochs.push(epoch),
                None => undecoded += 1,
            }
        }
        for entry in &raw.ctrl_proposals {
            match value::<Proposal>(&entry.value) {
                Some(proposal) => tables.ctrl_proposals.push(proposal),
                None => undecoded += 1,
            }
        }
        tables.undecoded = undecoded;
        tables
    }

    /// Rows the screen lists for a module (data keeps no state).
    pub fn count(&self, module: ModuleTab) -> usize {
        match module {
            ModuleTab::Data => 0,
            ModuleTab::Meta => self.meta.len(),
            ModuleTab::Attest => self.statements.len(),
            ModuleTab::Evidence => self.proofs.len(),
            ModuleTab::Ctrl => self.epochs.len() + self.ctrl_proposals.len(),
        }
    }
}

/// Meta keys are stored as their UTF-8 bytes; a key has a value, proposals, or both.
fn meta_row<'a>(meta: &'a mut BTreeMap<String, MetaRow>, key: &[u8]) -> &'a mut MetaRow {
    let key = String::from_utf8_lossy(key).into_owned();
    meta.entry(key.clone()).or_insert_with(|| MetaRow {
        key,
        value: None,
        proposals: BTreeMap::new(),
    })
}

fn value<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    codec::decode(bytes, LIMIT).ok()
}

fn describe(proof: &Proof) -> String {
    let vote = |kind: &VoteKind| match kind {
        VoteKind::Notarize(_) => "notarize",
        VoteKind::Dummy => "dummy",
        VoteKind::Finalize(_) => "finalize",
    };
    match proof {
        Proof::Votes { first, second } => format!(
            "two votes: {} and {}",
            vote(&first.kind),
            vote(&second.kind)
        ),
        Proof::Proposals { .. } => "two proposals for different blocks".into(),
    }
}

/// The Modules screen's data and whether a refresh is under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modules {
    /// `None` until the first answer.
    pub tables: Option<ModuleTables>,
    /// Why the last refresh failed, until one succeeds.
    pub error: Option<String>,
    /// A request is with the connection task.
    pub pending: bool,
    /// Something finalized while a request was pending: ask again when it answers.
    pub stale: bool,
}
