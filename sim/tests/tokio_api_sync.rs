//! tokio's documented semantics for the sync API added for issue 18 (locks, semaphore,
//! notify, oneshot), each checked inside a run and outside one (tokio's semantics, no
//! bookkeeping). Written from tokio's docs, not from its tests.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use futures::executor::block_on;
use sim::sync::{Mutex, Notify, RwLock, Semaphore, oneshot};

mod common;
use common::{panic_message, poll_once, run};

// ---- Notify ----

/// tokio: a `Notified` completed by `notify_waiters` does not consume a permit stored
/// by `notify_one`; the permit is left for the next `notified()`.
async fn notify_waiters_keeps_the_stored_permit() {
    let notify = Notify::new();
    let mut first = pin!(notify.notified());
    notify.notify_waiters(); // `first` was made before: it is notified
    notify.notify_one(); // nobody is queued: stored
    first.as_mut().await;
    let mut second = pin!(notify.notified());
    assert!(
        second.as_mut().enable(),
        "the permit must still be stored for the next notified()"
    );
    second.await;
}

#[test]
fn notify_waiters_keeps_the_stored_permit_in_and_outside_a_run() {
    block_on(notify_waiters_keeps_the_stored_permit());
    run(notify_waiters_keeps_the_stored_permit());
}

/// tokio: `notify_last` wakes the most recent waiter; with nobody waiting it stores a
/// permit like `notify_one`.
async fn notify_last_wakes_the_newest_waiter() {
    let notify = Notify::new();
    let mut a = pin!(notify.notified());
    let mut b = pin!(notify.notified());
    assert!(!a.as_mut().enable());
    assert!(!b.as_mut().enable());
    notify.notify_last();
    assert!(b.as_mut().enable(), "the newest waiter is notified");
    assert!(!a.as_mut().enable(), "the oldest one still waits");
    notify.notify_last();
    a.await;
    b.await;
    notify.notify_last(); // stored
    notify.notified().await;
}

#[test]
fn notify_last_in_and_outside_a_run() {
    block_on(notify_last_wakes_the_newest_waiter());
    run(notify_last_wakes_the_newest_waiter());
}

/// tokio: an enabled `Notified` is in the queue before its first poll, so
/// `notify_one` goes to it instead of being stored.
async fn enable_queues_before_the_first_poll() {
    let notify = Notify::new();
    let mut enabled = pin!(notify.notified());
    assert!(!enabled.as_mut().enable());
    notify.notify_one();
    let mut later = pin!(notify.notified());
    assert!(!later.as_mut().enable(), "the notification was not stored");
    enabled.await;
}

#[test]
fn enable_in_and_outside_a_run() {
    block_on(enable_queues_before_the_first_poll());
    run(enable_queues_before_the_first_poll());
}

#[test]
fn an_enabled_notified_is_woken_in_a_run() {
    run(async {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let waiter = sim::spawn(async move {
            let mut notified = pin!(n.notified());
            notified.as_mut().enable();
            sim::task::yield_now().await;
            notified.await;
        });
        sim::task::yield_now().await;
        notify.notify_one();
        waiter.await.unwrap();
    });
}

// ---- oneshot ----

fn oneshot_states() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.is_empty() && !rx.is_terminated());
    tx.send(1).unwrap();
    assert!(!rx.is_empty() && !rx.is_terminated());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_empty() && rx.is_terminated());

    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
    assert!(!rx.is_terminated(), "an empty try_recv does not terminate");
    drop(tx);
    assert!(rx.is_empty() && !rx.is_terminated());
    assert!(matches!(poll_once(&mut rx), Poll::Ready(Err(_))));
    assert!(rx.is_terminated());
}

#[test]
fn oneshot_is_empty_and_is_terminated_in_and_outside_a_run() {
    oneshot_states();
    run(async { oneshot_states() });
    let got = run(async {
        let (tx, mut rx) = oneshot::channel();
        sim::spawn(async move { tx.send(5).unwrap() });
        let v = (&mut rx).await.unwrap();
        (v, rx.is_terminated(), rx.is_empty())
    });
    assert_eq!(got, (5, true, true));
}

