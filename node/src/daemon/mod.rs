//! The node process: its data directory, the driver loop that connects the consensus core to
//! the database and the network, and the admin socket.

pub mod admin;
mod admin_calls;
mod clock;
mod driver;
mod epochs;
pub mod events;
pub mod files;
mod finality;
mod joins;
mod log_tap;
pub mod node;

pub use files::{DataDir, GenesisFile, GenesisPeer, NodeSettings};
pub use log_tap::LogTap;
pub use node::{RunOptions, run};
