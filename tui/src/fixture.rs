//! A synthetic, deterministic console state: a federation with a peer down and one relayed,
//! a dummy round now and then, blocks with items, log lines. The snapshot tests and the render
//! benchmark draw it; nothing in it depends on the clock.

use std::path::PathBuf;

use bfte_shared::admin::{
    AdminEvent, BlockDetail, EventFrame, FinalizedBlock, LogLevel, PeerInfo, PeerPath, Status,
    VoteSort,
};
use bfte_shared::block::{Block, Payload};
use bfte_shared::certificate::Certificate;
use bfte_shared::codec;
use bfte_shared::federation::{ConsensusParams, FederationId, Genesis, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::item::{ConsensusItem, ModuleId};
use bfte_shared::ledger::{BlockOutcome, ItemOutcome};
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::meta::MetaItem;
use bfte_shared::modules::{ATTEST, DATA, Effect, META};
use bfte_shared::peer::{PeerId, PeerSecret, Signature};
use bfte_shared::round::{Height, Round};
use bfte_shared::vote::VoteKind;

use crate::app::App;
use crate::client::Update;
use crate::state::Snapshot;
use crate::theme::Theme;

/// 2023-11-14 22:13:20 UTC: fixed, so screens render the same every time.
pub const START_MS: u64 = 1_700_000_000_000;
/// Every round takes this long in the fixture.
const ROUND_MS: u64 = 400;

pub fn peer(index: usize) -> PeerId {
    let seed = u8::try_from(index + 1).unwrap_or(u8::MAX);
    PeerSecret::from_seed([seed; 32]).peer_id()
}

fn hash(label: &str, n: u64) -> Hash {
    Hash::tagged(label.as_bytes(), &n.to_be_bytes())
}

/// The last peer is down; peer 2 (when there are more than 3) goes through a relay.
fn peers(count: usize, last_round: u64) -> Vec<PeerInfo> {
    (0..count)
        .map(|i| {
            let down = i == count - 1 && count > 1;
            let relayed = i == 2 && count > 3;
            PeerInfo {
                id: peer(i),
                name: format!("peer{i}"),
                is_self: i == 0,
                connected: !down,
                path: (i > 0 && !down).then_some(if relayed {
                    PeerPath::Relay
                } else {
                    PeerPath::Direct
                }),
                rtt_us: (i > 0 && !down).then_some(if relayed {
                    41_800
                } else {
                    350 + 10 * i as u64
                }),
                last_vote_round: Some(Round(if down { last_round / 2 } else { last_round })),
                dropped_frames: if down { 1024 } else { 0 },
            }
        })
        .collect()
}

/// Whether round `r` timed out into a dummy certificate: every seventh, and every round the
/// peer that is down should have led.
fn is_dummy(r: u64, count: usize) -> bool {
    r.is_multiple_of(7) || (count > 1 && r as usize % count == count - 1)
}

/// The events of `rounds` rounds among `count` peers: every non-dummy round finalizes a block.
fn round_events(count: usize, rounds: u64) -> Vec<EventFrame> {
    let mut events = Vec::new();
    let mut height = 0u64;
    let frame = |at_ms, event| EventFrame { at_ms, event };
    for r in 1..=rounds {
        let at = START_MS + r * ROUND_MS;
        let round = Round(r);
        let leader = peer(r as usize % count);
        events.push(frame(at, AdminEvent::RoundStarted { round, leader }));
        let voters = (0..count).filter(|i| *i != count - 1 || count == 1);
        if is_dummy(r, count) {
            for i in voters {
                let kind = VoteSort::Dummy;
                events.push(frame(
                    at,
                    AdminEvent::VoteSeen {
                        round,
                        signer: peer(i),
                        kind,
                    },
                ));
            }
            events.push(frame(at, AdminEvent::DummyCertified { round }));
            continue;
        }
        height += 1;
        let block = hash("block", height);
        events.push(frame(
            at,
            AdminEvent::ProposalSeen {
                round,
                proposer: leader,
                height: Height(height),
                block,
                items: 3,
            },
        ));
        for i in voters.clone() {
            let kind = VoteSort::Notarize;
            events.push(frame(
                at,
                AdminEvent::VoteSeen {
                    round,
                    signer: peer(i),
                    kind,
                },
            ));
        }
        events.push(frame(at, AdminEvent::Notarized { round, block }));
        for i in voters {
            let kind = VoteSort::Finalize;
            events.push(frame(
                at,
                AdminEvent::VoteSeen {
                    round,
                    signer: peer(i),
                    kind,
                },
            ));
        }
        events.push(frame(
            at + ROUND_MS / 2,
            AdminEvent::Finalized {
                height: Height(height),
                round,
                block,
                proposer: leader,
                items: 3,
            },
        ));
    }
    events
}

fn log_events(rounds: u64) -> Vec<EventFrame> {
    let lines = [
        (
            LogLevel::Info,
            "bfte_node::daemon::node: node running peer=peer0",
        ),
        (
            LogLevel::Info,
            "bfte_node::daemon::node: connected peer=peer1",
        ),
        (
            LogLevel::Warn,
            "bfte_node::net::link: could not connect; retrying with backoff peer=peer3",
        ),
        (
            LogLevel::Info,
            "bfte_node::daemon::node: finalized height=12 round=14 items=3",
        ),
        (
            LogLevel::Error,
            "bfte_node::daemon::node: a peer signed conflicting messages",
        ),
    ];
    (0..rounds)
        .map(|n| {
            let (level, line) = lines[n as usize % lines.len()];
            EventFrame {
                at_ms: START_MS + n * ROUND_MS,
                event: AdminEvent::Log {
                    level,
                    line: line.to_string(),
                },
            }
        })
        .collect()
}

/// A console after `rounds` rounds among `peers` peers (at least 1), with its first blocks
/// loaded from the snapshot and the rest arriving as events.
pub fn app(peer_count: usize, rounds: u64) -> App {
    let peer_count = peer_count.max(1);
    let status = Status {
        federation_id: FederationId(hash("federation", 0)),
        federation_name: "demo".into(),
        peer_id: peer(0),
        role: "voter".into(),
        round: Round(rounds),
        leader: peer(rounds as usize % peer_count),
        finalized_height: Height(0),
        pending_items: 0,
        peers: Vec::new(),
    };
    let mut app = App::new(PathBuf::from("/data/peer0/admin.sock"), Theme::plain());
    let snapshot = Snapshot {
        status,
        peers: peers(peer_count, rounds),
        blocks: Vec::new(),
    };
    app.update(Update::Connected(Box::new(snapshot)));
    for frame in round_events(peer_count, rounds)
        .into_iter()
        .chain(log_events(rounds.min(40)))
    {
        app.update(Update::Event(frame));
    }
    app
}

/// A finalized block in full, as `Enter` on the Blocks screen shows it.
pub fn block_detail(peer_count: usize, height: u64) -> BlockDetail {
    let peer_count = peer_count.max(1);
    let datas = [
        (DATA, b"demo item 0".to_vec()),
        (
            META,
            codec::encode(&MetaItem::Propose {
                key: "federation.name".into(),
                value: "Demo federation".into(),
            }),
        ),
        (
            ATTEST,
            codec::encode(&AttestItem::Attest {
                subject: "artifact 3f9a".into(),
                claim: "built-from commit 81e5319".into(),
                detail: None,
            }),
        ),
        (ModuleId(9), vec![0, 159, 146, 150]),
    ];
    let items = datas
        .into_iter()
        .enumerate()
        .map(|(n, (module, data))| ConsensusItem {
            author: peer(n % peer_count),
            nonce: height * 4 + n as u64,
            module,
            data,
            signature: Signature([0; 64]),
        })
        .collect();
    let payload = Payload { items };
    let signer_count = peer_count - usize::from(peer_count > 1);
    let round = Round(height + height / 6);
    // Built from the genesis block and overwritten field by field, so the fixture does not
    // break when the header gains a field.
    let genesis = Genesis {
        name: "demo".into(),
        peers: PeerSet::new((0..peer_count).map(peer).collect()).expect("distinct peers"),
        params: ConsensusParams::default(),
        timestamp_ms: START_MS,
    };
    let mut block = Block::genesis(&genesis);
    let header = &mut block.header;
    header.round = round;
    header.height = Height(height);
    header.parent = hash("block", height - 1);
    header.payload_hash = payload.hash();
    header.timestamp_ms = START_MS + round.0 * ROUND_MS;
    header.state_root = hash("state", height);
    header.proposer = peer(round.0 as usize % peer_count);
    block.payload = payload;
    let block_hash = block.hash();
    let certificate = Certificate::from_signatures(
        round,
        VoteKind::Finalize(block_hash),
        peer_count,
        (0..signer_count).map(|i| (i, Signature([0; 64]))),
    );
    BlockDetail {
        block,
        certificate: Some(certificate),
        signers: (0..signer_count).map(peer).collect(),
    }
}

/// What applying [`block_detail`]'s block did: the data item applied, the metadata proposal
/// set a value, the attestation applied, the unknown module's item rejected.
pub fn block_outcome(height: u64) -> BlockOutcome {
    let applied = |effects| ItemOutcome::Applied { effects };
    let value_set = Effect {
        from: META,
        kind: "meta/value-set".into(),
        data: vec![0; 40],
    };
    BlockOutcome {
        items: vec![
            applied(Vec::new()),
            applied(vec![value_set]),
            applied(Vec::new()),
            ItemOutcome::Rejected {
                reason: "no module 9 is enabled".into(),
            },
        ],
        changes: Vec::new(),
        state_root: hash("state", height),
    }
}

/// Stored blocks as a snapshot carries them, for tests of loading.
pub fn stored_blocks(peer_count: usize, count: u64) -> Vec<FinalizedBlock> {
    (1..=count)
        .map(|height| {
            let detail = block_detail(peer_count, height);
            FinalizedBlock {
                block: detail.block,
                certificate: detail.certificate,
            }
        })
        .collect()
}
