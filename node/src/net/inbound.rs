//! The accepting side: connections on the consensus ALPN from peers in the set, each of their
//! streams read frame by frame into its lane's bounded inbound channel.

use std::sync::Arc;

use bfte_shared::peer::PeerId;
use iroh::endpoint::{Connection, ReadExactError, RecvStream, VarInt};
use iroh::protocol::{AcceptError, ProtocolHandler};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::frame::{FrameError, read_frame};
use super::{
    CLOSE_NOT_A_PEER, CLOSE_REMOVED, CLOSE_SHUTDOWN, CLOSE_UNKNOWN_LANE, Inbound, Lane, Peers,
    peer_id,
};

#[derive(Debug, Clone)]
pub(super) struct InboundHandler {
    pub(super) peers: Arc<Peers>,
    /// One channel per lane, indexed by [`Lane::index`].
    pub(super) lanes: [mpsc::Sender<Inbound>; Lane::COUNT],
}

/// Why reading from one stream, or from the whole connection, stopped.
enum Stop {
    /// The stream ended, cleanly or not; the connection may carry others.
    StreamEnded,
    /// The connection closed or failed; nothing to tell the peer.
    Gone,
    /// The node dropped its inbound receivers.
    NodeGone,
    /// The peer was removed from the set while connected.
    Removed,
    /// The peer broke the framing: close the connection with this code.
    Violation(VarInt, String),
}

impl ProtocolHandler for InboundHandler {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        // The TLS handshake proved the remote holds this key.
        let from = peer_id(&connection.remote_id());
        if !self.peers.allows(&from) {
            tracing::warn!(peer = %from, "refused a connection from a peer outside the peer set");
            connection.close(CLOSE_NOT_A_PEER, b"not in the peer set");
            return Ok(());
        }
        self.peers.peer_connected_to_us(&from);
        tracing::debug!(peer = %from.short(), "accepted a connection");
        match self.read_connection(&connection, from).await {
            Stop::StreamEnded | Stop::Gone => {}
            Stop::NodeGone => connection.close(CLOSE_SHUTDOWN, b"shutting down"),
            Stop::Removed => {
                tracing::info!(peer = %from.short(), "closed a connection: peer left the set");
                connection.close(CLOSE_REMOVED, b"removed from the peer set");
            }
            Stop::Violation(code, error) => {
                tracing::error!(
                    peer = %from.short(),
                    %error,
                    "closing the connection: the peer broke the consensus framing"
                );
                connection.close(code, b"bad frame");
            }
        }
        Ok(())
    }
}

impl InboundHandler {
    /// Reads the uni streams the peer opens (a well-behaved peer opens one per lane and
    /// connection) side by side, so a stream waiting for room in its lane's channel does not hold
    /// up the other lane. At most [`Lane::COUNT`] at a time: each reader may hold a frame of up
    /// to `MAX_MESSAGE_BYTES`, so a peer opening many streams cannot make us hold many frames.
    async fn read_connection(&self, connection: &Connection, from: PeerId) -> Stop {
        let mut readers = JoinSet::new();
        loop {
            tokio::select! {
                accepted = connection.accept_uni(), if readers.len() < Lane::COUNT => match accepted {
                    Ok(stream) => {
                        readers.spawn(self.clone().read_stream(stream, from));
                    }
                    Err(error) => {
                        tracing::debug!(peer = %from.short(), %error, "connection ended");
                        return Stop::Gone;
                    }
                },
                Some(done) = readers.join_next() => match done {
                    Ok(Stop::StreamEnded) => {}
                    Ok(stop) => return stop,
                    Err(error) => {
                        tracing::error!(peer = %from.short(), %error, "a stream reader failed");
                        return Stop::Gone;
                    }
                },
            }
        }
    }

    /// Reads one stream: its lane's tag, then frames into that lane's channel, in order.
    async fn read_stream(self, mut stream: RecvStream, from: PeerId) -> Stop {
        let mut tag = [0u8];
        match stream.read_exact(&mut tag).await {
            Ok(()) => {}
            Err(ReadExactError::FinishedEarly(_)) => return Stop::StreamEnded,
            Err(ReadExactError::ReadError(error)) => {
                tracing::debug!(peer = %from.short(), %error, "stream ended");
                return Stop::StreamEnded;
            }
        }
        let Some(lane) = Lane::from_tag(tag[0]) else {
            return Stop::Violation(
                CLOSE_UNKNOWN_LANE,
                format!("a stream of unknown lane {}", tag[0]),
            );
        };
        let channel = &self.lanes[lane.index()];
        loop {
            match read_frame(&mut stream).await {
                Ok(Some(bytes)) => {
                    if !self.peers.allows(&from) {
                        return Stop::Removed;
                    }
                    #[cfg(feature = "chaos")]
                    if super::faults::inbound_cut(&from) {
                        continue;
                    }
                    // Awaiting here is the back-pressure: a full channel stalls this stream (and
                    // through QUIC flow control its sender), no other peer's or lane's.
                    if channel.send(Inbound { from, bytes }).await.is_err() {
                        return Stop::NodeGone;
                    }
                }
                Ok(None) => return Stop::StreamEnded,
                // A reset stream or a lost connection: if the connection is still up the peer
                // may open another stream.
                Err(FrameError::Read(error)) => {
                    tracing::debug!(peer = %from.short(), %error, "stream ended");
                    return Stop::StreamEnded;
                }
                Err(error) => return Stop::Violation(error.close_code(), error.to_string()),
            }
        }
    }
}