/// tokio: after `close()` a failed `try_recv` terminates the receiver; polling it then
/// panics ("called after complete").
fn poll_after_close_and_failed_try_recv() {
    let (_tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    assert!(rx.is_terminated());
    let msg = panic_message(|| {
        let _ = poll_once(&mut rx);
    });
    assert!(msg.contains("called after complete"), "{msg}");
}

#[test]
fn oneshot_polled_after_close_and_try_recv_panics_in_and_outside_a_run() {
    poll_after_close_and_failed_try_recv();
    run(async { poll_after_close_and_failed_try_recv() });
}

#[test]
fn oneshot_close_then_poll_is_an_error_not_a_panic() {
    let (_tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(block_on(&mut rx).is_err());
}

#[test]
fn oneshot_blocking_recv_outside_a_run() {
    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || rx.blocking_recv());
    tx.send(9).unwrap();
    assert_eq!(t.join().unwrap(), Ok(9));
}

// ---- Semaphore ----

#[test]
#[should_panic(expected = "would overflow MAX_PERMITS")]
fn add_permits_past_the_maximum_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    sem.add_permits(2);
}

#[test]
fn add_permits_up_to_the_maximum_is_fine() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

static STATIC_SEM: Semaphore = Semaphore::const_new(3);

async fn semaphore_api(sem: Arc<Semaphore>) {
    // forget_permits takes only free permits.
    let held = sem.clone().try_acquire_many_owned(2).unwrap();
    assert_eq!(sem.forget_permits(10), 2);
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(
        sem.clone().try_acquire_many_owned(1).unwrap_err(),
        sim::sync::TryAcquireError::NoPermits
    );
    drop(held);
    assert_eq!(sem.available_permits(), 2);
    // split and merge.
    let mut p = sem.clone().acquire_many_owned(2).await.unwrap();
    let q = p.split(1).unwrap();
    assert!(p.split(2).is_none());
    assert_eq!((p.num_permits(), q.num_permits()), (1, 1));
    drop(q);
    assert_eq!(sem.available_permits(), 1);
    let r = sem.clone().acquire_owned().await.unwrap();
    p.merge(r);
    assert_eq!(p.num_permits(), 2);
    drop(p);
    assert_eq!(sem.available_permits(), 2);
    let mut a = sem.acquire().await.unwrap();
    let b = sem.acquire().await.unwrap();
    a.merge(b);
    let c = a.split(2).unwrap();
    assert_eq!(a.num_permits(), 0);
    drop(c);
    drop(a);
    assert_eq!(sem.available_permits(), 2);
    sem.close();
    assert_eq!(
        sem.clone().try_acquire_many_owned(1).unwrap_err(),
        sim::sync::TryAcquireError::Closed
    );
}

#[test]
fn semaphore_api_in_and_outside_a_run() {
    block_on(semaphore_api(Arc::new(Semaphore::new(4))));
    run(semaphore_api(Arc::new(Semaphore::new(4))));
    assert_eq!(STATIC_SEM.available_permits(), 3);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_different_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut p = a.try_acquire().unwrap();
    p.merge(b.try_acquire().unwrap());
}

#[test]
fn split_permits_are_released_separately_in_a_run() {
    // Both halves are released by their holder: the deadlock detector's hold count
    // must end at zero, so a later wait on the semaphore is not blamed on this task.
    run(async {
        let sem = Arc::new(Semaphore::new(2));
        let mut p = sem.clone().acquire_many_owned(2).await.unwrap();
        let q = p.split(1).unwrap();
        let s2 = sem.clone();
        let t = sim::spawn(async move { drop(s2.acquire_many(2).await.unwrap()) });
        sim::task::yield_now().await;
        drop(p);
        drop(q);
        t.await.unwrap();
    });
}

// ---- Mutex and RwLock ----

