//! Scheduling points: operations that succeed at once still let the scheduler run
//! another task first, so bugs between two uncontended operations are found.
//!
//! Three kinds of tests, for every async operation of every primitive:
//! - **the point is a real decision**: the operation completes at once while another
//!   ready task would change what it sees; over seeds (`Random`) both outcomes occur,
//!   and under `RoundRobin` the running task always steps aside at the point;
//! - **a waiting operation has no point**: when it completes after a wait, with another
//!   task ready, the run records no decision besides its steps;
//! - **classic bugs found only thanks to the points**: programs without any yield,
//!   whose only interleavings inside a task are the points of their operations.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use sim::queue::Queue;
use sim::sync::{
    Barrier, Condvar, Event, Mutex, Notify, RwLock, Semaphore, broadcast, mpsc, oneshot, watch,
};
use sim::task::yield_now;
use sim::time::{Instant, sleep};
use sim::trace::EventKind;
use sim::{Builder, FailureKind, Strategy};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The distinct results of `body` over `seeds` under `strategy` (every run must pass).
fn outcomes<T: Ord + Debug, Fut: Future<Output = T>>(
    strategy: &Strategy,
    seeds: std::ops::Range<u64>,
    body: &impl Fn() -> Fut,
) -> BTreeSet<T> {
    seeds
        .map(|seed| {
            Builder::new()
                .seed(seed)
                .strategy(strategy.clone())
                .build()
                .block_on(body())
                .unwrap_or_else(|f| panic!("{strategy} seed {seed} failed:\n{f}"))
        })
        .collect()
}

/// The operation `body` performs at once has a scheduling point that is a real
/// decision: `body` spawns a task that would change the result if it ran first, then
/// does the operation and returns what it saw. Over seeds under `Random` both
/// `at_once` (the operation went on) and `other_first` occur; under `RoundRobin` the
/// running task always steps aside at the point (`other_first` only).
fn assert_point<T: Ord + Debug + Clone, Fut: Future<Output = T>>(
    at_once: T,
    other_first: T,
    body: impl Fn() -> Fut,
) {
    let both = BTreeSet::from([at_once, other_first.clone()]);
    assert_eq!(
        outcomes(&Strategy::Random, 0..64, &body),
        both,
        "Random: the scheduler chooses at the point"
    );
    assert_eq!(
        outcomes(&Strategy::RoundRobin, 0..3, &body),
        BTreeSet::from([other_first]),
        "RoundRobin: the running task steps aside at the point"
    );
}

/// A task that only records that it ran.
fn bystander() -> Rc<Cell<bool>> {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    sim::spawn(async move { r.set(true) });
    ran
}

/// The operation that `body` waits on has no scheduling point when it completes: the
/// task that releases it stays ready (it yields), so a point would be a decision. Every
/// decision of the run is one of its steps, and nothing is preempted.
fn assert_no_point_after_wait<Fut: Future<Output = ()>>(body: impl Fn() -> Fut) {
    let runs = [(Strategy::RoundRobin, 0..1), (Strategy::Random, 0..32)];
    for (strategy, seeds) in runs {
        for seed in seeds {
            let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
            rt.block_on(body()).unwrap();
            let kinds: Vec<_> = rt.trace().events().map(|e| e.kind).collect();
            let polls = kinds
                .iter()
                .filter(|k| matches!(k, EventKind::Poll))
                .count();
            assert!(
                !kinds.iter().any(|k| matches!(k, EventKind::Preempt))
                    && rt.schedule().len() == polls,
                "{strategy} seed {seed}: {} decisions for {polls} steps:\n{}",
                rt.schedule().len(),
                rt.trace()
            );
        }
    }
}

/// Releases a waiter with `release`, then stays ready for a while.
async fn release_then_stay_ready(release: impl FnOnce()) {
    release();
    for _ in 0..3 {
        yield_now().await;
    }
}

