//! Moving the node into a new epoch: the ledger passed a change of the peer set or the
//! parameters at some finalized block, so the store drops what the old epoch finalized above
//! it, a fresh core starts from that block under the new configuration, and the network dials
//! the new peer set.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context;
use bfte_shared::admin::AdminEvent;
use bfte_shared::modules::ctrl::EpochConfig;
use bfte_shared::peer::PeerId;

use super::driver::Driver;
use bfte_consensus::Core;

impl Driver {
    /// Switches the store and the core to `epoch`; the new core's first output joins the
    /// batch being flushed.
    pub(super) fn switch_epoch(&mut self, epoch: EpochConfig) -> anyhow::Result<()> {
        let me = self.core.peer_id();
        self.store
            .switch_epoch(&epoch, &me)
            .context("cannot move the database into the new epoch")?;
        let restored = self
            .store
            .restored()
            .context("cannot reload the consensus state for the new epoch")?;
        let config = self.config.clone().in_epoch(epoch.clone());
        let (core, output) = Core::start(config, restored, self.clock.now())
            .context("cannot start consensus in the new epoch")?;
        self.core = core;
        // The old core's timers mean nothing to the new one.
        self.timers.clear();
        self.pending.push((output, self.core.round()));
        self.tell_recent_roots()?;
        for member in &epoch.members {
            if !member.name.is_empty() {
                self.names.insert(member.id, member.name.clone());
            }
        }
        self.net
            .set_peers(dial_list(&epoch, &self.founder_addrs, &me));
        let role = if self.core.is_voter() {
            "a voter"
        } else {
            "not a peer: following only"
        };
        tracing::info!(epoch = epoch.number, from = %epoch.start_height, peers = epoch.members.len(), "new epoch; this node is {role}");
        self.observer.hub().publish(AdminEvent::EpochStarted {
            number: epoch.number,
            height: epoch.start_height,
            peers: u32::try_from(epoch.members.len()).unwrap_or(u32::MAX),
        });
        Ok(())
    }
}

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
