//! Writes the committed seed corpus of the decoder targets: real encoded values of every type
//! they decode, each behind the selector byte of its decoder. Run from `fuzz/` after changing
//! a wire or file format: `cargo run --example write_seeds` (it replaces `corpus/seed-*`
//! files only; what fuzzing added stays).

use std::fs;
use std::path::Path;

use bfte_fuzz::node_types::finalized_row::FinalizedEntry;
use bfte_fuzz::node_types::journal_frame::frame;
use bfte_fuzz::node_types::journal_record::{EntryRef, RecordRef};
use bfte_fuzz::node_types::protocol::{ChainPart, EpochSegments, Index, Request};
use bfte_fuzz::node_types::segment::{Segment, SegmentEntry};
use bfte_fuzz::pick::{admin, files, wire};
use bfte_shared::admin::{AdminRequest, AdminResponse};
use bfte_shared::block::{Block, BlockHeader, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, Entry, ModuleId};
use bfte_shared::join::{Invite, JoinReply, JoinRequest, PendingJoin};
use bfte_shared::ledger::{BlockOutcome, ItemOutcome};
use bfte_shared::message::{Catchup, FinalizedChain, Message, Pull};
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::ctrl::{Change, CtrlItem, EpochConfig, Member, ProposalId};
use bfte_shared::modules::evidence::Proof;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::peer::PeerSecret;
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::{Proposal, Vote, VoteKind, vote_signing_bytes};

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let v = Values::new();
    let mut seeds: Vec<(&str, u8, Vec<u8>)> = Vec::new();
    let mut wire = |choice, bytes| seeds.push(("wire", choice, bytes));
    for message in v.messages() {
        wire(wire::MESSAGE, message.encode());
    }
    wire(wire::JOIN_REQUEST, codec::encode(&v.join_request()));
    wire(wire::JOIN_REPLY, codec::encode(&v.join_reply()));
    wire(
        wire::JOIN_REPLY,
        codec::encode(&JoinReply::Refused("full".into())),
    );
    for request in [
        Request::Index,
        Request::Chain { from: Height(1) },
        Request::Follow { from: Height(2) },
    ] {
        wire(wire::HISTORY_REQUEST, codec::encode(&request));
    }
    wire(wire::HISTORY_INDEX, codec::encode(&v.index()));
    wire(
        wire::CHAIN_PART,
        codec::encode(&ChainPart::Blocks(vec![v.block.clone()])),
    );
    wire(
        wire::CHAIN_PART,
        codec::encode(&ChainPart::Finalized(v.chain())),
    );
    wire(
        wire::CTRL_ITEM,
        codec::encode(&CtrlItem::Propose(Change::AddPeer(v.member(3)))),
    );
    wire(
        wire::CTRL_ITEM,
        codec::encode(&CtrlItem::Vote {
            proposal: ProposalId(1),
            yes: true,
        }),
    );
    let attest = AttestItem::Attest {
        subject: "alice".into(),
        claim: "kyc".into(),
        detail: Some("passport".into()),
    };
    wire(wire::ATTEST_ITEM, codec::encode(&attest));
    let meta = MetaItem::Propose {
        key: "name".into(),
        value: "bfte".into(),
    };
    wire(wire::META_ITEM, codec::encode(&meta));
    let proof = Proof::Votes {
        first: v.vote(1, VoteKind::Dummy),
        second: v.vote(1, VoteKind::Finalize(v.block.hash())),
    };
    wire(wire::EVIDENCE_PROOF, codec::encode(&proof));

    let mut admin = |choice, bytes| seeds.push(("admin", choice, bytes));
    let requests = [
        AdminRequest::Hello { version: 1 },
        AdminRequest::Status,
        AdminRequest::Submit {
            data: b"hello".to_vec(),
        },
        AdminRequest::Blocks {
            from: Height(1),
            limit: 10,
        },
        AdminRequest::SubmitMany {
            entries: v.entries(),
        },
    ];
    for request in requests {
        admin(admin::REQUEST, codec::encode(&request));
        admin(admin::FRAMED_REQUEST, framed(&request));
    }
    let responses = [
        AdminResponse::Hello { version: 1 },
        AdminResponse::Done,
        AdminResponse::Error("no such block".into()),
        AdminResponse::Invite(v.invite().encode()),
        AdminResponse::Joins(vec![v.pending_join()]),
        AdminResponse::Epoch(v.epoch()),
        AdminResponse::Outcome(Some(v.outcome())),
    ];
    for response in responses {
        admin(admin::RESPONSE, codec::encode(&response));
        admin(admin::FRAMED_RESPONSE, framed(&response));
    }

    let mut file = |choice, bytes| seeds.push(("files", choice, bytes));
    file(files::INVITE, v.invite().encode().into_bytes());
    file(files::GENESIS, codec::encode(&v.genesis));
    let json = serde_json::to_vec(&(ConsensusParams::default(), v.ids()))
        .map_err(std::io::Error::other)?;
    file(files::GENESIS_JSON, json);
    file(files::TEXT, v.ids()[0].to_string().into_bytes());
    file(files::TEXT, v.block.hash().to_string().into_bytes());
    file(
        files::TEXT,
        v.vote(1, VoteKind::Dummy)
            .signature
            .to_string()
            .into_bytes(),
    );
    let segment = Segment {
        entries: vec![SegmentEntry {
            block: v.block.clone(),
            finalization: Some(v.certificate(1, VoteKind::Finalize(v.block.hash()))),
        }],
    };
    file(files::SEGMENT, [&[4u8][..], &segment.encode()].concat());
    file(
        files::VOTE,
        codec::encode(&v.vote(1, VoteKind::Notarize(v.block.hash()))),
    );
    file(files::ITEM, codec::encode(&v.item()));
    file(
        files::CERTIFICATE,
        codec::encode(&v.certificate(1, VoteKind::Dummy)),
    );
    file(files::BLOCK, codec::encode(&v.block));
    let entry = FinalizedEntry {
        block: v.block.clone(),
        certificate: Some(v.certificate(1, VoteKind::Finalize(v.block.hash()))),
    };
    file(files::FINALIZED_ENTRY, codec::encode(&entry));
    file(files::PENDING_JOIN, codec::encode(&v.pending_join()));
    file(files::EPOCH_CONFIG, codec::encode(&v.epoch()));
    file(files::BLOCK_OUTCOME, codec::encode(&v.outcome()));
    file(files::COUNTER, codec::encode(&1_000_000u64));
    let record = v.journal_record();
    file(files::JOURNAL_RECORD, record.clone());
    let framed = [frame(7, &record), frame(7, b"torn")]
        .into_iter()
        .flatten()
        .flatten();
    file(files::JOURNAL, [7u8].into_iter().chain(framed).collect());

    for (target, _, _) in &seeds {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        for old in fs::read_dir(&dir)? {
            let old = old?.path();
            if old
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            {
                fs::remove_file(old)?;
            }
        }
    }
    for (n, (target, choice, bytes)) in seeds.iter().enumerate() {
        let input = [&[*choice][..], bytes].concat();
        fs::write(corpus.join(target).join(format!("seed-{n:03}")), input)?;
    }
    println!("wrote {} seeds under {}", seeds.len(), corpus.display());
    Ok(())
}

