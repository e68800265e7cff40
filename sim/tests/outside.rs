//! Every primitive works outside a run, with tokio's semantics (no bookkeeping, real
//! wakers: `futures::executor::block_on` and plain threads), and joins a run's
//! bookkeeping at its first operation inside one (channels pre-filled before
//! `block_on` are drained inside it).

use std::sync::{Arc, mpsc as std_mpsc};
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use futures::{SinkExt, StreamExt};
use sim::Builder;
use sim::queue::{LifoQueue, PriorityQueue, Queue};
use sim::sync::{
    Barrier, Condvar, Event, Mutex, Notify, RwLock, Semaphore, broadcast, mpsc, oneshot, watch,
};

/// Runs `f` on another OS thread once `wait` (a real wait) has started there: the
/// waiter's waker is a real thread waker, and `f` releases it.
fn release_from_another_thread(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        f();
    })
}

#[test]
fn mutex_outside_a_run() {
    let m = Arc::new(Mutex::new(1));
    *m.try_lock().unwrap() += 1;
    block_on(async { *m.lock().await += 1 });
    let guard = m.try_lock().unwrap();
    assert!(m.try_lock().is_err());
    let m2 = m.clone();
    let waiter = thread::spawn(move || block_on(async { *m2.lock().await += 10 }));
    thread::sleep(Duration::from_millis(20));
    drop(guard); // Wakes the waiter on the other thread.
    waiter.join().unwrap();
    let owned = m.clone().try_lock_owned().unwrap();
    assert_eq!(*owned, 13);
    drop(owned);
    *block_on(m.clone().lock_owned()) += 1;
    assert_eq!(Arc::try_unwrap(m).unwrap().into_inner(), 14);
}

#[test]
fn rwlock_outside_a_run() {
    let l = Arc::new(RwLock::new(1));
    {
        let r1 = l.try_read().unwrap();
        let r2 = block_on(l.read());
        assert_eq!(*r1 + *r2, 2);
        assert!(l.try_write().is_err());
        let l2 = l.clone();
        let writer = thread::spawn(move || block_on(async { *l2.write().await += 1 }));
        thread::sleep(Duration::from_millis(20));
        drop((r1, r2));
        writer.join().unwrap();
    }
    *l.try_write().unwrap() += 1;
    assert_eq!(*block_on(l.read()), 3);
}

#[test]
fn semaphore_outside_a_run() {
    let s = Arc::new(Semaphore::new(1));
    let p = s.try_acquire().unwrap();
    assert!(s.try_acquire().is_err());
    let s2 = s.clone();
    let waiter =
        thread::spawn(move || block_on(async { s2.acquire_many(2).await.unwrap().forget() }));
    thread::sleep(Duration::from_millis(20));
    s.add_permits(1);
    drop(p); // Now two are free: the waiter takes and forgets them.
    waiter.join().unwrap();
    assert_eq!(s.available_permits(), 0);
    s.add_permits(2);
    let owned = block_on(s.clone().acquire_owned()).unwrap();
    assert_eq!(owned.num_permits(), 1);
    let _other = s.clone().try_acquire_owned().unwrap();
    let s3 = s.clone();
    let closed = thread::spawn(move || block_on(s3.acquire()).is_err());
    thread::sleep(Duration::from_millis(20));
    s.close();
    assert!(
        closed.join().unwrap(),
        "a waiter fails when the semaphore closes"
    );
    assert!(s.is_closed() && s.try_acquire().is_err());
}

#[test]
fn notify_and_event_outside_a_run() {
    let n = Arc::new(Notify::new());
    n.notify_one(); // Stored as a permit.
    block_on(n.notified());
    let n2 = n.clone();
    let waiter = thread::spawn(move || block_on(n2.notified()));
    let notifier = {
        let n = n.clone();
        release_from_another_thread(move || n.notify_waiters())
    };
    waiter.join().unwrap();
    notifier.join().unwrap();

    let e = Arc::new(Event::new());
    let e2 = e.clone();
    let waiter = thread::spawn(move || block_on(e2.wait()));
    let setter = {
        let e = e.clone();
        release_from_another_thread(move || e.set())
    };
    waiter.join().unwrap();
    setter.join().unwrap();
    assert!(e.is_set());
    e.clear();
    assert!(!e.is_set());
}

