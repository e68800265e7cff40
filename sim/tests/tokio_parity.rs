//! tokio's API and documented behaviour where sim differed from it: the attribute's
//! runtime arguments, tokio's `runtime::{Builder, Runtime}`, `OnceCell`/`SetOnce`,
//! broadcast's weak senders, owned notifications, the blocking semaphore operations,
//! `coop`, `select!` corner cases and the timer corner cases. Written from tokio's
//! docs, not from its tests; each checked inside a run and, where tokio allows it,
//! outside one.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use futures::executor::block_on;
use sim::sync::{
    Mutex, Notify, OnceCell, RwLock, Semaphore, SetError, SetOnce, broadcast, oneshot, watch,
};

mod common;
use common::{panic_message, poll_once, run};

// ---- #[sim::test] takes tokio's runtime arguments ----

/// tokio: `#[tokio::test(start_paused = true)]`, `flavor`, `worker_threads`; sim's
/// attribute accepts them (a run is one thread with a paused clock), so a test moves
/// over by its path alone.
#[sim::test(
    flavor = "multi_thread",
    worker_threads = 2,
    start_paused = true,
    seeds = 3
)]
async fn the_test_attribute_accepts_tokios_runtime_arguments() {
    let start = sim::time::Instant::now();
    sim::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

// ---- runtime::{Builder, Runtime} with tokio's signatures ----

/// tokio: `Builder::new_current_thread().enable_all().build()?` makes a runtime whose
/// `block_on(&self, fut)` returns the future's output; `Runtime::spawn` inside it
/// spawns on it, and a spawned task's panic comes back through its `JoinHandle`.
#[test]
fn tokios_runtime_builder_and_block_on() {
    let rt = sim::runtime::Builder::new_multi_thread()
        .enable_all()
        .enable_time()
        .start_paused(true)
        .worker_threads(4)
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let task = sim::runtime::Handle::current().spawn(async { 20 });
        let other = rt.spawn(async { 22 });
        let panicked = rt.spawn(async { panic!("caught by the join handle") });
        assert!(panicked.await.unwrap_err().is_panic());
        task.await.unwrap() + other.await.unwrap()
    });
    assert_eq!(out, 42);
    // Each block_on is a run of its own; the runtime can be used again.
    assert_eq!(rt.block_on(async { 1 }), 1);
    let rt = sim::runtime::Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(async { rt.handle().spawn(async { 7 }).await.unwrap() }),
        7
    );
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&rt);
}

/// tokio: a panic of the future given to `block_on` goes on out of `block_on` (with
/// its message); spawning with no run in progress panics.
#[test]
fn tokios_runtime_propagates_the_futures_panic() {
    let rt = sim::runtime::Builder::new_current_thread().build().unwrap();
    let msg = panic_message(|| rt.block_on(async { panic!("the future's own panic") }));
    assert!(msg.contains("the future's own panic"), "{msg}");
    let msg = panic_message(|| drop(rt.spawn(async {})));
    assert!(msg.contains("outside"), "{msg}");
    let msg = panic_message(|| rt.block_on(async { rt.block_on(async {}) }));
    assert!(
        msg.contains("Cannot start a runtime from within a runtime"),
        "{msg}"
    );
}

// ---- Notify ----

/// tokio: `Notify::notified_owned` is a `'static` future owning an `Arc<Notify>`.
#[test]
fn owned_notified_in_and_outside_a_run() {
    async fn body() {
        let notify = Arc::new(Notify::const_new());
        let waiting = notify.clone().notified_owned();
        let mut waiting = pin!(waiting);
        assert!(!waiting.as_mut().enable());
        notify.notify_one();
        waiting.await;
        // 'static: it moves into a task.
        let n = notify.clone();
        let task = sim::spawn(n.notified_owned());
        sim::task::yield_now().await;
        notify.notify_waiters();
        task.await.unwrap();
    }
    run(body());
    let notify = Arc::new(Notify::new());
    let mut owned = Box::pin(notify.clone().notified_owned());
    assert!(poll_once(&mut owned).is_pending());
    notify.notify_waiters();
    assert!(poll_once(&mut owned).is_ready());
}

