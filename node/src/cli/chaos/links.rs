//! Link faults as the nodes see them: each node's file of faulty links in its data directory,
//! rewritten whole (through a rename, so a node never reads half of it) on every change. Only
//! a `bfte` built with the `chaos` feature reads the file.

use std::collections::BTreeMap;

use anyhow::Context as _;
use bfte_node::net::faults::{LINK_FAULTS_FILE, LinkFault, render};
use bfte_shared::peer::PeerId;

use super::nodes::Nodes;

#[derive(Debug)]
pub(super) struct Links {
    /// Per node, its faulty links by the peer at their other end.
    faults: Vec<BTreeMap<PeerId, LinkFault>>,
}

impl Links {
    pub(super) fn new(peers: usize) -> Links {
        Links {
            faults: vec![BTreeMap::new(); peers],
        }
    }

    /// Puts `fault` (or, with `None`, no fault) on the link between `a` and `b`, both ways.
    pub(super) fn set(
        &mut self,
        nodes: &Nodes,
        a: usize,
        b: usize,
        fault: Option<LinkFault>,
    ) -> anyhow::Result<()> {
        for (here, there) in [(a, b), (b, a)] {
            match fault {
                Some(fault) => self.faults[here].insert(nodes.ids[there], fault),
                None => self.faults[here].remove(&nodes.ids[there]),
            };
            let dir = nodes.dirs[here].path();
            let path = dir.join(LINK_FAULTS_FILE);
            let staged = dir.join(format!("{LINK_FAULTS_FILE}.new"));
            std::fs::write(&staged, render(&self.faults[here]))
                .and_then(|()| std::fs::rename(&staged, &path))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}
