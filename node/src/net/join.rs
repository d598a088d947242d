//! Join requests over their own ALPN, [`JOIN_ALPN`], beside the consensus one.
//!
//! Anyone may connect: the joiner is not a peer yet. It opens one bidirectional stream, writes
//! one frame (a u32 big-endian length and that many bytes of a CBOR [`JoinRequest`], at most
//! [`MAX_JOIN_FRAME`]) and finishes its side; the node answers with one frame of a
//! [`JoinReply`] and finishes too. A request is only handed to the driver if its signature
//! holds and the key that signed it is the one iroh's handshake authenticated; the driver
//! decides everything else (`daemon/joins.rs`). A frame that breaks these rules closes the
//! connection with a logged warning; a joiner that stalls is cut off after
//! [`REQUEST_TIMEOUT`].

use std::time::Duration;

use bfte_shared::codec::{self, DecodeError};
use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::join::{JOIN_ALPN, JoinReply, JoinRequest, MAX_JOIN_FRAME};
use bfte_shared::modules::ctrl::Member;
use bfte_shared::peer::{PeerId, PeerSecret};
use iroh::endpoint::{
    ClosedStream, ConnectError, Connection, ConnectionError, ReadExactError, RecvStream,
    SendStream, VarInt, WriteError,
};
use iroh::protocol::{AcceptError, ProtocolHandler};
use tokio::sync::{mpsc, oneshot};

use super::{Dialer, NetConfig, NetError, bind_endpoint, peer_id};

/// Join requests waiting for the driver; past that, new ones are refused as "busy".
pub const JOIN_QUEUE: usize = 16;
/// How long a joiner may take to connect, to send its request, or to read the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the driver may take to answer a request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

const CLOSE_DONE: VarInt = VarInt::from_u32(0);
const CLOSE_BAD_REQUEST: VarInt = VarInt::from_u32(1);
const CLOSE_TIMEOUT: VarInt = VarInt::from_u32(2);

/// A checked join request for the driver, and where its answer goes.
#[derive(Debug)]
pub struct JoinCall {
    pub request: JoinRequest,
    pub reply: oneshot::Sender<JoinReply>,
}