#[test]
fn barrier_and_condvar_outside_a_run() {
    let b = Arc::new(Barrier::new(2));
    let b2 = b.clone();
    let other = thread::spawn(move || block_on(b2.wait()).is_leader());
    let leader = block_on(b.wait()).is_leader();
    assert!(leader ^ other.join().unwrap(), "exactly one leader");

    let state = Arc::new((Mutex::new(false), Condvar::new()));
    let s2 = state.clone();
    let waiter = thread::spawn(move || {
        block_on(async {
            let (m, cv) = &*s2;
            let ready = cv.wait_while(m.lock().await, |ready| !*ready).await;
            assert!(*ready);
        })
    });
    thread::sleep(Duration::from_millis(20));
    block_on(async {
        *state.0.lock().await = true;
        state.1.notify_all();
    });
    waiter.join().unwrap();
    state.1.notify_one(); // Nobody waits: lost, as documented.
}

#[test]
fn mpsc_outside_a_run() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    block_on(tx.send(2)).unwrap();
    assert!(matches!(
        tx.try_send(3),
        Err(mpsc::error::TrySendError::Full(3))
    ));
    assert_eq!((rx.len(), tx.capacity()), (2, 0));
    let tx2 = tx.clone();
    let sender = thread::spawn(move || block_on(tx2.send(3)).unwrap()); // Waits for room.
    thread::sleep(Duration::from_millis(20));
    assert_eq!(rx.try_recv(), Ok(1));
    sender.join().unwrap();
    assert_eq!(block_on(rx.recv()), Some(2));
    let permit = block_on(tx.reserve()).unwrap();
    permit.send(4);
    assert_eq!(rx.try_recv(), Ok(3));
    let owned = block_on(tx.clone().reserve_owned()).unwrap();
    drop(owned.send(5));
    assert_eq!(rx.try_recv(), Ok(4));
    let mut sink = mpsc::PollSender::new(tx.clone());
    block_on(sink.send(6)).unwrap();
    drop(sink);
    drop(tx);
    let rest: Vec<_> = block_on((&mut rx).collect::<Vec<_>>());
    assert_eq!(rest, [5, 6]);
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));

    let (utx, mut urx) = mpsc::unbounded_channel();
    let receiver = thread::spawn(move || {
        let got = block_on(urx.recv());
        urx.close();
        got
    });
    release_from_another_thread(move || {
        utx.send(7).unwrap();
        thread::sleep(Duration::from_millis(20));
        assert!(utx.is_closed() && utx.send(8).is_err());
    })
    .join()
    .unwrap();
    assert_eq!(receiver.join().unwrap(), Some(7));
}

#[test]
fn oneshot_outside_a_run() {
    let (tx, rx) = oneshot::channel();
    let receiver = thread::spawn(move || block_on(rx));
    release_from_another_thread(move || tx.send(1).unwrap())
        .join()
        .unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(1));

    let (mut tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
    let closer = release_from_another_thread(move || rx.close());
    block_on(tx.closed());
    closer.join().unwrap();
    assert!(tx.is_closed() && tx.send(2).is_err());
}

#[test]
fn broadcast_outside_a_run() {
    let (tx, mut rx) = broadcast::channel(2);
    let mut late = tx.subscribe();
    assert_eq!(tx.send(1), Ok(2));
    assert_eq!(block_on(rx.recv()), Ok(1));
    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert_eq!(
        late.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(1))
    );
    assert_eq!(block_on(late.recv()), Ok(2));
    let mut third = rx.resubscribe();
    let receiver = thread::spawn(move || block_on(third.recv()));
    release_from_another_thread(move || {
        tx.send(4).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(4));
    assert_eq!(rx.len(), 3);
}

#[test]
fn watch_outside_a_run() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    assert!(rx.has_changed().unwrap());
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow_and_update(), 1);
    assert_eq!(tx.send_replace(2), 1);
    tx.send_modify(|v| *v += 1);
    assert_eq!(*block_on(rx.wait_for(|v| *v == 3)).unwrap(), 3);
    let mut rx2 = tx.subscribe();
    let waiter = thread::spawn(move || block_on(rx2.wait_for(|v| *v == 5)).map(|v| *v));
    release_from_another_thread(move || {
        tx.send(4).unwrap();
        tx.send(5).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(5));
    assert!(block_on(rx.changed()).is_ok() && block_on(rx.changed()).is_err());
    drop(rx);
}

