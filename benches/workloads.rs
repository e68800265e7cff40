//! The six benchmark workloads (W0-W5) run on corosim (`Random` and `Strategy::pct(3)`,
//! trace recorded), on tokio's `current_thread` runtime with a paused clock, and on a
//! bare single-threaded executor (`futures::executor::LocalPool` with `tokio::sync`)
//! where the workload needs no timer.
//!
//! Every iteration builds a fresh runtime (a fresh seed for corosim): that is the unit
//! of work of a seed sweep, so tokio pays its runtime construction in every iteration
//! too. See `benches/RESULTS.md` for the numbers and how to reproduce them.

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use sim::Strategy;

#[path = "shared/same_code.rs"]
mod same_code;
use same_code::*;

// ---------------------------------------------------------------------------------------
// Runtimes
// ---------------------------------------------------------------------------------------

/// A fresh corosim runtime per call, with the next seed from `seed`.
fn run_sim<F: Future>(seed: &Cell<u64>, strategy: &Strategy, fut: F) -> F::Output {
    let s = seed.get() + 1;
    seed.set(s);
    let mut rt = sim::Builder::new()
        .seed(s)
        .strategy(strategy.clone())
        .max_steps(50_000_000)
        .build();
    let out = rt.block_on(fut).unwrap();
    black_box(rt.trace().len());
    out
}

/// A fresh tokio `current_thread` runtime with a paused clock per call.
fn run_tokio<F: Future>(fut: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(fut)
}

/// A fresh `LocalPool` per call; `body` gets a spawner.
fn run_bare<F, Fut>(body: F) -> Fut::Output
where
    F: FnOnce(futures::executor::LocalSpawner) -> Fut,
    Fut: Future,
{
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    pool.run_until(body(spawner))
}

/// `yield_now` for the bare executor: wake self, return `Pending` once.
struct BareYield(bool);

impl Future for BareYield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The corosim configurations measured: the default (a strategy per seed), and two of
/// the strategies it mixes.
const STRATEGIES: [(&str, Strategy); 3] = [
    ("corosim_default", Strategy::Portfolio),
    ("corosim_random", Strategy::Random),
    ("corosim_pct3", Strategy::pct(3)),
];

fn heavy(group: &mut BenchmarkGroup<'_, WallTime>, secs: u64) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(secs));
}

// ---------------------------------------------------------------------------------------
// W0: empty run
// ---------------------------------------------------------------------------------------

fn w0_empty(c: &mut Criterion) {
    let mut group = c.benchmark_group("w0_empty");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| b.iter(|| run_sim(&seed, &strategy, async {})));
    }
    group.bench_function("tokio_paused", |b| b.iter(|| run_tokio(async {})));
    group.bench_function("bare_localpool", |b| b.iter(|| run_bare(|_| async {})));
    group.finish();
}

// ---------------------------------------------------------------------------------------
// W1: 4 producers x 1,000 messages, one bounded(16) channel, one consumer
// ---------------------------------------------------------------------------------------