/// What went wrong on one join connection, either side.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("no answer within {REQUEST_TIMEOUT:?}")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(#[from] ConnectError),
    #[error("the connection failed: {0}")]
    Connection(#[from] ConnectionError),
    #[error("a frame of {len} bytes announced, the limit is {MAX_JOIN_FRAME}")]
    TooLarge { len: u64 },
    #[error("the stream ended early: {0}")]
    Read(#[from] ReadExactError),
    #[error("cannot write: {0}")]
    Write(#[from] WriteError),
    #[error("cannot finish the stream: {0}")]
    Finish(#[from] ClosedStream),
    #[error("undecodable: {0}")]
    Decode(#[from] DecodeError),
    #[error("peer id {0} is not an ed25519 key")]
    BadPeerId(PeerId),
}

/// The node's side: serves [`JOIN_ALPN`] and hands checked requests to the driver.
#[derive(Debug, Clone)]
pub(super) struct JoinHandler {
    pub(super) calls: mpsc::Sender<JoinCall>,
}

impl ProtocolHandler for JoinHandler {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        // The TLS handshake proved the remote holds this key.
        let from = peer_id(&connection.remote_id());
        match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&connection)).await {
            Err(_) => {
                tracing::warn!(peer = %from, "closing a join connection: no request in time");
                connection.close(CLOSE_TIMEOUT, b"no request in time");
            }
            Ok(Err(error)) => {
                tracing::warn!(peer = %from, %error, "closing a join connection: bad request");
                connection.close(CLOSE_BAD_REQUEST, b"bad join request");
            }
            Ok(Ok((mut send, request))) => {
                let reply = self.answer(from, request).await;
                if let Err(error) = answer(&connection, &mut send, &reply).await {
                    tracing::debug!(peer = %from, %error, "could not send the join reply");
                }
            }
        }
        Ok(())
    }
}

impl JoinHandler {
    /// Checks what only the transport can check, then asks the driver.
    async fn answer(&self, from: PeerId, request: JoinRequest) -> JoinReply {
        if request.member.id != from {
            tracing::warn!(peer = %from, named = %request.member.id, "join request for another peer's key");
            return JoinReply::Refused(format!(
                "the request names peer {} but came from {from}",
                request.member.id
            ));
        }
        if !request.verify(&Ed25519Verifier) {
            tracing::warn!(peer = %from, "join request with a bad signature");
            return JoinReply::Refused("the request's signature does not verify".into());
        }
        let (reply, answer) = oneshot::channel();
        match self.calls.try_send(JoinCall { request, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(peer = %from, "join request refused: too many waiting");
                return JoinReply::Refused(
                    "this node has too many join requests waiting; try again in a minute".into(),
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return JoinReply::Refused("this node does not take join requests".into());
            }
        }
        match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => JoinReply::Refused("this node stopped before answering".into()),
            Err(_) => JoinReply::Refused("this node did not answer in time".into()),
        }
    }
}

/// Accepts the joiner's stream and reads its request.
async fn read_request(connection: &Connection) -> Result<(SendStream, JoinRequest), JoinError> {
    let (send, mut recv) = connection.accept_bi().await?;
    let bytes = read_frame(&mut recv).await?;
    Ok((send, codec::decode(&bytes, MAX_JOIN_FRAME)?))
}

/// Writes the reply, then waits (bounded) for the joiner to close the connection once it read
/// it: closing first could discard the reply before it left.
async fn answer(
    connection: &Connection,
    send: &mut SendStream,
    reply: &JoinReply,
) -> Result<(), JoinError> {
    write_frame(send, &codec::encode(reply)).await?;
    send.finish()?;
    if tokio::time::timeout(REQUEST_TIMEOUT, connection.closed())
        .await
        .is_err()
    {
        connection.close(CLOSE_DONE, b"answered");
    }
    Ok(())
}

async fn read_frame(stream: &mut RecvStream) -> Result<Vec<u8>, JoinError> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix);
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_JOIN_FRAME)
        .ok_or(JoinError::TooLarge { len: len.into() })?;
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}

async fn write_frame(stream: &mut SendStream, bytes: &[u8]) -> Result<(), JoinError> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|_| bytes.len() <= MAX_JOIN_FRAME)
        .ok_or(JoinError::TooLarge {
            len: bytes.len() as u64,
        })?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(bytes).await?;
    Ok(())
}

/// The joining node's side: a temporary endpoint with the new node's key that sends its request
/// to the invite's peers (`bfte join`).
#[derive(Debug, Clone)]
pub struct Joiner {
    dialer: Dialer,
}

impl Joiner {
    pub async fn bind(secret: &PeerSecret, config: NetConfig) -> Result<Joiner, NetError> {
        let endpoint = bind_endpoint(secret, &config).await?;
        Ok(Joiner {
            dialer: Dialer::new(endpoint, config.relay.custom().cloned()),
        })
    }

    /// Sends the request to one peer (at its addresses that parse as `ip:port`; through
    /// relays and address lookup too when the endpoint has them) and reads its answer.
    pub async fn ask(&self, peer: &Member, request: &JoinRequest) -> Result<JoinReply, JoinError> {
        let target = self
            .dialer
            .member_target(peer)
            .map_err(|_| JoinError::BadPeerId(peer.id))?;
        tokio::time::timeout(REQUEST_TIMEOUT, async {
            let connection = self.dialer.endpoint().connect(target, JOIN_ALPN).await?;
            let reply = exchange(&connection, request).await;
            connection.close(CLOSE_DONE, b"done");
            reply
        })
        .await
        .map_err(|_| JoinError::Timeout)?
    }

