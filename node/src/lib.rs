#![doc = include_str!("../README.md")]

pub mod consensus;
pub mod sim;