/// tokio: a waiter chosen by `notify_last` that is dropped before it completes passes
/// the notification to the newest waiter left (not the oldest).
#[test]
fn a_dropped_notify_last_waiter_passes_it_to_the_newest() {
    let notify = Notify::new();
    let mut first = Box::pin(notify.notified());
    let mut second = Box::pin(notify.notified());
    let mut third = Box::pin(notify.notified());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    assert!(poll_once(&mut third).is_pending());
    notify.notify_last();
    drop(third);
    assert!(poll_once(&mut second).is_ready());
    assert!(poll_once(&mut first).is_pending());
}

// ---- watch ----

/// tokio: `watch::Receiver::is_closed` says whether every sender is gone.
#[test]
fn watch_receiver_is_closed() {
    let (tx, rx) = watch::channel(0);
    assert!(!rx.is_closed());
    drop(tx);
    assert!(rx.is_closed());
}

/// tokio: `wait_for` on a closed channel ends at once with an error, and spends the
/// task's budget: a loop of them gives way (a `select!` against `yield_now` ends).
#[test]
fn wait_for_on_a_closed_channel_spends_the_budget() {
    run(async {
        let (tx, mut rx) = watch::channel(0);
        drop(tx);
        sim::select! {
            biased;
            _ = async {
                loop {
                    assert!(rx.wait_for(|v| *v == 1).await.is_err());
                }
            } => {}
            _ = sim::task::yield_now() => {}
        }
    });
}

// ---- Semaphore, RwLock, Mutex ----

/// tokio: `blocking_acquire*` wait on the calling thread outside a runtime and panic
/// inside one; `SemaphorePermit::semaphore` names its semaphore.
#[test]
fn blocking_semaphore_operations() {
    let sem = Arc::new(Semaphore::new(3));
    let one = sem.blocking_acquire().unwrap();
    assert!(std::ptr::eq(one.semaphore(), &*sem));
    let two = sem.blocking_acquire_many(2).unwrap();
    assert_eq!(sem.available_permits(), 0);
    drop((one, two));
    let owned = sem.clone().blocking_acquire_owned().unwrap();
    let owned_two = sem.clone().blocking_acquire_many_owned(2).unwrap();
    assert_eq!(owned.num_permits() + owned_two.num_permits(), 3);
    drop((owned, owned_two));
    sem.close();
    assert!(sem.blocking_acquire().is_err());
    let msg = panic_message(|| {
        run(async {
            let sem = Semaphore::new(1);
            drop(sem.blocking_acquire());
        })
    });
    assert!(msg.contains("Cannot block the current thread"), "{msg}");
}

/// tokio: `const_new` constructors for statics, and the zero-readers message.
#[test]
fn const_constructors_and_the_zero_readers_panic() {
    static LOCK: RwLock<u8> = RwLock::const_with_max_readers(1, 2);
    static PLAIN: RwLock<u8> = RwLock::const_new(2);
    static MUTEX: Mutex<u8> = Mutex::const_new(3);
    let _a = LOCK.try_read().unwrap();
    let _b = LOCK.try_read().unwrap();
    assert!(LOCK.try_read().is_err());
    assert_eq!(*PLAIN.try_read().unwrap(), 2);
    assert_eq!(*MUTEX.try_lock().unwrap(), 3);
    let msg = panic_message(|| drop(RwLock::with_max_readers(0, 0)));
    assert!(
        msg.contains("a RwLock may not be created with 0 readers"),
        "{msg}"
    );
}

// ---- broadcast ----

/// tokio: weak senders do not keep the channel open; counts of both kinds; a
/// receiver sees the channel closed once every strong sender is gone.
#[test]
fn broadcast_weak_senders_and_counts() {
    let (tx, mut rx) = broadcast::channel::<u8>(4);
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    let tx2 = weak.upgrade().unwrap();
    assert_eq!(weak2.strong_count(), 2);
    tx2.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(weak2);
    assert_eq!(weak.weak_count(), 1);
    assert!(tx.same_channel(&tx2));
    drop((tx, tx2));
    assert!(rx.is_closed());
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Err(broadcast::error::TryRecvError::Closed));
}