#[test]
fn mutex_debug_matches_tokio() {
    let m = Mutex::new(5);
    assert_eq!(format!("{m:?}"), "Mutex { data: 5 }");
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    drop(g);
    run(async {
        let m = Mutex::new("x");
        assert_eq!(format!("{m:?}"), "Mutex { data: \"x\" }");
        let _g = m.lock().await;
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    });
    assert_eq!(format!("{m:?}"), "Mutex { data: 5 }");
}

#[test]
fn blocking_lock_outside_a_run() {
    let m = Arc::new(Mutex::new(0));
    let g = m.try_lock().unwrap();
    let m2 = m.clone();
    let t = std::thread::spawn(move || *m2.blocking_lock() += 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    drop(g);
    t.join().unwrap();
    assert_eq!(*m.clone().blocking_lock_owned(), 1);
    let l = RwLock::new(1);
    *l.blocking_write() += 1;
    assert_eq!(*l.blocking_read(), 2);
}

#[test]
fn blocking_methods_panic_inside_a_run() {
    // The run reports the panic as a failure; the message is tokio's.
    let mut rt = sim::Builder::new().seed(1).build();
    let failure = rt
        .block_on(async {
            let (_tx, rx) = oneshot::channel::<u8>();
            let _ = rx.blocking_recv();
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(
        report.contains("Cannot block the current thread from within a runtime"),
        "{report}"
    );
    assert!(report.contains("blocking_recv"), "{report}");
    let failure = sim::Builder::new()
        .seed(1)
        .build()
        .block_on(async {
            let l = RwLock::new(0);
            drop(l.blocking_read());
        })
        .unwrap_err();
    assert!(failure.to_string().contains("Cannot block"));
}

async fn max_readers() {
    let lock = Arc::new(RwLock::with_max_readers(7, 2));
    let a = lock.read().await;
    let b = lock.read().await;
    assert!(lock.try_read().is_err());
    assert!(lock.try_write().is_err());
    drop(a);
    let c = lock.try_read().unwrap();
    drop((b, c));
    *lock.write().await += 1;
    assert_eq!(*lock.read().await, 8);
}

#[test]
fn rwlock_with_max_readers_in_and_outside_a_run() {
    block_on(max_readers());
    run(max_readers());
    run(async {
        // A third reader waits for one of two to leave.
        let lock = Arc::new(RwLock::with_max_readers(0, 2));
        let a = lock.read().await;
        let _b = lock.read().await;
        let l = lock.clone();
        let third = sim::spawn(async move { *l.read().await });
        sim::task::yield_now().await;
        assert!(!third.is_finished());
        drop(a);
        assert_eq!(third.await.unwrap(), 0);
    });
}

#[test]
#[should_panic(expected = "more than")]
fn rwlock_with_too_many_readers_panics() {
    let _ = RwLock::with_max_readers(0, u32::MAX);
}

async fn downgrade() {
    let lock = Arc::new(RwLock::new(1));
    let mut w = lock.write().await;
    *w = 2;
    let r = w.downgrade();
    assert_eq!(*r, 2);
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err());
    drop((r, r2));
    *lock.try_write().unwrap() = 3;
    assert_eq!(*lock.read().await, 3);
}

#[test]
fn rwlock_downgrade_in_and_outside_a_run() {
    block_on(downgrade());
    run(downgrade());
    // tokio: no writer can take the lock between the write and the read; a reader
    // queued behind the writer gets in with the downgraded guard.
    let seen = run(async {
        let lock = Arc::new(RwLock::new(0));
        let w = lock.write().await;
        let (l1, l2) = (lock.clone(), lock.clone());
        let writer = sim::spawn(async move {
            *l1.write().await = 100;
        });
        sim::task::yield_now().await;
        let reader = sim::spawn(async move { *l2.read().await });
        sim::task::yield_now().await;
        let mut w = w;
        *w = 1;
        let r = w.downgrade();
        assert_eq!(*r, 1, "no writer got in between");
        drop(r);
        writer.await.unwrap();
        reader.await.unwrap()
    });
    // The writer queued first, so the reader (behind it) sees its write.
    assert_eq!(seen, 100);
}
