//! How a peer is dialed by its key: its direct addresses, plus the federation's own relay when
//! the endpoint uses one.
//!
//! With n0's relays, iroh finds a peer's home relay by its id through DNS address lookup. A
//! federation's own relay has no such lookup, so the dialer names the relay itself: every node
//! of the federation uses the same one, so it is the peer's home relay too. That is what lets a
//! replica behind NAT, knowing only private addresses it cannot reach, come up relayed and then
//! move to a direct path once hole punching succeeds.

use std::net::SocketAddr;

use bfte_shared::modules::ctrl::Member;
use iroh::{Endpoint, EndpointAddr, EndpointId, KeyParsingError, RelayUrl};

use super::endpoint_id;

/// An endpoint and the relay to name when dialing peers through it.
#[derive(Debug, Clone)]
pub struct Dialer {
    endpoint: Endpoint,
    relay: Option<RelayUrl>,
}

impl Dialer {
    /// `relay` is the federation's own relay the endpoint is configured with, if any.
    pub fn new(endpoint: Endpoint, relay: Option<RelayUrl>) -> Dialer {
        Dialer { endpoint, relay }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Where to reach `id`: at `addrs`, and through our relay.
    pub fn target(
        &self,
        id: EndpointId,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> EndpointAddr {
        let target = addrs
            .into_iter()
            .fold(EndpointAddr::new(id), EndpointAddr::with_ip_addr);
        match &self.relay {
            Some(relay) => target.with_relay_url(relay.clone()),
            None => target,
        }
    }

    /// Where to reach a member: at its addresses that parse as `ip:port`, and through our relay.
    /// Fails if its id is not an ed25519 key.
    pub fn member_target(&self, member: &Member) -> Result<EndpointAddr, KeyParsingError> {
        let id = endpoint_id(&member.id)?;
        let addrs = member
            .addrs
            .iter()
            .filter_map(|addr| addr.parse::<SocketAddr>().ok());
        Ok(self.target(id, addrs))
    }
}