// ---- OnceCell, SetOnce ----

/// tokio: `get_or_init` runs one initialisation while the others wait for it; a
/// `set` during it fails with `InitializingError`, after it with
/// `AlreadyInitializedError`.
#[test]
fn once_cell_initialises_once() {
    run(async {
        let cell = Arc::new(OnceCell::new());
        let (started_tx, started_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let c = cell.clone();
        let first = sim::spawn(async move {
            *c.get_or_init(|| async {
                started_tx.send(()).unwrap();
                go_rx.await.unwrap();
                1
            })
            .await
        });
        started_rx.await.unwrap();
        assert!(matches!(cell.set(5), Err(SetError::InitializingError(5))));
        let c = cell.clone();
        let second = sim::spawn(async move { *c.get_or_init(|| async { 2 }).await });
        go_tx.send(()).unwrap();
        assert_eq!((first.await.unwrap(), second.await.unwrap()), (1, 1));
        let err = cell.set(6).unwrap_err();
        assert!(err.is_already_init_err() && !err.is_initializing_err());
    });
}

/// tokio: an initialisation that fails or is cancelled leaves the cell empty for the
/// next one; `take`, `into_inner`, `const_new_with`, equality.
#[test]
fn once_cell_failed_initialisation_and_values() {
    run(async {
        let cell = OnceCell::<u32>::const_new();
        let failed: Result<&u32, &str> = cell.get_or_try_init(|| async { Err("no") }).await;
        assert_eq!(failed, Err("no"));
        assert!(!cell.initialized());
        // Cancelled mid-initialisation: the permit goes back.
        let never = cell.get_or_init(std::future::pending);
        assert!(never.now_or_never().is_none());
        assert_eq!(*cell.get_or_init(|| async { 3 }).await, 3);
        assert_eq!(cell.get(), Some(&3));
    });
    let mut cell = OnceCell::new_with(Some(4));
    assert_eq!(cell, OnceCell::from(4));
    assert_eq!(cell.take(), Some(4));
    assert!(cell.set(5).is_ok());
    assert_eq!(cell.into_inner(), Some(5));
    static GIVEN: OnceCell<u8> = OnceCell::const_new_with(9);
    assert_eq!(block_on(GIVEN.get_or_init(|| async { 0 })), &9);
}

/// tokio: `SetOnce::wait` waits until a `set`, which succeeds once.
#[test]
fn set_once_in_and_outside_a_run() {
    run(async {
        let once = Arc::new(SetOnce::new());
        let o = once.clone();
        let waiter = sim::spawn(async move { *o.wait().await });
        sim::task::yield_now().await;
        once.set(5).unwrap();
        assert_eq!(once.set(6).unwrap_err().0, 6);
        assert_eq!(waiter.await.unwrap(), 5);
    });
    let once = SetOnce::const_new_with(1);
    assert!(once.initialized());
    assert_eq!(block_on(once.wait()), &1);
    assert_eq!(once.into_inner(), Some(1));
    assert_eq!(SetOnce::<u8>::new_with(None).get(), None);
}

/// A deadlock on a `SetOnce` nobody sets is reported, as for any wait.
#[test]
fn waiting_on_a_set_once_nobody_sets_is_a_deadlock() {
    let failure = sim::Builder::new()
        .seed(1)
        .build()
        .block_on(async {
            let once = SetOnce::<u8>::new();
            once.wait().await;
        })
        .unwrap_err();
    assert_eq!(failure.kind(), sim::FailureKind::Deadlock);
}

// ---- tasks ----

/// tokio: `task::coop::has_budget_remaining` is true until the budget is spent, and
/// `consume_budget` is at that path.
#[test]
fn coop_budget() {
    run(async {
        assert!(sim::task::coop::has_budget_remaining());
        let mut spent = 0;
        while sim::task::coop::has_budget_remaining() {
            sim::task::coop::consume_budget().await;
            spent += 1;
        }
        assert_eq!(spent, 128);
        sim::task::coop::consume_budget().await;
        assert!(sim::task::coop::has_budget_remaining());
    });
    assert!(sim::task::coop::has_budget_remaining()); // outside a run
}

sim::task_local! {
    static KEY: u32;
}

/// tokio: `JoinError`'s `Debug` names the task id as `Id(..)` and shows a string
/// panic message.
#[test]
fn join_error_debug_is_tokios() {
    let rt = sim::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let panicked = sim::spawn(async { panic!("boom {}", 1) })
            .await
            .unwrap_err();
        let id = panicked.id();
        assert_eq!(
            format!("{panicked:?}"),
            format!("JoinError::Panic(Id({id}), \"boom 1\", ...)")
        );
        let task = sim::spawn(std::future::pending::<()>());
        task.abort();
        let cancelled = task.await.unwrap_err();
        assert_eq!(
            format!("{cancelled:?}"),
            format!("JoinError::Cancelled(Id({}))", cancelled.id())
        );
    });
}

