//! The accepting side: connections on the consensus ALPN from peers in the set, read frame by
//! frame into the node's bounded inbound channel.

use std::sync::Arc;

use bfte_shared::peer::PeerId;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler};
use tokio::sync::mpsc;

use super::frame::read_frame;
use super::{CLOSE_NOT_A_PEER, CLOSE_REMOVED, CLOSE_SHUTDOWN, Inbound, Peers, peer_id};

#[derive(Debug, Clone)]
pub(super) struct InboundHandler {
    pub(super) peers: Arc<Peers>,
    pub(super) inbound: mpsc::Sender<Inbound>,
}

/// Why reading from one connection stopped.
enum Stop {
    /// The connection closed or failed; nothing to tell the peer.
    Gone,
    /// The node dropped its inbound receiver.
    NodeGone,
    /// The peer was removed from the set while connected.
    Removed,
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
            Stop::Gone => {}
            Stop::NodeGone => connection.close(CLOSE_SHUTDOWN, b"shutting down"),
            Stop::Removed => {
                tracing::info!(peer = %from.short(), "closed a connection: peer left the set");
                connection.close(CLOSE_REMOVED, b"removed from the peer set");
            }
        }
        Ok(())
    }
}

impl InboundHandler {
    /// Reads every uni stream the peer opens, one after the other (a well-behaved peer opens one
    /// per connection), so frames reach the node in the order they were sent.
    async fn read_connection(&self, connection: &Connection, from: PeerId) -> Stop {
        loop {
            let mut stream = match connection.accept_uni().await {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::debug!(peer = %from.short(), %error, "connection ended");
                    return Stop::Gone;
                }
            };
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
                        // Awaiting here is the back-pressure: a full channel stalls this peer's
                        // stream (and through QUIC flow control its sender), no one else's.
                        if self.inbound.send(Inbound { from, bytes }).await.is_err() {
                            return Stop::NodeGone;
                        }
                    }
                    Ok(None) => break,
                    Err(error) if error.is_violation() => {
                        tracing::error!(
                            peer = %from.short(),
                            %error,
                            "closing the connection: the peer broke the consensus framing"
                        );
                        connection.close(error.close_code(), b"bad frame");
                        return Stop::Gone;
                    }
                    // A reset stream or a lost connection: if the connection is still up the
                    // peer may open another stream.
                    Err(error) => {
                        tracing::debug!(peer = %from.short(), %error, "stream ended");
                        break;
                    }
                }
            }
        }
    }
}
