//! The node process: its data directory, the driver loop that connects the consensus core to
//! the database and the network, and the admin socket.

pub mod admin;
mod admin_calls;
mod admin_reads;
mod backup_call;
mod clock;
mod driver;
mod epochs;
pub mod events;
pub mod files;
mod finality;
mod joins;
mod log_tap;
pub mod node;
mod replica_admin;
mod replica_node;

pub use clock::wall_ms;
pub use files::{DataDir, GenesisFile, GenesisPeer, NodeSettings, write_atomically};
pub use log_tap::LogTap;
pub use node::{RunOptions, run};
pub use replica_node::{ReplicaOptions, replicate};