fn framed<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let bytes = codec::encode(value);
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    [&len.to_be_bytes()[..], &bytes].concat()
}

/// A small federation and a block with an item in it, as a node would encode them.
struct Values {
    secrets: Vec<PeerSecret>,
    genesis: Genesis,
    block: Block,
}

impl Values {
    fn new() -> Values {
        let mut secrets: Vec<PeerSecret> =
            (1..=4).map(|i| PeerSecret::from_seed([i; 32])).collect();
        secrets.sort_by_key(PeerSecret::peer_id);
        let peers = PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect())
            .unwrap_or_else(|e| panic!("four fixed keys make a peer set: {e}"));
        let genesis = Genesis {
            name: "seeds".into(),
            peers,
            params: ConsensusParams::default(),
            timestamp_ms: 1_700_000_000_000,
        };
        let first = Block::genesis(&genesis);
        let mut values = Values {
            secrets,
            genesis,
            block: first.clone(),
        };
        let payload = Payload {
            items: vec![values.item()],
        };
        values.block = Block {
            header: BlockHeader {
                round: Round(1),
                height: Height(1),
                parent: first.hash(),
                payload_hash: payload.hash(),
                timestamp_ms: first.header.timestamp_ms + 500,
                config_hash: first.header.config_hash,
                state_root: Hash::ZERO,
                state_height: Height(0),
                proposer: values.secrets[0].peer_id(),
            },
            payload,
        };
        values
    }

    fn federation(&self) -> bfte_shared::federation::FederationId {
        self.genesis.federation_id()
    }

    fn ids(&self) -> Vec<bfte_shared::peer::PeerId> {
        self.secrets.iter().map(PeerSecret::peer_id).collect()
    }

    fn entries(&self) -> Vec<Entry> {
        vec![
            Entry {
                module: ModuleId(2),
                data: b"first".to_vec(),
            },
            Entry {
                module: ModuleId(3),
                data: codec::encode(&"second"),
            },
        ]
    }

    fn item(&self) -> ConsensusItem {
        ConsensusItem::new(&self.federation(), &self.secrets[1], 1, self.entries())
    }

    fn vote(&self, round: u64, kind: VoteKind) -> Vote {
        Vote::new(&self.federation(), &self.secrets[2], Round(round), kind)
    }

    fn certificate(&self, round: u64, kind: VoteKind) -> Certificate {
        let bytes = vote_signing_bytes(&self.federation(), Round(round), kind);
        Certificate::from_signatures(
            Round(round),
            kind,
            self.secrets.len(),
            (0..3).map(|i| (i, self.secrets[i].sign(&bytes))),
        )
    }

    /// A commit's journal record: an own vote, an own item, a notarization, its block, and the
    /// finalized batch.
    fn journal_record(&self) -> Vec<u8> {
        let hash = self.block.hash();
        let (vote, item) = (self.vote(1, VoteKind::Finalize(hash)), self.item());
        let notarization = self.certificate(1, VoteKind::Notarize(hash));
        let finalization = self.certificate(1, VoteKind::Finalize(hash));
        let record: RecordRef = (
            0,
            vec![
                EntryRef::Vote(&vote),
                EntryRef::OwnItem(&item),
                EntryRef::Certificate(&notarization),
                EntryRef::Block(&self.block),
            ],
            vec![(std::slice::from_ref(&self.block), &finalization)],
        );
        codec::encode(&record)
    }

    fn chain(&self) -> FinalizedChain {
        FinalizedChain {
            blocks: vec![self.block.clone()],
            finalization: self.certificate(1, VoteKind::Finalize(self.block.hash())),
        }
    }

    fn messages(&self) -> Vec<Message> {
        let hash = self.block.hash();
        vec![
            Message::Proposal(Proposal::new(
                &self.federation(),
                &self.secrets[0],
                self.block.clone(),
            )),
            Message::Vote(self.vote(1, VoteKind::Notarize(hash))),
            Message::Certificate(self.certificate(1, VoteKind::Notarize(hash))),
            Message::Item(self.item()),
            Message::Items(vec![self.item(), self.item()]),
            Message::Pull(Pull {
                round: Round(3),
                finalized_height: Height(1),
            }),
            Message::Catchup(Catchup {
                certificates: vec![self.certificate(2, VoteKind::Dummy)],
                blocks: vec![self.block.clone()],
            }),
            Message::Finalized(self.chain()),
            Message::HighestAsk { nonce: 7 },
            Message::Highest {
                nonce: 7,
                certificate: Some(self.certificate(2, VoteKind::Dummy)),
            },
            Message::Highest {
                nonce: 7,
                certificate: None,
            },
        ]
    }

    fn member(&self, i: usize) -> Member {
        Member {
            id: self.secrets[i].peer_id(),
            name: format!("peer-{i}"),
            addrs: vec!["127.0.0.1:4000".into()],
        }
    }

    fn invite(&self) -> Invite {
        Invite {
            federation: self.federation(),
            pin_height: Height(1),
            pin_block: self.block.hash(),
            peers: vec![self.member(0), self.member(1)],
            relay: Some("https://relay.example:3340".into()),
        }
    }

    fn join_request(&self) -> JoinRequest {
        JoinRequest::new(
            &self.invite(),
            self.member(3),
            1_700_000_000_000,
            &self.secrets[3],
        )
    }

    fn join_reply(&self) -> JoinReply {
        JoinReply::Pending {
            genesis: self.genesis.clone(),
            founders: (0..4).map(|i| self.member(i)).collect(),
            members: (0..4).map(|i| self.member(i)).collect(),
        }
    }

    fn pending_join(&self) -> PendingJoin {
        PendingJoin {
            member: self.member(3),
            requested_ms: 1_700_000_000_000,
            pin_height: Height(1),
        }
    }

    fn index(&self) -> Index {
        Index {
            genesis: self.genesis.clone(),
            tip: Height(1),
            epochs: vec![EpochSegments {
                number: 0,
                start: Height(0),
                end: None,
                segments: self.block.hash(),
                lasts: vec![Height(1)],
            }],
        }
    }

    fn epoch(&self) -> EpochConfig {
        EpochConfig::genesis(&self.genesis, Vec::new())
    }

    fn outcome(&self) -> BlockOutcome {
        BlockOutcome {
            entries: vec![
                ItemOutcome::Applied {
                    effects: Vec::new(),
                },
                ItemOutcome::Rejected {
                    reason: "unknown module".into(),
                },
            ],
            changes: Vec::new(),
            state_root: Hash::tagged(b"seed", b"root"),
        }
    }
}
