//! What a driver keeps for a restart, as the node's store does (and the simulator's model of
//! it, `node/src/sim/disk.rs`): the finalized tip and nonces, and what the core persisted
//! above the tip's round.

use std::collections::BTreeMap;

use bfte_consensus::{Durable, Output, Restored};
use bfte_shared::block::Block;
use bfte_shared::certificate::Certificate;
use bfte_shared::item::ConsensusItem;
use bfte_shared::peer::PeerId;
use bfte_shared::vote::Vote;

#[derive(Debug)]
pub struct Disk {
    tip: Block,
    tip_finalization: Option<Certificate>,
    nonces: BTreeMap<PeerId, u64>,
    votes: Vec<Vote>,
    own_items: Vec<ConsensusItem>,
    certificates: Vec<Certificate>,
    blocks: Vec<Block>,
}

impl Disk {
    pub fn new(genesis: Block) -> Disk {
        Disk {
            tip: genesis,
            tip_finalization: None,
            nonces: BTreeMap::new(),
            votes: Vec::new(),
            own_items: Vec::new(),
            certificates: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// Writes an output as the store commits one (the checker has already vetted it).
    pub fn write(&mut self, output: &Output) {
        for finalized in &output.finalized {
            self.tip_finalization = Some(finalized.certificate.clone());
        }
        for block in output.finalized.iter().flat_map(|f| &f.blocks) {
            for item in &block.payload.items {
                let nonce = self.nonces.entry(item.author).or_insert(0);
                *nonce = (*nonce).max(item.nonce);
            }
            self.tip = block.clone();
        }
        for durable in &output.persist {
            match durable {
                Durable::Vote(vote) => self.votes.push(vote.clone()),
                Durable::OwnItem(item) => self.own_items.push(item.clone()),
                Durable::Certificate(certificate) => self.certificates.push(certificate.clone()),
                Durable::Block(block) => self.blocks.push(block.clone()),
            }
        }
        let round = self.tip.header.round;
        self.votes.retain(|v| v.round > round);
        self.certificates.retain(|c| c.round > round);
        self.blocks.retain(|b| b.header.round > round);
        let nonces = &self.nonces;
        self.own_items
            .retain(|i| nonces.get(&i.author).is_none_or(|n| i.nonce > *n));
    }

    pub fn restored(&self) -> Restored {
        Restored {
            finalized_tip: self.tip.clone(),
            tip_finalization: self.tip_finalization.clone(),
            finalized_nonces: self.nonces.clone(),
            votes: self.votes.clone(),
            own_items: self.own_items.clone(),
            certificates: self.certificates.clone(),
            blocks: self.blocks.clone(),
        }
    }
}
