//! Rounds and heights.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Simplex round. Round 0 belongs to the genesis block; voting starts at round 1.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Round(pub u64);

/// A block's distance from genesis (height 0) in the chain.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Height(pub u64);

impl Round {
    pub fn next(self) -> Round {
        Round(self.0.saturating_add(1))
    }
}

impl Height {
    pub fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
