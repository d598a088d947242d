//! Whom the network dials in an epoch; the switch itself is the driver step's
//! (`crate::driver::Step`).

use std::collections::HashMap;
use std::net::SocketAddr;

use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;

/// Whom the network dials in `epoch`: every member but this node, at the addresses the genesis
/// file gives for founders or the ones recorded when the member was added.
pub(super) fn dial_list(
    epoch: &EpochConfig,
    founder_addrs: &HashMap<PeerId, Vec<SocketAddr>>,
    me: &PeerId,
) -> Vec<(PeerId, Vec<SocketAddr>)> {
    epoch
        .members
        .iter()
        .filter(|m| m.id != *me)
        .map(|m| {
            let recorded = m.addrs.iter().filter_map(|a| a.parse::<SocketAddr>().ok());
            let mut addrs: Vec<SocketAddr> = founder_addrs.get(&m.id).cloned().unwrap_or_default();
            addrs.extend(recorded);
            addrs.dedup();
            (m.id, addrs)
        })
        .collect()
}
