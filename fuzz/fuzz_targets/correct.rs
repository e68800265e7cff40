//! Every correct variant of the scenario library, under schedules and configurations
//! from libFuzzer's bytes: the first byte chooses the variant (modulo their number,
//! in registry order), the rest is the variant's input (`Entry::run_input`: its
//! configuration, then every decision of the run). A correct variant never fails, so
//! any failure is a crash: a bug in the variant or a false report of the simulator.
//! libFuzzer also sees each run's interleaving coverage (see `common`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use scenarios::{Entry, registry};

fuzz_target!(|data: &[u8]| {
    let correct: Vec<&Entry> = registry().iter().filter(|e| common::is_correct(e)).collect();
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let entry = correct[pick as usize % correct.len()];
    if let Err(failure) = common::run(entry, input) {
        panic!(
            "correct variant {} failed:\n{failure}\n{}",
            entry.id(),
            common::replay_hint(entry, input)
        );
    }
});
