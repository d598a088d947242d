#![doc = include_str!("../README.md")]

mod bytes;

pub mod admin;
pub mod block;
pub mod certificate;
pub mod chain;
pub mod codec;
pub mod crypto;
pub mod federation;
pub mod hash;
pub mod item;
pub mod join;
pub mod ledger;
pub mod message;
pub mod modules;
pub mod peer;
pub mod round;
pub mod vote;

#[cfg(test)]
mod tests;
