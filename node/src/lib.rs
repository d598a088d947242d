#![doc = include_str!("../README.md")]

pub mod bench;
pub mod chaos;
pub mod daemon;
pub mod driver;
pub mod history;
pub mod ledger;
pub mod metrics;
pub mod modules;
pub mod net;
pub mod replica;
pub mod sim;
pub mod store;
