//! One workload of `benches/workloads.rs` on one runtime, in a process of its own: for
//! instruction counts under `valgrind --tool=callgrind` (exact for a given binary,
//! whatever else the machine does) and for a quick look at a run's shape.
//!
//! ```text
//! cargo build --release --example workload
//! valgrind --tool=callgrind target/release/examples/workload w2 random 1
//! target/release/examples/workload w2 portfolio 4   # seeds 1..=4, one run each
//! target/release/examples/workload w2 tokio 1
//! ```
//!
//! Arguments: the workload (`w0`..`w5`), the runtime (`tokio` or a corosim strategy
//! string such as `random`, `pct:3`, `portfolio`), the number of runs (seeds 1..=n).
//! Prints, for corosim, each run's decisions, context switches and trace events.

#[path = "../benches/shared/same_code.rs"]
#[allow(dead_code)] // Only the workloads, not the benchmarks' checks.
mod same_code;

use std::future::Future;

fn on_sim<F: Future<Output = ()>>(strategy: &sim::Strategy, runs: u64, body: impl Fn() -> F) {
    for seed in 1..=runs {
        let mut rt = sim::Builder::new()
            .seed(seed)
            .strategy(strategy.clone())
            .max_steps(50_000_000)
            .build();
        rt.block_on(body()).unwrap();
        println!(
            "seed {seed} {}: {} decisions, {} context switches, {} events",
            rt.strategy(),
            rt.schedule().len(),
            rt.schedule().context_switches(),
            rt.trace().len()
        );
    }
}

fn on_tokio<F: Future<Output = ()>>(runs: u64, body: impl Fn() -> F) {
    for _ in 0..runs {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(body());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: workload w0|w1|w2|w3|w4|w5 tokio|<strategy> [runs]";
    let (Some(w), Some(rt)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let runs: u64 = args.get(2).map_or(1, |n| n.parse().expect(usage));
    macro_rules! dispatch {
        ($($name:literal => $f:ident),*) => {
            match (w.as_str(), rt.as_str()) {
                ("w0", "tokio") => on_tokio(runs, || async {}),
                ("w0", s) => on_sim(&s.parse().expect(usage), runs, || async {}),
                $(
                    ($name, "tokio") => on_tokio(runs, || async { let _ = same_code::on_tokio::$f().await; }),
                    ($name, s) => on_sim(&s.parse().expect(usage), runs, || async { let _ = same_code::on_sim::$f().await; }),
                )*
                _ => {
                    eprintln!("{usage}");
                    std::process::exit(2);
                }
            }
        };
    }
    dispatch!("w1" => w1, "w2" => w2, "w3" => w3, "w4" => w4, "w5" => w5);
}
