//! Helpers shared by the integration tests, so an API change touches these, not every
//! test. Each test file uses the ones it needs.
#![allow(dead_code)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sim::time::sleep;
use sim::{Builder, Check, Strategy};

/// The strategies every sweep covers.
pub fn strategies() -> [Strategy; 3] {
    [Strategy::Random, Strategy::pct(3), Strategy::RoundRobin]
}

/// Every seed of `0..seeds` passes under every strategy (a detector stays silent).
pub fn assert_silent<F, Fut>(seeds: u64, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for strategy in strategies() {
        let report = Check::new()
            .seeds(seeds)
            .strategy(strategy)
            .no_regressions()
            .try_run(&body)
            .unwrap();
        assert_eq!(report.runs, seeds);
    }
}

/// Runs `f()` for seeds `0..seeds` under each strategy; every run must succeed. The
/// first ten seeds run twice and must give the same trace (determinism).
pub fn sweep<Fut: Future<Output = ()>>(seeds: u64, f: impl Fn() -> Fut) {
    for strategy in strategies() {
        for seed in 0..seeds {
            let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
            if let Err(failure) = rt.block_on(f()) {
                panic!("seed {seed} under {strategy:?} failed:\n{failure}");
            }
            if seed < 10 {
                let mut again = Builder::new().seed(seed).strategy(strategy.clone()).build();
                again.block_on(f()).unwrap();
                let same = rt.trace().digest() == again.trace().digest();
                assert!(same, "seed {seed} under {strategy:?} is not deterministic");
            }
        }
    }
}

/// Like `timeout`, but the deadline wins when both are ready at once, so a future
/// that was just handed a permit, a lock or an item is dropped without taking it.
pub async fn impatient<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    use futures::FutureExt;
    let mut f = std::pin::pin!(f.fuse());
    let mut deadline = std::pin::pin!(sleep(d).fuse());
    futures::select_biased! {
        _ = deadline => None,
        v = f => Some(v),
    }
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A value derived from the run's seeded RNG, for varied timeouts.
pub fn pick(n: u64) -> u64 {
    sim::rand::random::<u64>() % n
}

/// Runs `f` in a run with seed 1; its output.
pub fn run<F: Future>(f: F) -> F::Output {
    Builder::new().seed(1).build().block_on(f).unwrap()
}

/// The message of a panic of `f`.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Polls `f` once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// Two tasks add one to a counter under a lock (in one acquisition when `atomic`,
/// else read and write in two: an update can be lost), while the main task waits for
/// both in a `yield_now` loop and then checks the sum.
pub async fn counted_behind_a_spin_wait(atomic: bool) {
    let done = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = std::rc::Rc::new(sim::sync::Mutex::new(0u32));
    for _ in 0..2 {
        let (done, counter) = (done.clone(), counter.clone());
        sim::spawn(async move {
            if atomic {
                *counter.lock().await += 1;
            } else {
                let seen = *counter.lock().await;
                *counter.lock().await = seen + 1;
            }
            done.set(done.get() + 1);
        });
    }
    while done.get() < 2 {
        sim::task::yield_now().await;
    }
    assert_eq!(*counter.lock().await, 2, "an update was lost");
}
