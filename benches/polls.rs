//! Raw executor speed: the fixed cost of a run, and trivial task polls per second.
//! (The full five-workload comparison with tokio is the benchmarks issue's.)

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::{Builder, Strategy};

const YIELDS: u64 = 10_000;

fn empty_run(c: &mut Criterion) {
    let mut seed = 0;
    c.bench_function("empty_run/random", |b| {
        b.iter(|| {
            seed += 1;
            let mut rt = Builder::new().seed(seed).build();
            rt.block_on(async {}).unwrap();
            black_box(rt.trace().len())
        })
    });
}

fn trivial_polls(c: &mut Criterion) {
    let mut group = c.benchmark_group("trivial_polls");
    // 10 tasks each yielding 1,000 times: one poll per yield, plus the joins.
    group.throughput(Throughput::Elements(YIELDS));
    for (name, strategy) in [
        ("random", Strategy::Random),
        ("pct3", Strategy::pct(3)),
        ("round_robin", Strategy::RoundRobin),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut rt = Builder::new().seed(1).strategy(strategy.clone()).build();
                rt.block_on(async {
                    let hs: Vec<_> = (0..10)
                        .map(|_| {
                            sim::spawn(async {
                                for _ in 0..YIELDS / 10 {
                                    sim::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
                .unwrap();
                black_box(rt.schedule().len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, empty_run, trivial_polls);
criterion_main!(benches);
