//! Everything peers send each other: consensus messages, join requests and replies, history
//! protocol requests and answers, and the module items consensus entries carry. The first byte
//! picks the decoder.

#![no_main]

use bfte_fuzz::canonical::round_trip;
use bfte_fuzz::node_types::protocol::{ChainPart, Index, MAX_REQUEST_BYTES, Request};
use bfte_fuzz::pick::{self, wire};
use bfte_shared::certificate::Certificate;
use bfte_shared::join::{JoinReply, JoinRequest, MAX_JOIN_FRAME};
use bfte_shared::message::{MAX_MESSAGE_BYTES, Message};
use bfte_shared::modules::attest::AttestItem;
use bfte_shared::modules::ctrl::CtrlItem;
use bfte_shared::modules::evidence::Proof;
use bfte_shared::modules::meta::MetaItem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((choice, bytes)) = pick::split(data, wire::CHOICES) else {
        return;
    };
    match choice {
        wire::MESSAGE => {
            // The node's own entry point, then the shared property.
            let direct = Message::decode(bytes);
            let message = round_trip::<Message>(bytes, MAX_MESSAGE_BYTES);
            assert_eq!(
                direct.ok(),
                message,
                "Message::decode disagrees with the codec"
            );
            if let Some(message) = message {
                check_certificates(&message);
            }
        }
        wire::JOIN_REQUEST => {
            round_trip::<JoinRequest>(bytes, MAX_JOIN_FRAME);
        }
        wire::JOIN_REPLY => {
            round_trip::<JoinReply>(bytes, MAX_JOIN_FRAME);
        }
        wire::HISTORY_REQUEST => {
            round_trip::<Request>(bytes, MAX_REQUEST_BYTES);
        }
        wire::HISTORY_INDEX => {
            round_trip::<Index>(bytes, MAX_MESSAGE_BYTES);
        }
        wire::CHAIN_PART => {
            round_trip::<ChainPart>(bytes, MAX_MESSAGE_BYTES);
        }
        // Module items: the data of consensus entries, from any federation peer.
        wire::CTRL_ITEM => {
            round_trip::<CtrlItem>(bytes, MAX_MESSAGE_BYTES);
        }
        wire::ATTEST_ITEM => {
            round_trip::<AttestItem>(bytes, MAX_MESSAGE_BYTES);
        }
        wire::META_ITEM => {
            round_trip::<MetaItem>(bytes, MAX_MESSAGE_BYTES);
        }
        // wire::EVIDENCE_PROOF
        _ => {
            round_trip::<Proof>(bytes, MAX_MESSAGE_BYTES);
        }
    }
});

/// A certificate's signer bitmap is read before any signature is checked: it must answer for
/// any peer count without panicking, and never name a signer outside the set.
fn check_certificates(message: &Message) {
    let certificates: Vec<&Certificate> = match message {
        Message::Certificate(certificate) => vec![certificate],
        Message::Catchup(catchup) => catchup.certificates.iter().collect(),
        Message::Finalized(chain) => vec![&chain.finalization],
        _ => Vec::new(),
    };
    for certificate in certificates {
        for peers in [1, 4, 7, 8, 9, 64] {
            if let Ok(indices) = certificate.signer_indices(peers) {
                assert!(indices.iter().all(|&i| i < peers), "signer outside the set");
                assert!(
                    indices.windows(2).all(|w| w[0] < w[1]),
                    "signers not sorted"
                );
            }
        }
    }
}