fn w1_producer_consumer(c: &mut Criterion) {
    let mut group = c.benchmark_group("w1_producer_consumer");
    heavy(&mut group, 3);
    group.throughput(Throughput::Elements(W1_MESSAGES));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| {
            b.iter(|| run_sim(&seed, &strategy, same_code::on_sim::w1()))
        });
    }
    group.bench_function("tokio_paused", |b| {
        b.iter(|| run_tokio(same_code::on_tokio::w1()))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// W2: ping-pong through two bounded(1) channels, 100,000 round trips
// ---------------------------------------------------------------------------------------

/// W2 for the bare executor (a closure is not generic: the two futures are boxed, two
/// allocations a run); corosim and tokio run `same_code`'s `w2`.
macro_rules! w2_body {
    ($chan:path, $spawn:expr) => {{
        let (ping_tx, mut ping_rx) = $chan(1);
        let (pong_tx, mut pong_rx) = $chan(1);
        let a = $spawn(Box::pin(async move {
            for i in 0..W2_ROUND_TRIPS {
                ping_tx.send(i).await.unwrap();
                let v: u64 = pong_rx.recv().await.unwrap();
                assert_eq!(v, i + 1);
            }
        }));
        let b = $spawn(Box::pin(async move {
            while let Some(v) = ping_rx.recv().await {
                let v: u64 = v;
                pong_tx.send(v + 1).await.unwrap();
            }
        }));
        (a, b)
    }};
}

fn w2_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("w2_ping_pong");
    heavy(&mut group, 4);
    group.throughput(Throughput::Elements(W2_ROUND_TRIPS));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| {
            b.iter(|| run_sim(&seed, &strategy, same_code::on_sim::w2()))
        });
    }
    group.bench_function("tokio_paused", |b| {
        b.iter(|| run_tokio(same_code::on_tokio::w2()))
    });
    group.bench_function("bare_localpool", |b| {
        b.iter(|| {
            run_bare(|sp| async move {
                let spawn =
                    |f: Pin<Box<dyn Future<Output = ()>>>| sp.spawn_local_with_handle(f).unwrap();
                let (a, b) = w2_body!(tokio::sync::mpsc::channel::<u64>, spawn);
                a.await;
                b.await;
            })
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// W3: 10,000 tasks x 10 sleeps of 1..1000 ms (fixed xorshift per task index)
// ---------------------------------------------------------------------------------------

fn w3_timers(c: &mut Criterion) {
    let end = w3_virtual_end();
    // Sanity: both runtimes end at the same virtual instant.
    {
        let mut rt = sim::Builder::new().max_steps(50_000_000).build();
        let t = rt
            .block_on(async {
                same_code::on_sim::w3().await;
                sim::time::Instant::now().since_start()
            })
            .unwrap();
        assert_eq!(t, end);
        let t = run_tokio(async {
            let start = tokio::time::Instant::now();
            same_code::on_tokio::w3().await;
            start.elapsed()
        });
        assert!(t >= end && t < end + Duration::from_millis(10), "{t:?}");
    }
    println!(
        "w3_timers: each run simulates {:.3} s of virtual time",
        end.as_secs_f64()
    );
    let mut group = c.benchmark_group("w3_timers");
    heavy(&mut group, 5);
    group.throughput(Throughput::Elements(W3_TASKS * W3_SLEEPS));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| {
            b.iter(|| run_sim(&seed, &strategy, same_code::on_sim::w3()))
        });
    }
    group.bench_function("tokio_paused", |b| {
        b.iter(|| run_tokio(same_code::on_tokio::w3()))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// W4: spawn 100,000 tasks that yield once and return a value; join and sum
// ---------------------------------------------------------------------------------------

async fn w4_bare(sp: futures::executor::LocalSpawner) -> u64 {
    let tasks: Vec<_> = (0..W4_TASKS)
        .map(|i| {
            sp.spawn_local_with_handle(async move {
                BareYield(false).await;
                i
            })
            .unwrap()
        })
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await;
    }
    assert_eq!(sum, W4_SUM);
    sum
}

fn w4_spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("w4_spawn");
    heavy(&mut group, 4);
    group.throughput(Throughput::Elements(W4_TASKS));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| {
            b.iter(|| run_sim(&seed, &strategy, same_code::on_sim::w4()))
        });
    }
    group.bench_function("tokio_paused", |b| {
        b.iter(|| run_tokio(same_code::on_tokio::w4()))
    });
    group.bench_function("bare_localpool", |b| b.iter(|| run_bare(w4_bare)));
    group.finish();
}

// ---------------------------------------------------------------------------------------
// W5: 100 tasks x 100 locks of one async mutex, yielding while holding it
// ---------------------------------------------------------------------------------------

async fn w5_bare(sp: futures::executor::LocalSpawner) {
    let m = Rc::new(tokio::sync::Mutex::new(0u64));
    let tasks: Vec<_> = (0..W5_TASKS)
        .map(|_| {
            let m = m.clone();
            sp.spawn_local_with_handle(async move {
                for _ in 0..W5_LOCKS {
                    let mut g = m.lock().await;
                    let v = *g;
                    BareYield(false).await;
                    *g = v + 1;
                }
            })
            .unwrap()
        })
        .collect();
    for t in tasks {
        t.await;
    }
    assert_eq!(*m.lock().await, W5_TASKS * W5_LOCKS);
}

fn w5_mutex(c: &mut Criterion) {
    let mut group = c.benchmark_group("w5_mutex");
    heavy(&mut group, 3);
    group.throughput(Throughput::Elements(W5_TASKS * W5_LOCKS));
    for (id, strategy) in STRATEGIES {
        let seed = Cell::new(0);
        group.bench_function(id, |b| {
            b.iter(|| run_sim(&seed, &strategy, same_code::on_sim::w5()))
        });
    }
    group.bench_function("tokio_paused", |b| {
        b.iter(|| run_tokio(same_code::on_tokio::w5()))
    });
    group.bench_function("bare_localpool", |b| b.iter(|| run_bare(w5_bare)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = w0_empty, w1_producer_consumer, w2_ping_pong, w3_timers, w4_spawn, w5_mutex
}
criterion_main!(benches);
