//! Invites and join requests: how a new node asks to become a peer.
//!
//! `bfte invite` prints an [`Invite`] as text. The joining node sends a signed [`JoinRequest`]
//! to the invite's peers over [`JOIN_ALPN`]; each checks it and keeps it as pending for its
//! admins, and answers with a [`JoinReply`] that carries what the joiner needs to follow the
//! federation (its genesis and the founding peers' addresses). Approving casts the
//! consensus_ctrl vote to add the peer; the joiner starts voting once that change passes.

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::crypto::{Domain, SignedBytes, Signer, Verifier};
use crate::federation::{FederationId, Genesis};
use crate::hash::Hash;
use crate::modules::ctrl::Member;
use crate::peer::Signature;
use crate::round::Height;

/// The ALPN of join requests, beside the consensus one on the same endpoint.
pub const JOIN_ALPN: &[u8] = b"bfte/join/1";
/// What every invite's text starts with.
pub const INVITE_PREFIX: &str = "bfte-invite-";
/// How long an invite's pinned block stays acceptable.
pub const INVITE_TTL_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most peers an invite lists.
pub const MAX_INVITE_PEERS: usize = 8;
/// Largest join request or reply on the wire.
pub const MAX_JOIN_FRAME: usize = 1 << 20;

/// Everything a new node needs to reach the federation and to know it reached the right one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub federation: FederationId,
    /// A recent finalized block: the joiner proves it was invited recently by naming it.
    pub pin_height: Height,
    pub pin_block: Hash,
    /// Peers to send the request to.
    pub peers: Vec<Member>,
    /// The iroh relay the federation runs (`bfte relay`), as a URL: through it a node behind NAT
    /// reaches the peers without any other setting. Absent from invites made before relays were
    /// named, and left out of the encoding when there is none, so those still decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
}

/// Why an invite's text is not an invite.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InviteError {
    #[error("an invite starts with `{INVITE_PREFIX}`")]
    Prefix,
    #[error("the invite is not valid base32 (was it cut short?): {0}")]
    Encoding(String),
    #[error("the invite does not decode: {0}")]
    Decode(String),
    #[error("the invite lists no peers to ask")]
    NoPeers,
    #[error("the invite's relay `{0}` is not an http:// or https:// URL")]
    Relay(String),
}

const INVITE_ENCODING: data_encoding::Encoding = data_encoding::BASE32_NOPAD;

impl Invite {
    pub fn encode(&self) -> String {
        let bytes = codec::encode(self);
        format!(
            "{INVITE_PREFIX}{}",
            INVITE_ENCODING.encode(&bytes).to_lowercase()
        )
    }

    pub fn decode(text: &str) -> Result<Invite, InviteError> {
        let body = text
            .trim()
            .strip_prefix(INVITE_PREFIX)
            .ok_or(InviteError::Prefix)?;
        let bytes = INVITE_ENCODING
            .decode(body.to_uppercase().as_bytes())
            .map_err(|e| InviteError::Encoding(e.to_string()))?;
        let invite: Invite =
            codec::decode(&bytes, 64 * 1024).map_err(|e| InviteError::Decode(e.to_string()))?;
        if invite.peers.is_empty() {
            return Err(InviteError::NoPeers);
        }
        if let Some(relay) = &invite.relay
            && !["http://", "https://"].iter().any(|s| relay.starts_with(s))
        {
            return Err(InviteError::Relay(relay.clone()));
        }
        Ok(invite)
    }
}

/// A node's signed request to become a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub federation: FederationId,
    pub pin_height: Height,
    pub pin_block: Hash,
    /// Who asks: the id is the key that signs.
    pub member: Member,
    pub timestamp_ms: u64,
    pub signature: Signature,
}

#[derive(Serialize)]
struct JoinBody<'a> {
    federation: &'a FederationId,
    pin_height: Height,
    pin_block: &'a Hash,
    member: &'a Member,
    timestamp_ms: u64,
}

impl JoinRequest {
    pub fn new(invite: &Invite, member: Member, timestamp_ms: u64, signer: &dyn Signer) -> Self {
        let mut request = JoinRequest {
            federation: invite.federation,
            pin_height: invite.pin_height,
            pin_block: invite.pin_block,
            member,
            timestamp_ms,
            signature: Signature([0; 64]),
        };
        request.signature = signer.sign(&request.signing_bytes());
        request
    }

    fn signing_bytes(&self) -> Vec<u8> {
        Domain::JoinRequest.signing_bytes(&JoinBody {
            federation: &self.federation,
            pin_height: self.pin_height,
            pin_block: &self.pin_block,
            member: &self.member,
            timestamp_ms: self.timestamp_ms,
        })
    }

    pub fn verify(&self, verifier: &dyn Verifier) -> bool {
        let bytes = self.signing_bytes();
        verifier.verify(SignedBytes {
            signer: &self.member.id,
            message: &bytes,
            signature: &self.signature,
        })
    }
}

/// A peer's answer to a join request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinReply {
    /// Kept as pending for the admins; follow the federation from its genesis meanwhile.
    Pending {
        genesis: Genesis,
        /// The founding peers with their names and addresses.
        founders: Vec<Member>,
        /// The peers in force now.
        members: Vec<Member>,
    },
    Refused(String),
}

/// A pending join request as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingJoin {
    pub member: Member,
    pub requested_ms: u64,
    pub pin_height: Height,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(relay: Option<&str>) -> Invite {
        Invite {
            federation: FederationId(Hash([1; 32])),
            pin_height: Height(7),
            pin_block: Hash([2; 32]),
            peers: vec![Member {
                id: crate::peer::PeerId([3; 32]),
                name: "alice".into(),
                addrs: vec!["10.0.0.1:4100".into()],
            }],
            relay: relay.map(String::from),
        }
    }

    #[test]
    fn an_invite_round_trips_with_and_without_a_relay() {
        for relay in [None, Some("http://198.18.0.1:3340/")] {
            let invite = invite(relay);
            assert_eq!(Invite::decode(&invite.encode()), Ok(invite));
        }
    }

    #[test]
    fn an_invite_made_before_relays_were_named_still_decodes() {
        /// The invite as it was encoded before it had a relay field.
        #[derive(Serialize)]
        struct Before<'a> {
            federation: &'a FederationId,
            pin_height: Height,
            pin_block: &'a Hash,
            peers: &'a [Member],
        }
        let invite = invite(None);
        let bytes = codec::encode(&Before {
            federation: &invite.federation,
            pin_height: invite.pin_height,
            pin_block: &invite.pin_block,
            peers: &invite.peers,
        });
        assert_eq!(bytes, codec::encode(&invite), "no relay, same bytes");
        let text = format!(
            "{INVITE_PREFIX}{}",
            INVITE_ENCODING.encode(&bytes).to_lowercase()
        );
        assert_eq!(Invite::decode(&text), Ok(invite));
    }

    #[test]
    fn a_relay_that_is_not_a_url_is_refused() {
        let text = invite(Some("relay.example.org")).encode();
        assert_eq!(
            Invite::decode(&text),
            Err(InviteError::Relay("relay.example.org".into()))
        );
    }
}