/// The first seed (of 2,000) on which `body` fails under `Random`, and how.
fn first_failure<Fut: Future<Output = ()>>(body: impl Fn() -> Fut) -> Option<(u64, FailureKind)> {
    (0..2_000).find_map(|seed| {
        Builder::new()
            .seed(seed)
            .build()
            .block_on(body())
            .err()
            .map(|f| (seed, f.kind()))
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// Each operation that completes at once has a point, and it is a real decision
// ---------------------------------------------------------------------------------------

#[test]
fn mutex_lock_has_a_point() {
    assert_point(0, 1, || async {
        let m = Rc::new(Mutex::new(0));
        let other = m.clone();
        sim::spawn(async move {
            if let Ok(mut g) = other.try_lock() {
                *g = 1;
            }
        });
        *m.lock().await
    });
}

/// A lock that another task takes with `try_write` (setting 1) if it runs first.
async fn rwlock_seen(write: bool) -> i32 {
    let rw = Rc::new(RwLock::new(0));
    let other = rw.clone();
    sim::spawn(async move {
        if let Ok(mut g) = other.try_write() {
            *g = 1;
        }
    });
    if write {
        *rw.write().await
    } else {
        *rw.read().await
    }
}

#[test]
fn rwlock_read_has_a_point() {
    assert_point(0, 1, || rwlock_seen(false));
}

#[test]
fn rwlock_write_has_a_point() {
    assert_point(0, 1, || rwlock_seen(true));
}

#[test]
fn semaphore_acquire_has_a_point() {
    assert_point(true, false, || async {
        let sem = Rc::new(Semaphore::new(1));
        let other = sem.clone();
        sim::spawn(async move { other.close() });
        sem.acquire().await.is_ok()
    });
}

#[test]
fn mpsc_send_has_a_point() {
    assert_point(true, false, || async {
        let (tx, rx) = mpsc::channel::<u8>(1);
        sim::spawn(async move { drop(rx) });
        tx.send(1).await.is_ok()
    });
}

#[test]
fn mpsc_reserve_has_a_point() {
    assert_point(true, false, || async {
        let (tx, rx) = mpsc::channel::<u8>(1);
        sim::spawn(async move { drop(rx) });
        tx.reserve().await.is_ok()
    });
}

#[test]
fn mpsc_recv_has_a_point() {
    assert_point((Some(1), 0), (Some(1), 1), || async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        sim::spawn(async move { tx.send(2).unwrap() });
        let got = rx.recv().await;
        (got, rx.len())
    });
}

#[test]
fn oneshot_receive_has_a_point() {
    assert_point(false, true, || async {
        let (tx, rx) = oneshot::channel();
        tx.send(5).unwrap();
        let other_ran = bystander();
        assert_eq!(rx.await, Ok(5));
        other_ran.get()
    });
}

#[test]
fn oneshot_closed_has_a_point() {
    assert_point(false, true, || async {
        let (mut tx, rx) = oneshot::channel::<u8>();
        drop(rx);
        let other_ran = bystander();
        tx.closed().await;
        other_ran.get()
    });
}

#[test]
fn broadcast_recv_has_a_point() {
    use broadcast::error::RecvError;
    assert_point(Some(0), None, || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(0).unwrap();
        sim::spawn(async move { tx.send(1).unwrap() }); // Overwrites 0.
        match rx.recv().await {
            Ok(v) => Some(v),
            Err(e) => {
                assert_eq!(e, RecvError::Lagged(1));
                None
            }
        }
    });
}

// Each watch operation sees the value published last when it completes: 1, or 2 if
// the other task published first.

#[test]
fn watch_changed_has_a_point() {
    assert_point(1, 2, || async {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        sim::spawn(async move { tx.send(2).unwrap() });
        rx.changed().await.unwrap();
        *rx.borrow_and_update()
    });
}

#[test]
fn watch_wait_for_has_a_point() {
    assert_point(1, 2, || async {
        let (tx, mut rx) = watch::channel(1);
        sim::spawn(async move { tx.send(2).unwrap() });
        *rx.wait_for(|v| *v >= 1).await.unwrap()
    });
}

#[test]
fn watch_stream_has_a_point() {
    assert_point(Some(1), Some(2), || async {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        sim::spawn(async move { tx.send(2).unwrap() });
        rx.next().await
    });
}

#[test]
fn notify_notified_has_a_point() {
    assert_point(false, true, || async {
        let n = Notify::new();
        n.notify_one(); // A stored permit: `notified` completes at once.
        let other_ran = bystander();
        n.notified().await;
        other_ran.get()
    });
}

#[test]
fn event_wait_has_a_point() {
    assert_point(Duration::ZERO, ms(1), || async {
        let ev = Rc::new(Event::new());
        ev.set();
        let other = ev.clone();
        sim::spawn(async move {
            other.clear();
            sleep(ms(1)).await;
            other.set();
        });
        let start = Instant::now();
        ev.wait().await;
        start.elapsed()
    });
}

#[test]
fn barrier_wait_of_the_leader_has_a_point() {
    assert_point(false, true, || async {
        let barrier = Rc::new(Barrier::new(2));
        let (b, arrived) = (barrier.clone(), Rc::new(Cell::new(false)));
        let a = arrived.clone();
        sim::spawn(async move {
            a.set(true);
            b.wait().await;
        });
        while !arrived.get() {
            yield_now().await; // Setup: the first member waits.
        }
        let other_ran = bystander();
        assert!(barrier.wait().await.is_leader());
        other_ran.get()
    });
}

#[test]
fn condvar_wait_while_already_false_has_a_point() {
    assert_point(false, true, || async {
        let (m, cv) = (Mutex::new(0), Condvar::new());
        let g = m.lock().await;
        let other_ran = bystander();
        let g = cv.wait_while(g, |v| *v > 0).await;
        drop(g);
        other_ran.get()
    });
}

#[test]
fn queue_get_has_a_point() {
    assert_point(1, 2, || async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        let other = q.clone();
        sim::spawn(async move {
            other.get_nowait().unwrap();
            other.put_nowait(2).unwrap();
        });
        q.get().await.unwrap()
    });
}

