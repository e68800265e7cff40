//! One network workload of `benches/net.rs` (W6 or W7) on one simulator, in a process
//! of its own: for instruction counts under `valgrind --tool=callgrind` (exact for a
//! given binary, whatever else the machine does).
//!
//! ```text
//! cargo build --release --example net_workload
//! valgrind --tool=callgrind target/release/examples/net_workload w6 corosim 1
//! valgrind --tool=callgrind target/release/examples/net_workload w6 turmoil 1
//! RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo build --release --example net_workload
//! valgrind --tool=callgrind target/madsim/release/examples/net_workload w6 madsim 1
//! ```
//!
//! Arguments: the workload (`w6`, `w7`), the simulator (`corosim`, `turmoil`, and with
//! `--cfg madsim` also `madsim`), the number of runs (seeds 1..=n). Prints the units
//! of work done and the wall time per run.

#[path = "../benches/shared/net_code.rs"]
mod net_code;

use std::cell::Cell;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: net_workload w6|w7 corosim|turmoil|madsim RUNS";
    let (workload, simulator) = (
        args.get(1).expect(usage).as_str(),
        args.get(2).expect(usage).as_str(),
    );
    let runs: u64 = args.get(3).map_or(1, |n| n.parse().expect(usage));
    let seed = Cell::new(0);
    let start = std::time::Instant::now();
    let mut units = 0;
    for _ in 0..runs {
        units += match (workload, simulator) {
            ("w6", "corosim") => net_code::corosim::w6(&seed),
            ("w7", "corosim") => net_code::corosim::w7(&seed),
            ("w6", "turmoil") => net_code::on_turmoil::w6(&seed),
            ("w7", "turmoil") => net_code::on_turmoil::w7(&seed),
            #[cfg(madsim)]
            ("w6", "madsim") => net_code::on_madsim::w6(&seed),
            #[cfg(madsim)]
            ("w7", "madsim") => net_code::on_madsim::w7(&seed),
            _ => panic!("{usage} (madsim needs RUSTFLAGS=\"--cfg madsim\")"),
        };
    }
    println!(
        "{workload} {simulator}: {units} units in {runs} run(s), {:?} per run",
        start.elapsed() / runs as u32
    );
}
