//! Primitives shared by runs on several OS threads (statics used by tests that
//! `cargo test` runs in parallel): used one run at a time they stay correct; used by two
//! runs at once, the run that was not first fails with a clear message, never with a
//! false deadlock and never blaming the other run.

use std::sync::{Mutex as StdMutex, OnceLock, mpsc as std_mpsc};
use std::thread;

use sim::sync::{Mutex, Notify, Semaphore, mpsc};
use sim::{Builder, Check, Failure, FailureKind};

static M: Mutex<u64> = Mutex::new(0);
static S: Semaphore = Semaphore::new(2);
static N: Notify = Notify::new();

type Channel = (
    mpsc::UnboundedSender<u64>,
    Mutex<mpsc::UnboundedReceiver<u64>>,
);

static CH: OnceLock<Channel> = OnceLock::new();

fn channel() -> &'static Channel {
    CH.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, Mutex::new(rx))
    })
}

/// A small program over the statics that passes on its own (one run at a time).
async fn body() {
    let (tx, rx) = channel();
    let waiter = sim::spawn(async { N.notified().await });
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            sim::spawn(async move {
                let _permit = S.acquire().await.unwrap();
                *M.lock().await += 1;
                sim::task::yield_now().await;
                tx.send(i).unwrap();
            })
        })
        .collect();
    for _ in 0..3 {
        let got = rx.lock().await.recv().await;
        assert!(got.is_some());
    }
    N.notify_one();
    for t in tasks {
        t.await.unwrap();
    }
    waiter.await.unwrap();
}

/// The failure a run gets for using a primitive another live run owns.
fn is_shared_across_runs(failure: &Failure) -> bool {
    match failure {
        Failure::NonDeterminism(n) => {
            n.cause == sim::NonDeterminismCause::SharedAcrossRuns
                && n.reason.contains("is used by two simulated runs at once")
                && n.reason.contains("--test-threads=1")
        }
        _ => false,
    }
}

/// A sweep over seeds `start..start + seeds`, restarted after each failure: every
/// failure must be the clear one (never a deadlock). Returns how many runs failed.
fn sweep_expecting_only_clear_failures(name: &str, start: u64, seeds: u64) -> u64 {
    let (mut next, end, mut failed) = (start, start + seeds, 0);
    while next < end {
        let outcome = Check::new()
            .name(name)
            .start_seed(next)
            .seeds(end - next)
            .strategy(sim::Strategy::Random)
            .no_regressions()
            .shrink_budget(0)
            .try_run(body);
        match outcome {
            Ok(_) => break,
            Err(f) => {
                assert_ne!(f.failure.kind(), FailureKind::Deadlock, "{f}");
                assert!(is_shared_across_runs(&f.failure), "{f}");
                failed += 1;
                next = f.failure.run().seed + 1;
            }
        }
    }
    failed
}

/// Two sweeps sharing static primitives on two threads at once, 10,000 seeds in all:
/// no deadlock is ever reported (with one registration per primitive flipping between
/// the runs, about a quarter of them reported false deadlocks), and every failure is
/// the one that says the primitive is used by two runs at once.
#[test]
fn parallel_sweeps_over_shared_statics_report_no_false_deadlock() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let a = thread::Builder::new()
        .name("sweep-a".into())
        .spawn(|| sweep_expecting_only_clear_failures("shared_a", 0, 5_000))
        .unwrap();
    let b = thread::Builder::new()
        .name("sweep-b".into())
        .spawn(|| sweep_expecting_only_clear_failures("shared_b", 5_000, 5_000))
        .unwrap();
    let failed = a.join().unwrap() + b.join().unwrap();
    eprintln!("{failed} of 10000 runs used a primitive another run owned at the time");
}

/// Runs on different threads, one after the other (never at once), share the statics
/// cleanly: a finished run's registration, waiters and holders never reach the next.
#[test]
fn sequential_runs_on_different_threads_share_statics_cleanly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let turn = std::sync::Arc::new(StdMutex::new(()));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let turn = turn.clone();
            thread::spawn(move || {
                for seed in 0..300 {
                    let _one_at_a_time = turn.lock().unwrap();
                    let mut rt = Builder::new().seed(t * 1_000 + seed).build();
                    if let Err(f) = rt.block_on(body()) {
                        panic!("seed {seed} on thread {t}:\n{f}");
                    }
                    assert_eq!(rt.trace().resources().len(), 5, "each run registers afresh");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Deterministically: a run that owns a static mutex (holding its guard) is still
/// going on one thread while a sweep on another thread locks the same mutex. The sweep
/// fails at once with the clear message (not a deadlock on a lock held by a task it
/// cannot see), and the owning run is unaffected.
#[test]
fn a_run_using_a_primitive_another_live_run_owns_fails_clearly() {
    static HELD: Mutex<u64> = Mutex::new(0);
    let (entered_tx, entered_rx) = std_mpsc::channel();
    let (resume_tx, resume_rx) = std_mpsc::channel::<()>();
    let owner = thread::Builder::new()
        .name("owner".into())
        .spawn(move || {
            Builder::new().seed(1).build().block_on(async move {
                let mut g = HELD.lock().await;
                entered_tx.send(()).unwrap();
                resume_rx.recv().unwrap(); // Really blocks this run's thread.
                *g += 1;
            })
        })
        .unwrap();
    entered_rx.recv().unwrap();
    let other = Check::new()
        .name("shared_held")
        .seeds(3)
        .no_regressions()
        .shrink_budget(0)
        .try_run(|| async {
            let t = sim::spawn(async { *HELD.lock().await += 10 });
            t.await.unwrap();
        })
        .unwrap_err();
    resume_tx.send(()).unwrap();
    owner.join().unwrap().unwrap();
    assert!(is_shared_across_runs(&other.failure), "{other}");
    let message = other.failure.to_string();
    assert!(
        message.contains("`owner`") && message.contains("sim::sync::Mutex::lock"),
        "{message}"
    );
    assert_eq!(
        *HELD.try_lock().unwrap(),
        1,
        "the owner's run went on undisturbed"
    );
}

/// The tests above share the statics; they run one at a time within this binary.
static SERIAL: StdMutex<()> = StdMutex::new(());
