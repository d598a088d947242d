//! Cross-type tests: certificates against a peer set, and hostile bytes against the decoder.

use crate::block::{Block, Payload};
use crate::certificate::{Certificate, CertificateError};
use crate::codec::encode;
use crate::crypto::Ed25519Verifier;
use crate::federation::{ConsensusParams, FederationId, Genesis, PeerSet};
use crate::hash::Hash;
use crate::item::{ConsensusItem, ModuleId};
use crate::message::{Catchup, Message, Pull};
use crate::peer::{PeerSecret, Signature};
use crate::round::{Height, Round};
use crate::vote::{Proposal, Vote, VoteKind, vote_signing_bytes};

struct Fixture {
    secrets: Vec<PeerSecret>,
    peers: PeerSet,
    federation: FederationId,
    genesis: Genesis,
}

fn fixture(n: u8) -> Fixture {
    let mut secrets: Vec<_> = (0..n).map(|i| PeerSecret::from_seed([i; 32])).collect();
    secrets.sort_by_key(PeerSecret::peer_id);
    let peers = PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect()).expect("peers");
    let genesis = Genesis {
        name: "test".into(),
        peers: peers.clone(),
        params: ConsensusParams::default(),
        timestamp_ms: 0,
    };
    Fixture {
        secrets,
        peers,
        federation: genesis.federation_id(),
        genesis,
    }
}

fn certificate(fx: &Fixture, kind: VoteKind, signers: &[usize]) -> Certificate {
    let round = Round(3);
    let bytes = vote_signing_bytes(&fx.federation, round, kind);
    Certificate::from_signatures(
        round,
        kind,
        fx.peers.len(),
        signers.iter().map(|&i| (i, fx.secrets[i].sign(&bytes))),
    )
}

#[test]
fn a_quorum_certificate_verifies() {
    let fx = fixture(4);
    let cert = certificate(&fx, VoteKind::Notarize(Hash([1; 32])), &[0, 2, 3]);
    assert_eq!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Ok(())
    );
}

#[test]
fn below_quorum_is_rejected() {
    let fx = fixture(4);
    let cert = certificate(&fx, VoteKind::Dummy, &[0, 2]);
    assert_eq!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::BelowQuorum { got: 2, quorum: 3 })
    );
}

#[test]
fn a_duplicate_signer_is_rejected() {
    // One peer's signature standing in for two bitmap slots, as a forger would try.
    let fx = fixture(4);
    let mut cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    cert.signatures[2] = cert.signatures[1];
    assert_eq!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::BadSignature)
    );
    // More signatures than signers (a repeated signature appended) is a shape error.
    let mut cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    cert.signatures.push(cert.signatures[0]);
    assert!(matches!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::SignatureCount { .. })
    ));
}

#[test]
fn a_foreign_signer_is_rejected() {
    let fx = fixture(4);
    let mut cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    cert.signers[0] |= 1 << 6; // index 6 does not exist among 4 peers
    cert.signatures.push(Signature([0; 64]));
    assert_eq!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::ForeignSigner(6))
    );
    // A key outside the federation signing in a member's slot fails verification.
    let outsider = PeerSecret::from_seed([99; 32]);
    let mut cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    cert.signatures[0] = outsider.sign(&vote_signing_bytes(
        &fx.federation,
        Round(3),
        VoteKind::Dummy,
    ));
    assert_eq!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::BadSignature)
    );
    let mut cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    cert.signers.push(0);
    assert!(matches!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier),
        Err(CertificateError::BitmapLength { .. })
    ));
}

#[test]
fn a_certificate_for_another_kind_or_federation_is_rejected() {
    let fx = fixture(4);
    let mut cert = certificate(&fx, VoteKind::Notarize(Hash([1; 32])), &[0, 1, 2]);
    cert.kind = VoteKind::Finalize(Hash([1; 32]));
    assert!(
        cert.verify(&fx.federation, &fx.peers, &Ed25519Verifier)
            .is_err()
    );
    let cert = certificate(&fx, VoteKind::Dummy, &[0, 1, 2]);
    let other = FederationId(Hash([9; 32]));
    assert!(cert.verify(&other, &fx.peers, &Ed25519Verifier).is_err());
}

fn sample_messages(fx: &Fixture) -> Vec<Message> {
    let item = ConsensusItem::single(
        &fx.federation,
        &fx.secrets[0],
        1,
        ModuleId(0),
        vec![1, 2, 3],
    );
    let mut block = Block::genesis(&fx.genesis);
    block.payload = Payload {
        items: vec![item.clone()],
    };
    block.header.payload_hash = block.payload.hash();
    block.header.round = Round(1);
    block.header.height = Height(1);
    let vote = Vote::new(&fx.federation, &fx.secrets[1], Round(1), VoteKind::Dummy);
    let cert = certificate(fx, VoteKind::Notarize(block.hash()), &[0, 1, 2]);
    vec![
        Message::Proposal(Proposal::new(&fx.federation, &fx.secrets[0], block.clone())),
        Message::Vote(vote),
        Message::Certificate(cert.clone()),
        Message::Item(item),
        Message::Pull(Pull {
            round: Round(4),
            finalized_height: Height(2),
        }),
        Message::Catchup(Catchup {
            certificates: vec![cert],
            blocks: vec![block],
        }),
    ]
}

