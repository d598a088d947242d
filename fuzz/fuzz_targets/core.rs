//! The consensus core fed arbitrary sequences of correctly signed messages, timers, client
//! submissions and restarts: it must never panic, sign conflicting votes or proposals, send a
//! vote before persisting it, or finalize blocks that do not extend its finalized chain.

#![no_main]

use bfte_fuzz::core_harness::{Harness, Step};
use libfuzzer_sys::fuzz_target;

/// Steps beyond this are ignored: long inputs add time per execution, not depth.
const MAX_STEPS: usize = 256;

fuzz_target!(|input: (u8, Vec<Step>)| {
    let (me, steps) = input;
    let mut harness = Harness::new(me);
    for step in steps.into_iter().take(MAX_STEPS) {
        harness.run(step);
    }
});
