#![doc = include_str!("../README.md")]

pub mod canonical;
pub mod core_harness;
pub mod node_types;
pub mod pick;
