//! The node's side of a chaos run, compiled only with the `chaos` feature (release builds
//! never turn it on): link faults from a file in the data directory
//! (`crate::net::faults`), and a Byzantine node whose honest core's messages the simulator's
//! behaviours rewrite on their way to the network, signed with the node's real key.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bfte_shared::federation::{FederationId, Genesis};
use bfte_shared::message::Message;
use bfte_shared::peer::{PeerId, PeerSecret};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::byzantine::{BYZANTINE_FILE, behavior, name};
use crate::daemon::DataDir;
use crate::net::faults::{LINK_FAULTS_FILE, watch};
use crate::net::{Lane, Net};
use crate::sim::byzantine::Byzantine;

/// This process's Byzantine behaviour, if it has one: one node per process.
fn byzantine() -> &'static OnceLock<Mutex<(Byzantine, ChaCha8Rng)>> {
    static BYZANTINE: OnceLock<Mutex<(Byzantine, ChaCha8Rng)>> = OnceLock::new();
    &BYZANTINE
}

/// Starts watching the link faults and, if the data directory asks for it, turns Byzantine.
pub fn install(dir: &DataDir, genesis: &Genesis, secret: &PeerSecret) {
    watch(dir.path().join(LINK_FAULTS_FILE));
    let path = dir.path().join(BYZANTINE_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let Some(chosen) = behavior(text.trim()) else {
        tracing::error!(file = %path.display(), "chaos: unknown Byzantine behaviour; staying honest");
        return;
    };
    tracing::warn!(behavior = name(chosen), "chaos: this node is Byzantine");
    let rewriter = Byzantine::new(chosen, Arc::new(secret.clone()), genesis.federation_id());
    let rng = ChaCha8Rng::seed_from_u64(getrandom::u64().unwrap_or(0));
    let _ = byzantine().set(Mutex::new((rewriter, rng)));
}

/// Signs over the epoch the core is in, as the core does.
pub fn follow_domain(domain: FederationId) {
    if let Some(state) = byzantine().get() {
        state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .set_domain(domain);
    }
}

/// Sends the Byzantine rewrite of `message` instead of it; false (send it as it is) for an
/// honest node.
pub fn send_byzantine(net: &Net, to: &[PeerId], message: &Message) -> bool {
    let Some(state) = byzantine().get() else {
        return false;
    };
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let (rewriter, rng) = &mut *state;
    for (targets, bytes) in rewriter.rewrite(rng, (0..to.len()).collect(), message.clone()) {
        let frame = Arc::new(bytes);
        for target in targets {
            net.send(&to[target], Lane::of(message), frame.clone());
        }
    }
    true
}
