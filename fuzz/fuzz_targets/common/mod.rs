//! What the scenario targets share: running a variant on libFuzzer's bytes, and
//! turning the run's interleaving coverage into code coverage libFuzzer sees.
//!
//! libFuzzer keeps an input when it covers new code edges (or new hit-count buckets
//! of an edge). Interleavings of the same code cover the same edges, so each run's
//! interleaving features ([`sim::coverage::Coverage`]) are hashed into [`SLOTS`] slots
//! (`Coverage::add_to_counters`), and slot `k` hit `c` times calls the `k`-th of
//! [`SLOTS`] distinct, never-inlined functions `c` times: each is an edge of its own
//! under `-Cpasses=sancov`, so libFuzzer's corpus grows with schedule novelty. (Its
//! extra-counters section, `__libfuzzer_extra_counters`, would take a
//! `#[unsafe(link_section)]` static: the project adds no `unsafe`.)

use std::time::Duration;

use scenarios::{DEFAULT_MAX_TIME, Entry, Expect};

/// The number of coverage slots (16 × 16 functions).
pub const SLOTS: usize = 256;

/// Runs `entry` on `data` (`Entry::run_input`: the first byte chooses its
/// configuration, the rest drives its run) and reports the run's interleaving
/// coverage to libFuzzer; returns the run's result.
pub fn run(entry: &Entry, data: &[u8]) -> Result<(), sim::Failure> {
    let (result, observed) = entry.run_input(data, max_time());
    let mut counters = [0u8; SLOTS];
    observed.coverage.add_to_counters(&mut counters);
    for (slot, &hits) in counters.iter().enumerate() {
        for _ in 0..hits {
            edge(slot);
        }
    }
    result
}

/// The virtual-time bound of each run: the scenario library's default.
fn max_time() -> Duration {
    DEFAULT_MAX_TIME
}

/// How to replay `data` on `entry` outside libFuzzer, for a panic message.
pub fn replay_hint(entry: &Entry, data: &[u8]) -> String {
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "replay: printf '{hex}' | xxd -r -p > input.bin && corosim replay {} --bytes input.bin",
        entry.id()
    )
}

/// Whether `entry` is a correct variant.
pub fn is_correct(entry: &Entry) -> bool {
    entry.expect == Expect::Pass
}

/// Calls the `slot`-th edge function.
fn edge(slot: usize) {
    macro_rules! low {
        ($hi:literal, $lo:expr) => {
            match $lo {
                0 => leaf::<$hi, 0>(),
                1 => leaf::<$hi, 1>(),
                2 => leaf::<$hi, 2>(),
                3 => leaf::<$hi, 3>(),
                4 => leaf::<$hi, 4>(),
                5 => leaf::<$hi, 5>(),
                6 => leaf::<$hi, 6>(),
                7 => leaf::<$hi, 7>(),
                8 => leaf::<$hi, 8>(),
                9 => leaf::<$hi, 9>(),
                10 => leaf::<$hi, 10>(),
                11 => leaf::<$hi, 11>(),
                12 => leaf::<$hi, 12>(),
                13 => leaf::<$hi, 13>(),
                14 => leaf::<$hi, 14>(),
                _ => leaf::<$hi, 15>(),
            }
        };
    }
    let (hi, lo) = ((slot / 16) % 16, slot % 16);
    match hi {
        0 => low!(0, lo),
        1 => low!(1, lo),
        2 => low!(2, lo),
        3 => low!(3, lo),
        4 => low!(4, lo),
        5 => low!(5, lo),
        6 => low!(6, lo),
        7 => low!(7, lo),
        8 => low!(8, lo),
        9 => low!(9, lo),
        10 => low!(10, lo),
        11 => low!(11, lo),
        12 => low!(12, lo),
        13 => low!(13, lo),
        14 => low!(14, lo),
        _ => low!(15, lo),
    }
}

/// One coverage slot: a function of its own (never inlined, never merged with
/// another: each returns its own number).
#[inline(never)]
fn leaf<const HI: usize, const LO: usize>() {
    std::hint::black_box(HI * 16 + LO);
}
