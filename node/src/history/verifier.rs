//! The chain verifier: whether a finalized chain extends the verified tip under one epoch. The
//! rule is the consensus core's (`FinalizedChain::verify_above`), plus the check that every
//! block commits to this epoch's configuration.

use std::sync::Arc;

use bfte_shared::chain::ChainTip;
use bfte_shared::crypto::Verifier;
use bfte_shared::federation::{FederationId, PeerSet};
use bfte_shared::hash::Hash;
use bfte_shared::message::FinalizedChain;
use bfte_shared::modules::ctrl::EpochConfig;

use super::error::HistoryError;

#[derive(Debug, Clone)]
pub struct ChainVerifier {
    epoch: EpochConfig,
    peers: PeerSet,
    /// What the epoch's votes are signed over.
    domain: FederationId,
    config_hash: Hash,
    tip: ChainTip,
    verifier: Arc<dyn Verifier>,
}

impl ChainVerifier {
    /// Verifies chains of `federation` under `epoch`, from `tip` (a block the caller verified,
    /// at or above the epoch's start block).
    pub fn new(
        federation: &FederationId,
        epoch: EpochConfig,
        tip: ChainTip,
        verifier: Arc<dyn Verifier>,
    ) -> Result<ChainVerifier, HistoryError> {
        let invalid = |source| HistoryError::InvalidPeerSet {
            epoch: epoch.number,
            source,
        };
        let (peers, config_hash) = epoch.peers_and_config_hash().map_err(invalid)?;
        Ok(ChainVerifier {
            domain: epoch.signing_domain(federation),
            epoch,
            peers,
            config_hash,
            tip,
            verifier,
        })
    }

    pub fn epoch(&self) -> &EpochConfig {
        &self.epoch
    }

    pub fn peers(&self) -> &PeerSet {
        &self.peers
    }

    pub fn tip(&self) -> ChainTip {
        self.tip
    }

    /// The part of `chain` above the tip, if all of it is final under this epoch; the tip
    /// moves only through [`ChainVerifier::advance`], once the caller kept what it verified.
    pub fn verify(&self, chain: FinalizedChain) -> Result<FinalizedChain, HistoryError> {
        for block in chain
            .blocks
            .iter()
            .filter(|b| b.header.height > self.tip.height)
        {
            if block.header.config_hash != self.config_hash {
                return Err(HistoryError::WrongConfig {
                    height: block.header.height,
                    epoch: self.epoch.number,
                    expected: self.config_hash,
                    found: block.header.config_hash,
                });
            }
        }
        Ok(chain.verify_above(&self.tip, &self.domain, &self.peers, self.verifier.as_ref())?)
    }

    /// Moves the tip to the last block of a chain [`ChainVerifier::verify`] accepted.
    pub fn advance(&mut self, verified: &FinalizedChain) {
        if let Some(last) = verified.blocks.last() {
            self.tip = ChainTip::of(last);
        }
    }
}
