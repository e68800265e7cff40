//! The network workloads, on corosim beside turmoil and (built with
//! `RUSTFLAGS="--cfg madsim"`) madsim, in the same run:
//!
//! - **W6**: 100 clients × 100 echo round trips of 64 bytes over TCP, one server host,
//!   link latency 1-5 ms (per round trip).
//! - **W7**: 100 rounds of 100 datagrams of 64 bytes over UDP from one host to another
//!   through a lossy link (10% loss, latency 1-5 ms), one round per millisecond (per
//!   datagram sent).
//!
//! Every iteration builds a fresh simulation (a fresh seed): the unit of work of a
//! seed sweep. turmoil has no per-message loss: its W7 link fails with probability
//! 0.001 per message instead, dropping what it has in flight (about 8% of the
//! datagrams, near the others' 10%). W7 is per datagram sent. See `benches/RESULTS.md`.

use std::cell::Cell;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

#[path = "shared/net_code.rs"]
mod net_code;
use net_code::*;

fn w6_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("w6_tcp_echo");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements((W6_CLIENTS * W6_ROUNDS) as u64));
    let seed = Cell::new(0);
    group.bench_function("corosim", |b| {
        b.iter(|| assert_eq!(corosim::w6(&seed), W6_CLIENTS * W6_ROUNDS))
    });
    group.bench_function("turmoil", |b| {
        b.iter(|| assert_eq!(on_turmoil::w6(&seed), W6_CLIENTS * W6_ROUNDS))
    });
    #[cfg(madsim)]
    group.bench_function("madsim", |b| {
        b.iter(|| assert_eq!(on_madsim::w6(&seed), W6_CLIENTS * W6_ROUNDS))
    });
    group.finish();
}

fn w7_udp(c: &mut Criterion) {
    let mut group = c.benchmark_group("w7_udp_lossy");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements((W7_ROUNDS * W7_BURST) as u64));
    let seed = Cell::new(0);
    let sent = W7_ROUNDS * W7_BURST;
    let lossy = |got: usize| assert!(got > sent / 2 && got < sent, "{got} of {sent} arrived");
    group.bench_function("corosim", |b| b.iter(|| lossy(corosim::w7(&seed))));
    group.bench_function("turmoil", |b| b.iter(|| lossy(on_turmoil::w7(&seed))));
    #[cfg(madsim)]
    group.bench_function("madsim", |b| b.iter(|| lossy(on_madsim::w7(&seed))));
    group.finish();
}

criterion_group!(benches, w6_echo, w7_udp);
criterion_main!(benches);