#[test]
fn queues_outside_a_run() {
    let q = Arc::new(Queue::new(1));
    q.put_nowait(1).unwrap();
    let q2 = q.clone();
    let putter = thread::spawn(move || block_on(q2.put(2)).unwrap()); // Waits for room.
    thread::sleep(Duration::from_millis(20));
    assert_eq!(q.get_nowait().unwrap(), 1);
    putter.join().unwrap();
    assert_eq!(block_on(q.get()).unwrap(), 2);
    let q3 = q.clone();
    let joiner = thread::spawn(move || block_on(q3.join()));
    thread::sleep(Duration::from_millis(20));
    q.task_done().unwrap();
    q.task_done().unwrap();
    joiner.join().unwrap();
    q.shutdown(false);
    assert!(q.is_shutdown() && q.put_nowait(3).is_err());

    let p = PriorityQueue::new(0);
    for v in [3, 1, 2] {
        block_on(p.put(v)).unwrap();
    }
    let l = LifoQueue::new(0);
    for v in [1, 2] {
        l.put_nowait(v).unwrap();
    }
    assert_eq!(
        (block_on(p.get()).unwrap(), l.get_nowait().unwrap()),
        (1, 2)
    );
}

/// Channels filled before `block_on` are drained inside it; the run records from its
/// first operation on each (the receive), and the values are all there.
#[test]
fn channels_prefilled_outside_are_drained_inside_a_run() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::channel(4);
    let q = Queue::new(0);
    let (wtx, mut wrx) = watch::channel(0);
    for i in 0..3 {
        tx.send(i).unwrap();
        btx.try_send(i * 10).unwrap();
        q.put_nowait(i * 100).unwrap();
    }
    wtx.send(7).unwrap();
    drop((tx, btx));
    let mut rt = Builder::new().seed(1).build();
    let got = rt
        .block_on(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            while let Some(v) = brx.recv().await {
                got.push(v);
            }
            for _ in 0..3 {
                got.push(q.get().await.unwrap());
            }
            wrx.changed().await.unwrap();
            got.push(*wrx.borrow_and_update());
            got
        })
        .unwrap();
    assert_eq!(got, [0, 1, 2, 0, 10, 20, 0, 100, 200, 7]);
    let trace = rt.trace().to_string();
    assert!(
        !trace.contains(" send ") && !trace.contains(" put "),
        "{trace}"
    );
    assert!(
        trace.contains(" recv ") && trace.contains(" get "),
        "{trace}"
    );
}

/// A primitive used outside, then in a run, then outside again, then in another run:
/// each run registers it afresh and records only its own operations.
#[test]
fn a_primitive_moves_between_runs_and_outside() {
    let m = Arc::new(Mutex::new(0));
    *m.try_lock().unwrap() += 1;
    for expected in [3, 5] {
        let m2 = m.clone();
        let mut rt = Builder::new().seed(1).build();
        rt.block_on(async move { *m2.lock().await += 1 }).unwrap();
        assert_eq!(rt.trace().resources().len(), 1);
        *m.try_lock().unwrap() += 1;
        assert_eq!(*m.try_lock().unwrap(), expected);
    }
}

/// A detached use while a run on another thread owns the primitive fails with a clear
/// message instead of changing the run's state under it.
#[test]
fn outside_use_during_another_threads_run_is_a_clear_error() {
    static M: Mutex<u64> = Mutex::new(0);
    let (in_run, go_on) = (std_mpsc::channel(), std_mpsc::channel::<()>());
    let (entered, resume) = (in_run.0, go_on.1);
    let run = thread::spawn(move || {
        Builder::new().seed(1).build().block_on(async move {
            *M.lock().await += 1;
            entered.send(()).unwrap();
            resume.recv().unwrap(); // Really blocks this run's thread.
        })
    });
    in_run.1.recv().unwrap();
    let err = std::panic::catch_unwind(|| M.try_lock().map(|_| ())).unwrap_err();
    go_on.0.send(()).unwrap();
    run.join().unwrap().unwrap();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("is used by a simulated run and code outside any run at once")
            && msg.contains("sim::sync::Mutex::try_lock")
            && msg.contains("--test-threads=1"),
        "{msg}"
    );
    assert_eq!(
        *M.try_lock().unwrap(),
        1,
        "the run is over: outside use works again"
    );
}