#[test]
fn queue_put_has_a_point() {
    assert_point(true, false, || async {
        let q = Queue::new(1);
        let other = q.clone();
        sim::spawn(async move { other.shutdown(false) });
        q.put(1).await.is_ok()
    });
}

#[test]
fn queue_join_has_a_point() {
    assert_point(Duration::ZERO, ms(1), || async {
        let q = Queue::new(0);
        let other = q.clone();
        sim::spawn(async move {
            other.put_nowait(1).unwrap();
            sleep(ms(1)).await;
            other.get_nowait().unwrap();
            other.task_done().unwrap();
        });
        let start = Instant::now();
        q.join().await;
        start.elapsed()
    });
}

#[test]
fn awaiting_a_finished_join_handle_has_a_point() {
    assert_point(false, true, || async {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let task = sim::spawn(async move { d.set(true) });
        while !done.get() {
            yield_now().await; // Setup: the task finishes.
        }
        let other_ran = bystander();
        task.await.unwrap();
        other_ran.get()
    });
}

// ---------------------------------------------------------------------------------------
// An operation that must wait has no point
// ---------------------------------------------------------------------------------------

#[test]
fn waiting_mutex_lock_has_no_point() {
    assert_no_point_after_wait(|| async {
        let m = Rc::new(Mutex::new(()));
        let parked = Rc::new(Cell::new(false));
        let (other, p) = (m.clone(), parked.clone());
        sim::spawn(async move {
            let g = other.try_lock().unwrap();
            while !p.get() {
                yield_now().await; // Until the locker waits.
            }
            release_then_stay_ready(move || drop(g)).await;
        });
        while m.try_lock().is_ok() {
            yield_now().await; // Setup: the other task holds the lock.
        }
        parked.set(true);
        drop(m.lock().await);
    });
}

#[test]
fn waiting_rwlock_read_has_no_point() {
    assert_no_point_after_wait(|| async {
        let rw = Rc::new(RwLock::new(()));
        let parked = Rc::new(Cell::new(false));
        let (other, p) = (rw.clone(), parked.clone());
        sim::spawn(async move {
            let g = other.try_write().unwrap();
            while !p.get() {
                yield_now().await; // Until the reader waits.
            }
            release_then_stay_ready(move || drop(g)).await;
        });
        while rw.try_read().is_ok() {
            yield_now().await; // Setup: the writer holds the lock.
        }
        parked.set(true);
        drop(rw.read().await);
    });
}

#[test]
fn waiting_semaphore_acquire_has_no_point() {
    assert_no_point_after_wait(|| async {
        let sem = Rc::new(Semaphore::new(0));
        let other = sem.clone();
        sim::spawn(release_then_stay_ready(move || other.add_permits(1)));
        drop(sem.acquire().await.unwrap());
    });
}

#[test]
fn waiting_mpsc_send_has_no_point() {
    assert_no_point_after_wait(|| async {
        let (tx, rx) = mpsc::channel::<u8>(1);
        tx.try_send(0).unwrap();
        let rx = Rc::new(RefCell::new(rx)); // Kept open until the send completes.
        let other = rx.clone();
        sim::spawn(release_then_stay_ready(move || {
            let _ = other.borrow_mut().try_recv();
        }));
        tx.send(1).await.unwrap();
    });
}

#[test]
fn waiting_mpsc_recv_has_no_point() {
    assert_no_point_after_wait(|| async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        sim::spawn(release_then_stay_ready(move || tx.try_send(1).unwrap()));
        rx.recv().await.unwrap();
    });
}

#[test]
fn waiting_oneshot_receive_has_no_point() {
    assert_no_point_after_wait(|| async {
        let (tx, rx) = oneshot::channel();
        sim::spawn(release_then_stay_ready(move || tx.send(1).unwrap()));
        rx.await.unwrap();
    });
}