    pub async fn close(self) {
        self.dialer.endpoint().close().await;
    }
}

async fn exchange(connection: &Connection, request: &JoinRequest) -> Result<JoinReply, JoinError> {
    let (mut send, mut recv) = connection.open_bi().await?;
    write_frame(&mut send, &codec::encode(request)).await?;
    send.finish()?;
    let bytes = read_frame(&mut recv).await?;
    Ok(codec::decode(&bytes, MAX_JOIN_FRAME)?)
}

#[cfg(test)]
mod tests {
    use bfte_shared::join::Invite;
    use bfte_shared::round::Height;

    use super::*;
    use crate::net::Net;

    fn member(secret: &PeerSecret, name: &str) -> Member {
        Member {
            id: secret.peer_id(),
            name: name.into(),
            addrs: vec!["127.0.0.1:1".into()],
        }
    }

    /// A node, a joiner, and every way a request can arrive: signed and answered by the
    /// driver, forged or for another key (refused by the transport, the driver never sees
    /// them), and a frame over the limit (the connection is closed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_checked_requests_reach_the_driver_and_bad_frames_close_the_connection() {
        let node_secret = PeerSecret::from_seed([1; 32]);
        let (node, _inbound, mut joins) = Net::bind(&node_secret, NetConfig::loopback(0))
            .await
            .expect("bind node");
        let invite = Invite {
            federation: bfte_shared::federation::FederationId(bfte_shared::hash::Hash::ZERO),
            pin_height: Height(3),
            pin_block: bfte_shared::hash::Hash::ZERO,
            peers: vec![Member {
                id: node.peer_id(),
                name: "node".into(),
                addrs: node.local_addrs().iter().map(ToString::to_string).collect(),
            }],
            relay: None,
        };
        let secret = PeerSecret::from_seed([9; 32]);
        let joiner = Joiner::bind(&secret, NetConfig::loopback(0))
            .await
            .expect("bind joiner");
        let request = JoinRequest::new(&invite, member(&secret, "erin"), 1, &secret);
        let driver = tokio::spawn(async move {
            let call = joins.recv().await.expect("a call");
            let name = call.request.member.name.clone();
            call.reply
                .send(JoinReply::Refused(format!("hello {name}")))
                .expect("answer");
            joins
        });
        let peer = &invite.peers[0];
        let reply = joiner.ask(peer, &request).await.expect("reply");
        assert_eq!(reply, JoinReply::Refused("hello erin".into()));
        let mut joins = driver.await.expect("driver");

        let mut forged = request.clone();
        forged.member.name = "mallory".into();
        let reply = joiner.ask(peer, &forged).await.expect("reply");
        assert!(
            matches!(&reply, JoinReply::Refused(r) if r.contains("signature")),
            "{reply:?}"
        );
        let other = PeerSecret::from_seed([8; 32]);
        let theirs = JoinRequest::new(&invite, member(&other, "eve"), 1, &other);
        let reply = joiner.ask(peer, &theirs).await.expect("reply");
        assert!(
            matches!(&reply, JoinReply::Refused(r) if r.contains("came from")),
            "{reply:?}"
        );

        let id = crate::net::endpoint_id(&node.peer_id()).expect("id");
        let target = joiner.dialer.target(id, node.local_addrs());
        let connection = joiner
            .dialer
            .endpoint()
            .connect(target, JOIN_ALPN)
            .await
            .expect("connect");
        let (mut send, mut recv) = connection.open_bi().await.expect("stream");
        send.write_all(&u32::MAX.to_be_bytes())
            .await
            .expect("write");
        assert!(read_frame(&mut recv).await.is_err());
        match connection.closed().await {
            ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, CLOSE_BAD_REQUEST);
            }
            other => panic!("closed otherwise: {other}"),
        }
        assert!(joins.try_recv().is_err(), "the driver saw a bad request");
        joiner.close().await;
        node.shutdown().await;
    }
}
