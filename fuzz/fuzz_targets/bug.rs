//! One buggy variant of the scenario library, chosen by `COROSIM_FUZZ_VARIANT`
//! (`scenario/variant`, default `pipeline/bounded-feedback`), under schedules and
//! configurations from libFuzzer's bytes (`Entry::run_input`). Finding the bug (a
//! failure of the expected kind) is the crash: the time libFuzzer takes to its first
//! crash is its time to the bug. A failure of another kind is a crash too, with a
//! report saying so. libFuzzer also sees each run's interleaving coverage (see
//! `common`).
#![no_main]

mod common;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scenarios::{Entry, Expect, registry};

/// The variant fuzzed.
static ENTRY: LazyLock<&'static Entry> = LazyLock::new(|| {
    let id = std::env::var("COROSIM_FUZZ_VARIANT")
        .unwrap_or_else(|_| "pipeline/bounded-feedback".to_string());
    let entry = registry()
        .iter()
        .find(|e| e.id() == id)
        .unwrap_or_else(|| panic!("COROSIM_FUZZ_VARIANT={id:?}: no such scenario/variant"));
    assert!(
        !common::is_correct(entry),
        "COROSIM_FUZZ_VARIANT={id:?} is a correct variant: the `correct` target fuzzes those"
    );
    entry
});

fuzz_target!(|data: &[u8]| {
    let entry = *ENTRY;
    if let Err(failure) = common::run(entry, data) {
        let what = if entry.expect == Expect::Catch(failure.kind()) {
            "found the bug of"
        } else {
            "an unexpected kind of failure in"
        };
        panic!(
            "{what} {} ({}):\n{failure}\n{}",
            entry.id(),
            entry.expect.label(),
            common::replay_hint(entry, data)
        );
    }
});