#[test]
fn messages_round_trip_canonically() {
    let fx = fixture(4);
    for message in sample_messages(&fx) {
        let bytes = message.encode();
        let decoded = Message::decode(&bytes).expect("decodes");
        assert_eq!(decoded, message);
        assert_eq!(decoded.encode(), bytes, "one value, one encoding");
    }
}

/// A small deterministic fuzz pass that runs with every `cargo test`: truncations, bit flips and
/// random bytes must come back as errors (or valid messages), never as panics.
#[test]
fn hostile_bytes_never_panic_the_decoder() {
    let fx = fixture(4);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded_ok = 0;
    for message in sample_messages(&fx) {
        let bytes = message.encode();
        for cut in 0..bytes.len() {
            assert!(
                Message::decode(&bytes[..cut]).is_err(),
                "a truncation decoded"
            );
        }
        for _ in 0..2_000 {
            let mut mutated = bytes.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % mutated.len();
                mutated[at] ^= 1 << (next() % 8);
            }
            decoded_ok += usize::from(Message::decode(&mutated).is_ok());
        }
    }
    for len in 0..2_000usize {
        let noise: Vec<u8> = (0..len % 300).map(|_| next() as u8).collect();
        decoded_ok += usize::from(Message::decode(&noise).is_ok());
    }
    // Some flips land in signature or hash bytes and still decode; most must not.
    assert!(decoded_ok < 12_000, "{decoded_ok} mutated inputs decoded");
}

#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation() {
    // A byte string claiming 2^62 bytes, inside a vote.
    let mut bytes = encode(&"Vote");
    bytes.insert(0, 0xa1);
    bytes.extend_from_slice(&[0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0]);
    assert!(Message::decode(&bytes).is_err());
}

/// Truncations and bit flips of `bytes` decoded as `T` come back as errors or values, never
/// as panics; returns how many decoded.
fn mangle_and_decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    next: &mut impl FnMut() -> u64,
) -> usize {
    let mut decoded_ok = 0;
    for cut in 0..bytes.len() {
        decoded_ok += usize::from(crate::codec::decode::<T>(&bytes[..cut], 1 << 20).is_ok());
    }
    for _ in 0..500 {
        let mut mutated = bytes.to_vec();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % mutated.len();
            mutated[at] ^= 1 << (next() % 8);
        }
        decoded_ok += usize::from(crate::codec::decode::<T>(&mutated, 1 << 20).is_ok());
    }
    decoded_ok
}

/// The same for what modules and admin clients decode: module items, proofs, admin requests
/// (the node decodes them from any local client) and block outcomes.
#[test]
fn hostile_bytes_never_panic_module_and_admin_decoders() {
    use crate::admin::AdminRequest;
    use crate::ledger::{BlockOutcome, ItemOutcome, StateChange};
    use crate::modules::attest::AttestItem;
    use crate::modules::evidence::Proof;
    use crate::modules::meta::MetaItem;

    let fx = fixture(4);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let vote = |kind| Vote::new(&fx.federation, &fx.secrets[1], Round(3), kind);
    let meta = encode(&MetaItem::Propose {
        key: "federation.name".into(),
        value: "Acme".into(),
    });
    let attest = encode(&AttestItem::Attest {
        subject: "artifact:9f2c".into(),
        claim: "built-from:4e1a".into(),
        detail: Some("run 1".into()),
    });
    let proof = encode(&Proof::Votes {
        first: vote(VoteKind::Dummy),
        second: vote(VoteKind::Finalize(Hash::ZERO)),
    });
    let request = encode(&AdminRequest::SubmitItem {
        module: ModuleId(2),
        data: meta.clone(),
    });
    let outcome = encode(&BlockOutcome {
        entries: vec![
            ItemOutcome::Applied { effects: vec![] },
            ItemOutcome::Rejected {
                reason: "no".into(),
            },
        ],
        changes: vec![StateChange {
            module: ModuleId(2),
            table: "values".into(),
            key: b"k".to_vec(),
            value: Some(vec![1]),
        }],
        state_root: Hash::ZERO,
    });
    assert!(crate::codec::decode::<MetaItem>(&meta, 1 << 20).is_ok());
    let decoded = mangle_and_decode::<MetaItem>(&meta, &mut next)
        + mangle_and_decode::<AttestItem>(&attest, &mut next)
        + mangle_and_decode::<Proof>(&proof, &mut next)
        + mangle_and_decode::<AdminRequest>(&request, &mut next)
        + mangle_and_decode::<BlockOutcome>(&outcome, &mut next);
    // Flips inside strings and byte strings still decode; most others must not.
    assert!(decoded < 1_000, "{decoded} of 2,500 mangled inputs decoded");
}