#[test]
fn waiting_oneshot_closed_has_no_point() {
    assert_no_point_after_wait(|| async {
        let (mut tx, rx) = oneshot::channel::<u8>();
        sim::spawn(release_then_stay_ready(move || drop(rx)));
        tx.closed().await;
    });
}

#[test]
fn waiting_broadcast_recv_has_no_point() {
    assert_no_point_after_wait(|| async {
        let (tx, mut rx) = broadcast::channel(1);
        sim::spawn(release_then_stay_ready(move || {
            let _ = tx.send(1);
        }));
        rx.recv().await.unwrap();
    });
}

#[test]
fn waiting_watch_changed_wait_for_and_stream_have_no_point() {
    assert_no_point_after_wait(|| async {
        let (tx, mut rx) = watch::channel(0);
        let tx = Rc::new(tx);
        let other = tx.clone();
        sim::spawn(release_then_stay_ready(move || other.send(1).unwrap()));
        rx.changed().await.unwrap();
        // An unseen value that fails the condition: `wait_for` marks it seen on its way
        // to the wait (no point there either), then waits for 2.
        tx.send(5).unwrap();
        let other = tx.clone();
        sim::spawn(release_then_stay_ready(move || other.send(2).unwrap()));
        drop(rx.wait_for(|v| *v == 2).await.unwrap());
        sim::spawn(release_then_stay_ready(move || tx.send(3).unwrap()));
        rx.next().await.unwrap();
    });
}

#[test]
fn waiting_notify_notified_has_no_point() {
    assert_no_point_after_wait(|| async {
        let n = Rc::new(Notify::new());
        let other = n.clone();
        sim::spawn(release_then_stay_ready(move || other.notify_one()));
        n.notified().await;
    });
}

#[test]
fn waiting_event_wait_has_no_point() {
    assert_no_point_after_wait(|| async {
        let ev = Rc::new(Event::new());
        let other = ev.clone();
        sim::spawn(release_then_stay_ready(move || other.set()));
        ev.wait().await;
    });
}

#[test]
fn waiting_barrier_wait_has_no_point() {
    assert_no_point_after_wait(|| async {
        let barrier = Rc::new(Barrier::new(2));
        let other = barrier.clone();
        sim::spawn(async move {
            other.wait().await; // The leader: nobody else is ready, no decision.
            release_then_stay_ready(|| ()).await;
        });
        barrier.wait().await;
    });
}

#[test]
fn waiting_condvar_wait_and_relock_have_no_point() {
    // A condvar wait always waits, and its re-lock after the wait has no point either.
    assert_no_point_after_wait(|| async {
        let shared = Rc::new((Mutex::new(false), Condvar::new()));
        let g = shared.0.lock().await;
        let other = shared.clone();
        sim::spawn(release_then_stay_ready(move || other.1.notify_all()));
        drop(shared.1.wait(g).await);
    });
}

#[test]
fn waiting_queue_get_has_no_point() {
    assert_no_point_after_wait(|| async {
        let q = Queue::new(0);
        let other = q.clone();
        sim::spawn(release_then_stay_ready(move || {
            other.put_nowait(1).unwrap()
        }));
        q.get().await.unwrap();
    });
}

#[test]
fn waiting_queue_put_has_no_point() {
    assert_no_point_after_wait(|| async {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let other = q.clone();
        sim::spawn(release_then_stay_ready(move || {
            let _ = other.get_nowait();
        }));
        q.put(1).await.unwrap();
    });
}

#[test]
fn waiting_queue_join_has_no_point() {
    assert_no_point_after_wait(|| async {
        let q = Queue::new(0);
        q.put_nowait(0).unwrap();
        let other = q.clone();
        sim::spawn(release_then_stay_ready(move || {
            other.get_nowait().unwrap();
            other.task_done().unwrap();
        }));
        q.join().await;
    });
}

// ---------------------------------------------------------------------------------------
// Classic bugs found only thanks to the points (no yield anywhere in these programs)
// ---------------------------------------------------------------------------------------

async fn abba() {
    let a = std::sync::Arc::new(Mutex::new(0));
    let b = std::sync::Arc::new(Mutex::new(0));
    let (a2, b2) = (a.clone(), b.clone());
    let t1 = sim::spawn(async move {
        let _x = a2.lock().await;
        let _y = b2.lock().await;
    });
    let t2 = sim::spawn(async move {
        let _y = b.lock().await;
        let _x = a.lock().await;
    });
    t1.await.unwrap();
    t2.await.unwrap();
}

