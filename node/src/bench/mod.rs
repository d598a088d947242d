//! Benchmarks behind `bfte bench`. They live in the library, beside the code they measure,
//! so that each harness can be reused by tests and by later benchmarks.

mod bus;
mod cluster;
pub mod core;
pub mod net;
mod ports;
pub mod replicate;
pub mod synthetic;
mod tally;

pub use self::core::{CoreBenchError, CoreBenchReport, Workload, run_core_bench};
