//! Peak memory of workload W4 (spawn 100,000 tasks that each yield once and return a
//! value; join all and sum) on one runtime, for `benches/RESULTS.md`.
//!
//! ```text
//! cargo run --release --example w4_memory -- corosim
//! cargo run --release --example w4_memory -- tokio
//! ```
//!
//! Prints the process's VmHWM (peak resident set) from `/proc/self/status` before and
//! after the run; run each runtime in its own process.

use std::time::Instant;

#[path = "../benches/shared/same_code.rs"]
#[allow(dead_code)] // The example runs only W4.
mod same_code;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn corosim() -> u64 {
    let mut rt = sim::Builder::new().seed(1).max_steps(50_000_000).build();
    let sum = rt.block_on(same_code::on_sim::w4()).unwrap();
    println!("trace events: {}", rt.trace().len());
    sum
}

fn tokio() -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(same_code::on_tokio::w4())
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let before = vm_hwm_kib();
    let start = Instant::now();
    let sum = match which.as_str() {
        "corosim" => corosim(),
        "tokio" => tokio(),
        other => {
            eprintln!("usage: w4_memory corosim|tokio (got {other:?})");
            std::process::exit(2);
        }
    };
    let elapsed = start.elapsed();
    assert_eq!(sum, same_code::W4_SUM);
    let after = vm_hwm_kib();
    println!("runtime: {which}");
    println!("wall: {:.1} ms", elapsed.as_secs_f64() * 1e3);
    println!(
        "VmHWM before: {before} kB ({:.1} MiB)",
        before as f64 / 1024.0
    );
    println!(
        "VmHWM after:  {after} kB ({:.1} MiB)",
        after as f64 / 1024.0
    );
}