#[test]
fn abba_deadlock_is_found_without_yields() {
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let found = (0..10_000).find_map(|seed| {
            Builder::new()
                .seed(seed)
                .strategy(strategy.clone())
                .build()
                .block_on(abba())
                .err()
                .map(|f| (seed, f.kind()))
        });
        let (seed, kind) = found.expect("ABBA found");
        assert_eq!(kind, FailureKind::Deadlock, "{strategy} seed {seed}");
    }
}

/// Locks: a read-modify-write split into a read guard and a write guard loses an update
/// when another task writes in between (at the write lock's point).
#[test]
fn rwlock_read_then_write_loses_an_update() {
    let found = first_failure(|| async {
        let rw = Rc::new(RwLock::new(0));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let rw = rw.clone();
                sim::spawn(async move {
                    let seen = *rw.read().await;
                    *rw.write().await = seen + 1; // BUG: not atomic with the read
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*rw.read().await, 2, "lost update");
    });
    assert!(matches!(found, Some((_, FailureKind::Panic))), "{found:?}");
}

/// Channels: checking a bounded channel's capacity before sending (time of check to
/// time of use) deadlocks when another producer fills the slot in between.
#[test]
fn mpsc_capacity_check_then_send_deadlocks() {
    let found = first_failure(|| async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let producers: Vec<_> = (0..2)
            .map(|i| {
                let tx = tx.clone();
                sim::spawn(async move {
                    if tx.capacity() > 0 {
                        tx.send(i).await.unwrap(); // BUG: the slot may be gone
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await.unwrap(); // The consumer reads only once both are done.
        }
        while rx.recv().await.is_some() {}
    });
    assert!(
        matches!(found, Some((_, FailureKind::Deadlock))),
        "{found:?}"
    );
}

/// Channels: lazy initialisation that checks "not initialised", awaits a reply that is
/// already there, then initialises: two tasks both initialise.
#[test]
fn oneshot_lazy_init_runs_twice() {
    let found = first_failure(|| async {
        let cache = Rc::new(RefCell::new(None::<u32>));
        let inits = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (tx, rx) = oneshot::channel();
                tx.send(42).unwrap(); // The reply is ready: `rx.await` does not wait.
                let (cache, inits) = (cache.clone(), inits.clone());
                sim::spawn(async move {
                    if cache.borrow().is_none() {
                        let v = rx.await.unwrap(); // BUG: checked before the await
                        *cache.borrow_mut() = Some(v);
                        inits.set(inits.get() + 1);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(inits.get(), 1, "initialised twice");
    });
    assert!(matches!(found, Some((_, FailureKind::Panic))), "{found:?}");
}

/// Notifications: workers that see a job unclaimed, wait for the (already open) start
/// gate, then claim it: the job is claimed twice.
#[test]
fn event_check_then_claim_claims_twice() {
    let found = first_failure(|| async {
        let gate = Rc::new(Event::new());
        gate.set();
        let claimed = Rc::new(Cell::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (gate, claimed) = (gate.clone(), claimed.clone());
                sim::spawn(async move {
                    if claimed.get() == 0 {
                        gate.wait().await; // BUG: the check is stale after the await
                        claimed.set(claimed.get() + 1);
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        assert_eq!(claimed.get(), 1, "claimed twice");
    });
    assert!(matches!(found, Some((_, FailureKind::Panic))), "{found:?}");
}

/// Queues: asyncio's classic "check `empty()`, then `get()`": two consumers see the one
/// item, and the second waits forever.
#[test]
fn queue_check_empty_then_get_deadlocks() {
    let found = first_failure(|| async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                sim::spawn(async move {
                    if !q.empty() {
                        q.get().await.unwrap(); // BUG: another consumer may take it
                    }
                })
            })
            .collect();
        for c in consumers {
            c.await.unwrap();
        }
    });
    assert!(
        matches!(found, Some((_, FailureKind::Deadlock))),
        "{found:?}"
    );
}

/// Joins: a join that waits for the task has no point when the task then finishes.
#[test]
fn a_join_that_waits_has_no_point() {
    for seed in 0..50 {
        let mut rt = Builder::new().seed(seed).strategy(Strategy::Random).build();
        rt.block_on(async {
            // Keeps another task ready when main comes back to the join.
            sim::spawn(async {
                for _ in 0..20 {
                    sim::task::yield_now().await;
                }
            });
            let h = sim::spawn(async {
                sim::task::yield_now().await;
            });
            h.await.unwrap(); // waits: the task has not run yet
        })
        .unwrap();
        let preempted = rt
            .trace()
            .events()
            .filter(|e| e.kind == sim::trace::EventKind::Preempt)
            .count();
        assert_eq!(preempted, 0, "seed {seed}:\n{}", rt.trace());
    }
}