/// tokio: a task whose destructor panics when it is aborted returns that panic from
/// its `JoinHandle`; it does not escape the task (under tokio's default policy).
#[test]
fn a_destructor_panic_during_abort_goes_to_the_join_handle() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("dropped");
        }
    }
    let rt = sim::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let guard = PanicOnDrop;
        let task = sim::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        sim::task::yield_now().await;
        task.abort();
        assert!(task.await.unwrap_err().is_panic());
    });
}

/// tokio's `#[tokio::main]` may mark any function; sim's, on a function other than
/// `main`, fails by panicking with the report (a test calling it fails; the process
/// goes on), where on `main` it exits the process.
#[test]
fn sim_main_on_a_helper_panics_on_failure() {
    #[sim::main(flavor = "current_thread")]
    async fn helper() -> u8 {
        sim::spawn(async { 7 }).await.unwrap()
    }
    #[sim::main]
    async fn deadlocked() -> u8 {
        let (_tx, rx) = oneshot::channel::<u8>();
        rx.await.unwrap_or(0) // nobody sends: a deadlock
    }
    assert_eq!(helper(), 7);
    let msg = panic_message(|| {
        deadlocked();
    });
    assert!(msg.contains("deadlock"), "{msg}");
}

/// tokio: `LocalKey::try_get` copies the value, or errs outside its scope.
#[test]
fn local_key_try_get() {
    assert!(KEY.try_get().is_err());
    run(KEY.scope(3, async { assert_eq!(KEY.try_get().unwrap(), 3) }));
}

/// tokio panics when `LocalSet::spawn_local` is called outside a runtime; sim
/// (which cannot fill a set before a run) panics the same way, and the set can then
/// be dropped (it used to underflow its task count, aborting the process).
#[test]
fn a_local_set_survives_a_spawn_outside_a_run() {
    let local = sim::task::LocalSet::new();
    let msg = panic_message(|| drop(local.spawn_local(async {})));
    assert!(msg.contains("outside"), "{msg}");
    drop(local);
}

/// tokio: `LocalSet::block_on(&rt, future)` with a runtime returns the output.
#[test]
fn local_set_block_on_takes_tokios_runtime() {
    let rt = sim::runtime::Builder::new_current_thread().build().unwrap();
    let local = sim::task::LocalSet::new();
    let out = local.block_on(&rt, async {
        let shared = std::rc::Rc::new(5); // not Send: fine on a local set
        sim::task::spawn_local(async move { *shared + 1 })
            .await
            .unwrap()
    });
    assert_eq!(out, 6);
}

/// tokio: `Notify` and `JoinHandle` are unwind safe.
#[test]
fn notify_and_join_handles_are_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Notify>();
    unwind_safe::<sim::task::JoinHandle<u8>>();
    unwind_safe::<sim::task::AbortHandle>();
}

// ---- select! ----

