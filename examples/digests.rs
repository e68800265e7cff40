//! Trace digests of every scenario variant (and classic bug program) over a few seeds
//! and strategies, one line each: diff the output of two commits to show that a
//! change kept every run byte-identical.
//!
//! ```text
//! cargo run --release --example digests > before.txt
//! # ... change the code ...
//! cargo run --release --example digests > after.txt && diff before.txt after.txt
//! ```

use scenarios::classic::{Twin, bugs};
use scenarios::{DEFAULT_MAX_TIME, builder, registry};
use sim::Strategy;

const SEEDS: u64 = 40;

fn main() {
    let strategies = [
        "portfolio",
        "random",
        "pct:3:50",
        "prob:80",
        "pos",
        "round-robin",
    ];
    for s in strategies {
        let strategy: Strategy = s.parse().expect("a strategy");
        for e in registry() {
            for seed in 0..SEEDS {
                let mut rt = builder(seed, &strategy, DEFAULT_MAX_TIME).build();
                let result = e.run_on(&mut rt);
                println!(
                    "{s} {} {seed} {:016x} {} {}",
                    e.id(),
                    rt.trace().digest(),
                    rt.schedule(),
                    result.map_or_else(|f| f.kind().to_string(), |()| "ok".into())
                );
            }
        }
        for b in bugs() {
            for twin in [Twin::Buggy, Twin::Fixed] {
                for seed in 0..SEEDS {
                    let mut rt = builder(seed, &strategy, DEFAULT_MAX_TIME).build();
                    let result = b.run_on(twin, &mut rt);
                    println!(
                        "{s} classic/{}/{} {seed} {:016x} {}",
                        b.name,
                        twin.label(),
                        rt.trace().digest(),
                        result.map_or_else(|f| f.kind().to_string(), |()| "ok".into())
                    );
                }
            }
        }
    }
}
