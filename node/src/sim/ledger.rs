//! The simulator's stand-in for the ledger: a state root that is a deterministic function of
//! the finalized chain, as the real ledger's root over module state is. Peers apply finalized
//! blocks after a random delay, so voters meet commitments to states they have not reached.

use bfte_shared::block::Block;
use bfte_shared::hash::Hash;

/// The state root after applying `block` to the state whose root is `previous`.
pub fn model_root(previous: &Hash, block: &Block) -> Hash {
    let mut bytes = previous.0.to_vec();
    bytes.extend_from_slice(&block.hash().0);
    Hash::tagged(b"bfte/sim/state-root\0", &bytes)
}

/// The root after the genesis block: the state every peer starts from.
pub fn genesis_root(genesis: &Block) -> Hash {
    model_root(&Hash::ZERO, genesis)
}