/// tokio: `select!` with only an `else` branch is its value; a `ref mut` binding
/// works in a handler; a future borrowing a temporary lives as long as the select.
#[test]
fn select_corner_cases() {
    run(async {
        let only_else = sim::select! { else => 1 };
        let biased_else = sim::select! { biased; else => 2 };
        assert_eq!(only_else + biased_else, 3);
        let changed = sim::select! {
            Some(ref mut s) = async { Some(String::from("a")) } => {
                s.push('b');
                s.clone()
            }
        };
        assert_eq!(changed, "ab");
        sim::select! {
            () = &mut std::future::ready(()) => {}
        }
    });
}

/// tokio: a `select!` polled by a task that has spent its cooperative budget yields
/// before it polls any branch (even one that is ready).
#[test]
fn select_yields_when_the_budget_is_spent() {
    run(async {
        for _ in 0..128 {
            sim::task::coop::consume_budget().await;
        }
        let mut select = pin!(async {
            sim::select! {
                biased;
                () = sim::task::coop::consume_budget() => 1,
                () = std::future::ready(()) => 2,
            }
        });
        assert!(futures::poll!(select.as_mut()).is_pending());
        // The next poll has a fresh budget.
        assert_eq!(select.await, 1);
    });
}

// ---- time ----

/// tokio: a sleep that was never polled has not elapsed, even when its deadline is
/// now; once polled to its end it has.
#[test]
fn an_unpolled_sleep_has_not_elapsed() {
    run(async {
        let mut sleep = pin!(sim::time::sleep_until(sim::time::Instant::now()));
        assert!(!sleep.is_elapsed());
        sleep.as_mut().await;
        assert!(sleep.is_elapsed());
        let mut later = pin!(sim::time::sleep(Duration::from_millis(5)));
        assert!(later.as_mut().now_or_never().is_none());
        assert!(!later.is_elapsed());
        later.as_mut().await;
        assert!(later.is_elapsed());
    });
}

/// tokio: an interval of `Duration::MAX` ticks once and then never (its next tick is
/// past the end of the clock, not an overflow); `reset_after(Duration::MAX)` too.
#[test]
fn intervals_of_duration_max_do_not_overflow() {
    run(async {
        let mut every = sim::time::interval(Duration::MAX);
        every.tick().await;
        every.reset();
        assert!(every.tick().now_or_never().is_none());
        let mut short = sim::time::interval(Duration::from_millis(1));
        short.reset_after(Duration::MAX);
        assert!(short.tick().now_or_never().is_none());
    });
}

// ---- mpsc ----

/// tokio: once the receiver closes the channel, `recv` returns `None` only when no
/// slot is out: a slot handed to a queued `reserve` counts until that reservation is
/// polled; it then fails (the channel is closed) and gives the slot back, which ends
/// the channel and wakes the receiver.
#[test]
fn a_closed_channel_waits_for_a_slot_handed_to_a_queued_reservation() {
    let (tx, mut rx) = sim::sync::mpsc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = Box::pin(tx.reserve());
    assert!(poll_once(&mut reserve).is_pending());
    drop(permit); // the slot goes to the queued reservation
    rx.close();
    let mut recv = Box::pin(rx.recv());
    assert!(poll_once(&mut recv).is_pending(), "a slot is still out");
    assert!(matches!(poll_once(&mut reserve), Poll::Ready(Err(_))));
    assert_eq!(poll_once(&mut recv), Poll::Ready(None));
    drop(recv);

    // The same when the handed reservation is dropped instead of polled; and a send
    // handed a slot before the close fails after it.
    let (tx, mut rx) = sim::sync::mpsc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    let mut send = Box::pin(tx.send(7));
    assert!(poll_once(&mut send).is_pending());
    drop(permit);
    rx.close();
    assert!(matches!(poll_once(&mut send), Poll::Ready(Err(_))));
    assert_eq!(block_on(rx.recv()), None);
    let (tx, mut rx) = sim::sync::mpsc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = Box::pin(tx.reserve());
    assert!(poll_once(&mut reserve).is_pending());
    drop(permit);
    rx.close();
    let mut recv = Box::pin(rx.recv());
    assert!(poll_once(&mut recv).is_pending());
    drop(reserve);
    assert_eq!(poll_once(&mut recv), Poll::Ready(None));
}
