//! Semantics, conservation and cancellation-safety tests of `sim::sync`, swept over
//! seeds and strategies.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use sim::Builder;
use sim::sync::{Event, Mutex, Notify, Semaphore, mpsc, oneshot};
use sim::time::{sleep, timeout};

mod common;
use common::{impatient, ms, pick, sweep};

async fn join_all<T: 'static>(tasks: Vec<sim::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task failed"));
    }
    out
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mutex<u8>>();
    send_sync::<Mutex<std::cell::Cell<u8>>>(); // Mutex needs only T: Send
    send_sync::<sim::sync::MutexGuard<'static, u8>>();
    send::<sim::sync::OwnedMutexGuard<u8>>();
    send_sync::<Semaphore>();
    send_sync::<sim::sync::OwnedSemaphorePermit>();
    send_sync::<Notify>();
    send_sync::<Event>();
    send_sync::<mpsc::Sender<u8>>();
    send_sync::<mpsc::Receiver<u8>>();
    send_sync::<mpsc::UnboundedSender<u8>>();
    send::<mpsc::PollSender<u8>>();
    send_sync::<oneshot::Sender<u8>>();
    send_sync::<oneshot::Receiver<u8>>();
    send_sync::<sim::queue::Queue<u8>>();
    send_sync::<sim::queue::PriorityQueue<u8>>();
    // Futures are Send, so code with `Send` bounds compiles.
    fn future_send<F: Future + Send>(_: F) {}
    let m = Mutex::new(0u8);
    future_send(m.lock());
    let s = Semaphore::new(1);
    future_send(s.acquire());
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    future_send(tx.send(1));
    future_send(rx.recv());
    let q = sim::queue::Queue::<u8>::new(1);
    future_send(q.put(1));
    future_send(q.get());
}

#[test]
fn mutex_mutual_exclusion() {
    sweep(200, || async {
        let m = Arc::new(Mutex::new(0u32));
        let inside = Rc::new(Cell::new(0));
        let tasks = (0..4)
            .map(|_| {
                let (m, inside) = (m.clone(), inside.clone());
                sim::spawn(async move {
                    for _ in 0..3 {
                        let mut g = m.lock().await;
                        inside.set(inside.get() + 1);
                        assert_eq!(inside.get(), 1, "two tasks inside the lock");
                        let seen = *g;
                        sim::task::yield_now().await;
                        *g = seen + 1;
                        inside.set(inside.get() - 1);
                    }
                })
            })
            .collect();
        join_all(tasks).await;
        assert_eq!(*m.lock().await, 12);
    });
}

#[test]
fn mutex_try_lock_owned_and_into_inner() {
    sweep(5, || async {
        let m = Arc::new(Mutex::new(vec![1]));
        let g = m.clone().lock_owned().await;
        assert!(m.try_lock().is_err());
        let m2 = m.clone();
        let waiter = sim::spawn(async move { m2.lock().await.push(2) });
        sim::task::yield_now().await;
        drop(g);
        waiter.await.unwrap();
        let mut m = Arc::try_unwrap(m).unwrap();
        m.get_mut().push(3);
        assert_eq!(m.into_inner(), [1, 2, 3]);
    });
}

#[test]
fn mutex_cancellation_keeps_the_lock_usable() {
    sweep(200, || async {
        let m = Arc::new(Mutex::new(0u32));
        let wins = Rc::new(Cell::new(0));
        let tasks = (0..5)
            .map(|_| {
                let (m, wins) = (m.clone(), wins.clone());
                let hold = pick(4);
                let patience = pick(6);
                sim::spawn(async move {
                    if let Some(mut g) = impatient(ms(patience), m.lock()).await {
                        *g += 1;
                        wins.set(wins.get() + 1);
                        sleep(ms(hold)).await;
                    }
                })
            })
            .collect();
        join_all(tasks).await;
        let g = m
            .try_lock()
            .expect("the lock is free after every waiter gave up or finished");
        assert_eq!(*g, wins.get());
    });
}

#[test]
fn mutex_handed_over_then_dropped_passes_the_lock_on() {
    sweep(20, || async {
        let m = Mutex::new(());
        let g = m.lock().await;
        let mut first = Box::pin(m.lock());
        let mut second = Box::pin(m.lock());
        assert!(futures::poll!(first.as_mut()).is_pending());
        assert!(futures::poll!(second.as_mut()).is_pending());
        drop(g); // hands the lock to `first`
        drop(first); // which never takes it: it must go to `second`
        let g2 = second.await;
        drop(g2);
        assert!(m.try_lock().is_ok());
    });
}

#[test]
fn semaphore_never_exceeds_permits_and_conserves_them() {
    sweep(200, || async {
        let sem = Arc::new(Semaphore::new(3));
        let in_use = Rc::new(Cell::new(0u32));
        let tasks = (0..6)
            .map(|i| {
                let (sem, in_use) = (sem.clone(), in_use.clone());
                let n = 1 + (i % 3);
                let patience = pick(8);
                sim::spawn(async move {
                    let Some(permit) = impatient(ms(patience), sem.acquire_many(n)).await else {
                        return;
                    };
                    let permit = permit.unwrap();
                    assert_eq!(permit.num_permits(), n as usize);
                    in_use.set(in_use.get() + n);
                    assert!(in_use.get() <= 3, "{} permits in use", in_use.get());
                    sleep(ms(1 + pick(3))).await;
                    in_use.set(in_use.get() - n);
                })
            })
            .collect();
        join_all(tasks).await;
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn semaphore_fifo_close_forget_and_add() {
    sweep(20, || async {
        let sem = Arc::new(Semaphore::new(1));
        let p = sem.acquire().await.unwrap();
        let mut big = Box::pin(sem.acquire_many(2));
        assert!(futures::poll!(big.as_mut()).is_pending());
        drop(p);
        // The permit goes to the waiter at the front, which needs two and keeps it
        // meanwhile (as tokio's assigns it): FIFO, no barging, none available.
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_err());
        sem.add_permits(1);
        let both = big.await.unwrap();
        both.forget();
        assert_eq!(sem.available_permits(), 0);
        let s2 = sem.clone();
        let waiter = sim::spawn(async move { s2.acquire().await.map(drop) });
        sim::task::yield_now().await;
        sem.close();
        assert!(waiter.await.unwrap().is_err());
        assert!(sem.is_closed());
        assert_eq!(
            sem.try_acquire().unwrap_err(),
            sim::sync::TryAcquireError::Closed
        );
    });
}

#[test]
fn notify_permit_semantics() {
    sweep(20, || async {
        let n = Notify::new();
        n.notify_one();
        n.notify_one(); // at most one permit is stored
        n.notified().await;
        let mut second = Box::pin(n.notified());
        assert!(futures::poll!(second.as_mut()).is_pending());
        // notify_waiters stores nothing, but wakes a Notified created before it.
        let mut early = Box::pin(n.notified());
        n.notify_waiters();
        assert!(futures::poll!(early.as_mut()).is_ready());
        assert!(futures::poll!(second.as_mut()).is_ready());
        let mut late = Box::pin(n.notified());
        assert!(futures::poll!(late.as_mut()).is_pending());
        // A waiter chosen by notify_one and dropped passes the notification on.
        let mut next = Box::pin(n.notified());
        assert!(futures::poll!(next.as_mut()).is_pending());
        n.notify_one();
        drop(late);
        assert!(futures::poll!(next.as_mut()).is_ready());
        // With nobody left, a dropped chosen waiter leaves the permit behind.
        let mut lone = Box::pin(n.notified());
        assert!(futures::poll!(lone.as_mut()).is_pending());
        n.notify_one();
        drop(lone);
        assert!(futures::poll!(Box::pin(n.notified())).is_ready());
    });
}

#[test]
fn notify_never_loses_a_wakeup() {
    sweep(200, || async {
        let notify = Arc::new(Notify::new());
        let pending = Rc::new(Cell::new(0u32));
        let consumer = {
            let (notify, pending) = (notify.clone(), pending.clone());
            sim::spawn(async move {
                let mut got = 0;
                while got < 5 {
                    if pending.get() > 0 {
                        pending.set(pending.get() - 1);
                        got += 1;
                    } else {
                        impatient(ms(pick(3)), notify.notified()).await;
                    }
                }
            })
        };
        for _ in 0..5 {
            pending.set(pending.get() + 1);
            notify.notify_one();
            sim::task::yield_now().await;
        }
        consumer.await.unwrap();
    });
}

#[test]
fn event_set_clear_wait() {
    sweep(200, || async {
        let ev = Arc::new(Event::new());
        let passed = Rc::new(Cell::new(0));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let (ev, passed) = (ev.clone(), passed.clone());
                sim::spawn(async move {
                    ev.wait().await;
                    passed.set(passed.get() + 1);
                })
            })
            .collect();
        sim::task::yield_now().await;
        assert_eq!(passed.get(), 0);
        ev.set();
        join_all(waiters).await;
        assert_eq!(passed.get(), 3);
        ev.clear();
        let mut w = Box::pin(ev.wait());
        assert!(futures::poll!(w.as_mut()).is_pending());
        ev.set();
        assert!(ev.is_set());
        ev.clear(); // a waiter woken by set still completes (asyncio semantics)
        w.await;
        ev.set();
        ev.wait().await; // set: at once
        ev.clear();
        assert!(timeout(ms(5), ev.wait()).await.is_err());
    });
}

#[test]
fn mpsc_fifo_per_sender_with_backpressure() {
    sweep(200, || async {
        const CAP: usize = 2;
        let (tx, mut rx) = mpsc::channel(CAP);
        let sent = Rc::new(Cell::new(0usize));
        let received = Rc::new(Cell::new(0usize));
        for id in 0..3u32 {
            let (tx, sent, received) = (tx.clone(), sent.clone(), received.clone());
            sim::spawn(async move {
                for seq in 0..5u32 {
                    tx.send((id, seq)).await.unwrap();
                    sent.set(sent.get() + 1);
                    assert!(
                        sent.get() - received.get() <= CAP,
                        "backpressure bound broken"
                    );
                }
            });
        }
        drop(tx);
        let mut next = [0u32; 3];
        while let Some((id, seq)) = rx.recv().await {
            received.set(received.get() + 1);
            assert!(rx.len() <= CAP);
            assert_eq!(seq, next[id as usize], "sender {id} out of order");
            next[id as usize] += 1;
            if pick(2) == 0 {
                sim::task::yield_now().await;
            }
        }
        assert_eq!(next, [5, 5, 5]); // None only after every sender is gone
    });
}

#[test]
fn mpsc_try_send_reserve_close() {
    sweep(10, || async {
        let (tx, mut rx) = mpsc::channel(1);
        let permit = tx.reserve().await.unwrap();
        assert!(matches!(
            tx.try_send(1),
            Err(mpsc::error::TrySendError::Full(1))
        ));
        permit.send(0);
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
        tx.try_send(2).unwrap();
        rx.close();
        assert!(matches!(
            tx.try_send(3),
            Err(mpsc::error::TrySendError::Closed(3))
        ));
        assert_eq!(tx.send(4).await.unwrap_err().0, 4);
        assert_eq!(rx.recv().await, Some(2)); // buffered messages survive close
        assert_eq!(rx.recv().await, None);

        let (utx, mut urx) = mpsc::unbounded_channel();
        for i in 0..100 {
            utx.send(i).unwrap();
        }
        drop(utx);
        assert_eq!(
            urx.by_ref().collect::<Vec<_>>().await,
            (0..100).collect::<Vec<_>>()
        );
        assert_eq!(urx.recv().await, None);

        let (tx, rx) = mpsc::channel::<u8>(1);
        drop(rx);
        assert!(tx.is_closed());
        assert!(tx.send(1).await.is_err());
    });
}

#[test]
fn mpsc_conservation_many_producers_many_consumers_with_cancellation() {
    sweep(200, || async {
        let (tx, rx) = mpsc::channel::<(u32, u32)>(2);
        let rx = Arc::new(Mutex::new(rx));
        let delivered = Rc::new(RefCell::new(Vec::new()));
        let accepted = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for id in 0..3 {
            let (tx, accepted) = (tx.clone(), accepted.clone());
            tasks.push(sim::spawn(async move {
                for seq in 0..4 {
                    // A send that times out did not send: it is retried.
                    loop {
                        match impatient(ms(pick(3)), tx.send((id, seq))).await {
                            Some(r) => break r.unwrap(),
                            None => continue,
                        }
                    }
                    accepted.borrow_mut().push((id, seq));
                }
            }));
        }
        drop(tx);
        for _ in 0..2 {
            let (rx, delivered) = (rx.clone(), delivered.clone());
            tasks.push(sim::spawn(async move {
                loop {
                    let mut rx = rx.lock().await;
                    match impatient(ms(pick(4)), rx.recv()).await {
                        Some(Some(m)) => delivered.borrow_mut().push(m),
                        Some(None) => break,
                        None => {} // cancelled receive: must lose nothing
                    }
                    drop(rx);
                    sim::task::yield_now().await;
                }
            }));
        }
        join_all(tasks).await;
        let delivered = delivered.borrow();
        let unique: BTreeSet<_> = delivered.iter().copied().collect();
        assert_eq!(
            unique.len(),
            delivered.len(),
            "a message was received twice"
        );
        let accepted: BTreeSet<_> = accepted.borrow().iter().copied().collect();
        assert_eq!(unique, accepted, "lost or invented messages");
        assert_eq!(unique.len(), 12);
    });
}

#[test]
fn mpsc_poll_sender_is_a_sink() {
    sweep(20, || async {
        let (tx, rx) = mpsc::channel(1);
        let mut sink = mpsc::PollSender::new(tx);
        let producer = sim::spawn(async move {
            sink.send_all(&mut futures::stream::iter((0..5).map(Ok)))
                .await
                .unwrap();
        });
        assert_eq!(rx.collect::<Vec<_>>().await, [0, 1, 2, 3, 4]);
        producer.await.unwrap();
    });
}

#[test]
fn oneshot_send_recv_and_closed_errors() {
    sweep(50, || async {
        let (tx, rx) = oneshot::channel();
        let t = sim::spawn(async move {
            sleep(ms(pick(3))).await;
            tx.send(5).unwrap();
        });
        assert_eq!(rx.await, Ok(5));
        t.await.unwrap();

        let (tx, mut rx) = oneshot::channel::<u8>();
        assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
        // A timed-out receive loses nothing.
        assert!(timeout(ms(1), &mut rx).await.is_err());
        drop(tx);
        assert!(rx.await.is_err());

        let (tx, rx) = oneshot::channel::<u8>();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(3), Err(3));

        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let closer = sim::spawn(async move {
            rx.close();
            rx.try_recv()
        });
        tx.closed().await;
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(
            closer.await.unwrap(),
            Err(oneshot::error::TryRecvError::Closed)
        );
    });
}

#[test]
fn oneshot_cancelled_receive_then_value_arrives() {
    sweep(200, || async {
        let (tx, mut rx) = oneshot::channel();
        sim::spawn(async move {
            sleep(ms(pick(4))).await;
            let _ = tx.send(9);
        });
        loop {
            if let Ok(v) = timeout(ms(1), &mut rx).await {
                assert_eq!(v, Ok(9));
                break;
            }
        }
    });
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    use sim::sync::RwLock;
    sweep(200, || async {
        let lock = Arc::new(RwLock::new(0u32));
        let readers = Rc::new(Cell::new(0u32));
        let writers = Rc::new(Cell::new(0u32));
        let max_readers = Rc::new(Cell::new(0u32));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (lock, readers, writers, max_readers) = (
                lock.clone(),
                readers.clone(),
                writers.clone(),
                max_readers.clone(),
            );
            tasks.push(sim::spawn(async move {
                for _ in 0..2 {
                    if i % 3 == 0 {
                        let mut g = lock.write().await;
                        writers.set(writers.get() + 1);
                        assert_eq!((writers.get(), readers.get()), (1, 0), "writer not alone");
                        sim::task::yield_now().await;
                        *g += 1;
                        writers.set(writers.get() - 1);
                    } else {
                        let patience = pick(4);
                        let Some(g) = impatient(ms(patience), lock.read()).await else {
                            continue;
                        };
                        readers.set(readers.get() + 1);
                        max_readers.set(max_readers.get().max(readers.get()));
                        assert_eq!(writers.get(), 0, "reader with a writer");
                        sleep(ms(pick(2))).await;
                        let _ = *g;
                        readers.set(readers.get() - 1);
                    }
                }
            }));
        }
        join_all(tasks).await;
        assert_eq!(*lock.read().await, 4);
        assert!(lock.try_write().is_ok(), "every guard and waiter is gone");
    });
}

#[test]
fn rwlock_is_writer_preferring() {
    use sim::sync::RwLock;
    sweep(20, || async {
        let lock = RwLock::new(());
        let r1 = lock.read().await;
        let mut w = Box::pin(lock.write());
        assert!(futures::poll!(w.as_mut()).is_pending());
        // A writer waits: a new reader queues behind it, though only readers hold it.
        assert!(lock.try_read().is_err());
        let mut r2 = Box::pin(lock.read());
        assert!(futures::poll!(r2.as_mut()).is_pending());
        drop(r1);
        let wg = w.await;
        assert!(futures::poll!(r2.as_mut()).is_pending());
        drop(wg);
        let _r2 = r2.await;
        assert!(lock.try_read().is_ok());
    });
}

#[test]
fn barrier_one_leader_per_generation() {
    use sim::sync::Barrier;
    sweep(200, || async {
        let barrier = Arc::new(Barrier::new(3));
        let leaders = Rc::new(RefCell::new([0u32; 2]));
        let phase = Rc::new(Cell::new(0u32));
        let tasks = (0..3)
            .map(|_| {
                let (barrier, leaders, phase) = (barrier.clone(), leaders.clone(), phase.clone());
                sim::spawn(async move {
                    for generation in 0..2 {
                        sleep(ms(pick(3))).await;
                        let r = barrier.wait().await;
                        if r.is_leader() {
                            leaders.borrow_mut()[generation] += 1;
                            phase.set(phase.get() + 1);
                        }
                        // Nobody leaves a generation before all arrived at it.
                        assert!(phase.get() > generation as u32);
                    }
                })
            })
            .collect();
        join_all(tasks).await;
        assert_eq!(*leaders.borrow(), [1, 1]);
    });
}

#[test]
fn barrier_cancelled_wait_withdraws() {
    use sim::sync::Barrier;
    sweep(20, || async {
        let barrier = Barrier::new(2);
        assert!(timeout(ms(1), barrier.wait()).await.is_err());
        // The cancelled arrival does not count: one more wait alone does not pass.
        assert!(timeout(ms(1), barrier.wait()).await.is_err());
        let (a, b) = futures::join!(barrier.wait(), barrier.wait());
        assert_eq!(u8::from(a.is_leader()) + u8::from(b.is_leader()), 1);
    });
}

#[test]
fn condvar_wait_while_and_notify() {
    use sim::sync::Condvar;
    sweep(200, || async {
        let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
        let consumers: Vec<_> = (0..3)
            .map(|i| {
                let shared = shared.clone();
                sim::spawn(async move {
                    let (m, cv) = &*shared;
                    let g = m.lock().await;
                    let g = if i == 0 {
                        // A cancelled wait must not lose the notification for others.
                        match impatient(ms(pick(3)), cv.wait_while(g, |n| *n < 3)).await {
                            Some(g) => g,
                            None => cv.wait_while(m.lock().await, |n| *n < 3).await,
                        }
                    } else {
                        cv.wait_while(g, |n| *n < 3).await
                    };
                    assert!(*g >= 3);
                })
            })
            .collect();
        for _ in 0..3 {
            sleep(ms(1)).await;
            *shared.0.lock().await += 1;
            if pick(2) == 0 {
                shared.1.notify_all();
            } else {
                for _ in 0..3 {
                    shared.1.notify_one();
                }
            }
        }
        join_all(consumers).await;
        assert!(shared.0.try_lock().is_ok());
    });
}

#[test]
fn condvar_chosen_waiter_dropped_passes_notification_on() {
    use sim::sync::Condvar;
    sweep(10, || async {
        let m = Mutex::new(());
        let cv = Condvar::new();
        let mut first = Box::pin(cv.wait(m.lock().await));
        assert!(futures::poll!(first.as_mut()).is_pending());
        let mut second = Box::pin(cv.wait(m.lock().await)); // the first unlocked
        assert!(futures::poll!(second.as_mut()).is_pending());
        cv.notify_one();
        drop(first);
        let g = second.await;
        drop(g);
        assert!(m.try_lock().is_ok());
    });
}

#[test]
fn broadcast_every_receiver_sees_every_message_or_exact_lag() {
    use sim::sync::broadcast::{self, error::RecvError};
    sweep(200, || async {
        let (tx, rx) = broadcast::channel::<u32>(2);
        let rxs: Vec<_> = (0..3).map(|_| tx.subscribe()).collect();
        drop(rx);
        let tasks: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                sim::spawn(async move {
                    let mut expected = 0u32;
                    loop {
                        match timeout(ms(pick(3)), rx.recv()).await {
                            Ok(Ok(v)) => {
                                assert_eq!(v, expected, "out of order or skipped without Lagged");
                                expected += 1;
                            }
                            Ok(Err(RecvError::Lagged(n))) => expected += n as u32,
                            Ok(Err(RecvError::Closed)) => break,
                            Err(_) => {} // cancelled: nothing may be skipped
                        }
                    }
                    expected
                })
            })
            .collect();
        for i in 0..6 {
            tx.send(i).unwrap();
            if pick(2) == 0 {
                sleep(ms(1)).await;
            }
        }
        drop(tx);
        for n in join_all(tasks).await {
            assert_eq!(n, 6, "every message was received or counted as lagged");
        }
    });
}

#[test]
fn broadcast_lagged_count_exact_and_stream() {
    use sim::sync::broadcast::{self, error::RecvError, error::TryRecvError};
    sweep(10, || async {
        // Capacity 3 keeps the last 4 messages (rounded up to a power of two, as tokio).
        let (tx, mut rx) = broadcast::channel(3);
        let mut rx2 = rx.resubscribe();
        for i in 0..10 {
            assert_eq!(tx.send(i).unwrap(), 2);
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(6)));
        assert_eq!(rx.try_recv(), Ok(6));
        assert_eq!(rx2.recv().await, Err(RecvError::Lagged(6)));
        drop(tx);
        let rest: Vec<_> = rx.collect().await;
        assert_eq!(rest, [Ok(7), Ok(8), Ok(9)]);
        assert_eq!(rx2.recv().await, Ok(6));
        let (tx, rx) = broadcast::channel::<u8>(1);
        drop(rx);
        assert!(tx.send(1).is_err());
    });
}

#[test]
fn watch_changed_semantics() {
    use sim::sync::watch;
    sweep(200, || async {
        let (tx, mut rx) = watch::channel(0u32);
        assert!(!rx.has_changed().unwrap());
        let observer = sim::spawn(async move {
            let mut last = 0;
            loop {
                match timeout(ms(pick(3)), rx.changed()).await {
                    Ok(Ok(())) => {
                        let v = *rx.borrow_and_update();
                        assert!(v > last, "changed() without a new value");
                        last = v;
                    }
                    Ok(Err(_)) => break,
                    Err(_) => {} // cancelled: a change must not be lost
                }
            }
            // Senders gone: the latest value was seen.
            assert_eq!(*rx.borrow(), 5);
            last
        });
        for i in 1..=5 {
            tx.send(i).unwrap();
            sleep(ms(pick(2))).await;
        }
        drop(tx);
        assert_eq!(observer.await.unwrap(), 5);

        let (tx, mut rx) = watch::channel(1);
        tx.send_modify(|v| *v += 1);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.wait_for(|v| *v == 2).await.unwrap(), 2);
        let mut rx2 = rx.clone();
        tx.send(3).unwrap();
        rx2.changed().await.unwrap();
        let t = sim::spawn(async move { rx.collect::<Vec<_>>().await });
        sim::task::yield_now().await;
        drop(tx);
        assert!(t.await.unwrap().len() <= 1);
    });
}

#[test]
fn statics_work_across_runs() {
    static LOCK: Mutex<u32> = Mutex::new(0);
    static SEM: Semaphore = Semaphore::new(1);
    for seed in 0..3 {
        let mut rt = Builder::new().seed(seed).build();
        rt.block_on(async {
            let _p = SEM.acquire().await.unwrap();
            *LOCK.lock().await += 1;
        })
        .unwrap();
        // Each run registers the statics afresh: they appear in its trace.
        let kinds: Vec<_> = rt.trace().resources().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["semaphore", "mutex"]);
    }
    let mut rt = Builder::new().build();
    assert_eq!(rt.block_on(async { *LOCK.lock().await }).unwrap(), 3);
}

#[test]
fn trace_records_waits_cancellations_and_operations() {
    use sim::sync::RwLock;
    let mut rt = Builder::new().seed(3).build();
    rt.block_on(async {
        let m = Mutex::new(());
        let g = m.lock().await;
        assert!(timeout(ms(1), m.lock()).await.is_err());
        drop(g);
        let rw = RwLock::new(());
        let r = rw.read().await;
        drop(r);
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(1).await.unwrap();
        rx.recv().await.unwrap();
    })
    .unwrap();
    let text = rt.trace().to_string();
    for needle in [
        "acquire mutex#r0 n=1",
        "wait mutex#r0",
        "wait-cancelled mutex#r0",
        "release mutex#r0 n=1",
        "acquire-shared rwlock#r1 readers=1",
        "release-shared rwlock#r1 readers=0",
        "send mpsc#r2 len=1",
        "recv mpsc#r2 len=0",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn waiters_left_at_the_end_of_a_run_are_dropped_cleanly() {
    sweep(10, || async {
        let m = Arc::new(Mutex::new(()));
        let g = m.clone().lock_owned().await;
        let q = sim::queue::Queue::<u8>::new(1);
        let (_tx, mut rx) = mpsc::channel::<u8>(1);
        let n = Arc::new(Notify::new());
        {
            let (m, q, n) = (m.clone(), q.clone(), n.clone());
            sim::spawn(async move {
                let _ = m.lock().await;
            });
            sim::spawn(async move {
                let _ = q.get().await;
            });
            sim::spawn(async move { n.notified().await });
        }
        sim::spawn(async move { rx.recv().await });
        sim::task::yield_now().await;
        drop(g); // the mutex waiter is handed the lock but never runs again
    });
}

#[test]
fn owned_permits_and_reservations_are_conserved() {
    sweep(200, || async {
        let sem = Arc::new(Semaphore::new(2));
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let mut tasks = Vec::new();
        for i in 0..4u32 {
            let (sem, tx) = (sem.clone(), tx.clone());
            tasks.push(sim::spawn(async move {
                if let Some(Ok(p)) = impatient(ms(pick(3)), sem.clone().acquire_owned()).await {
                    assert_eq!(p.num_permits(), 1);
                    sleep(ms(pick(2))).await;
                }
                if let Some(Ok(permit)) = impatient(ms(pick(3)), tx.reserve()).await {
                    if i % 2 == 0 {
                        permit.send(i);
                    } // else: dropped unused, the slot comes back
                }
                if let Some(Ok(p)) = impatient(ms(pick(3)), tx.clone().reserve_owned()).await {
                    drop(p.release());
                }
            }));
        }
        drop(tx);
        let consumer = sim::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
                sleep(ms(1)).await;
            }
            got
        });
        join_all(tasks).await;
        let got = consumer.await.unwrap();
        assert!(got.iter().all(|v| v % 2 == 0));
        assert_eq!(sem.available_permits(), 2);
        assert!(sem.clone().try_acquire_owned().is_ok());
    });
}

#[test]
fn lock_order_inversion_is_reported_as_a_deadlock() {
    let mut report = None;
    for seed in 0..100 {
        let mut rt = Builder::new().seed(seed).build();
        let result = rt.block_on(async {
            let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
            let (a2, b2) = (a.clone(), b.clone());
            let t1 = sim::spawn(async move {
                let _ga = a.lock().await;
                sim::task::yield_now().await;
                let _gb = b.lock().await;
            });
            let t2 = sim::spawn(async move {
                let _gb = b2.lock().await;
                sim::task::yield_now().await;
                let _ga = a2.lock().await;
            });
            // A bystander keeps the run alive: only a partial deadlock check sees it.
            let ticker = sim::spawn(async {
                for _ in 0..50 {
                    sleep(ms(1)).await;
                }
            });
            t1.await.unwrap();
            t2.await.unwrap();
            ticker.await.unwrap();
        });
        if let Err(failure) = result {
            assert_eq!(failure.kind(), sim::FailureKind::Deadlock, "{failure}");
            report = Some(failure.to_string());
            break;
        }
    }
    let report = report.expect("some seed interleaves the two lock orders");
    assert!(
        report.contains("mutex#r0") && report.contains("mutex#r1"),
        "{report}"
    );
}

#[test]
fn a_primitive_shared_by_several_threads_keeps_its_state() {
    // Primitives are `Sync` (like tokio's): threads may share one, and its internal lock
    // must then serialise them. Outside runs (two runs at once on one primitive are an
    // error, see tests/shared.rs), `try_lock` on four threads contends only on the lock
    // around the mutex's state.
    static SHARED: Mutex<u64> = Mutex::new(0);
    let threads: Vec<_> = (0..4u64)
        .map(|_| {
            std::thread::spawn(move || {
                let mut won = 0u64;
                for _ in 0..20_000 {
                    if let Ok(mut g) = SHARED.try_lock() {
                        *g += 1;
                        won += 1;
                    }
                }
                won
            })
        })
        .collect();
    let won: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let total = Builder::new()
        .build()
        .block_on(async { *SHARED.try_lock().unwrap() })
        .unwrap();
    assert_eq!(total, won);
    assert!(won > 0);
}

/// A waker whose drop runs `on_drop` (user code, as any waker's drop may be).
struct DropHook(std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl std::task::Wake for DropHook {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropHook {
    fn drop(&mut self) {
        if let Some(f) = self.0.lock().unwrap().take() {
            f();
        }
    }
}

fn waker_dropping(on_drop: impl FnOnce() + Send + 'static) -> std::task::Waker {
    std::task::Waker::from(Arc::new(DropHook(std::sync::Mutex::new(Some(Box::new(
        on_drop,
    ))))))
}

/// Runs `body` in a run on its own thread; fails if it does not finish within ten
/// seconds (a primitive that drops a waker under its state lock spins forever when the
/// waker's drop takes that lock again).
fn finishes_in_time(body: fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>>) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = Builder::new().seed(1).build().block_on(body());
        done_tx.send(result.map_err(|f| f.to_string())).unwrap();
    });
    match done_rx.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(result) => result.unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the run hung: a waker was dropped under a primitive's lock")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the run's thread panicked"),
    }
}

#[test]
fn broadcast_drops_a_replaced_waker_outside_its_lock() {
    use sim::sync::broadcast;
    finishes_in_time(|| {
        Box::pin(async {
            let (tx, mut rx) = broadcast::channel::<u32>(4);
            let sender = tx.clone();
            let user = waker_dropping(move || {
                let _ = sender.send(7);
            });
            let mut cx = std::task::Context::from_waker(&user);
            assert!(rx.poll_recv(&mut cx).is_pending());
            drop(user); // The channel holds the last clone.
            // Polled again with the task's waker, the receiver replaces the user waker,
            // whose drop sends.
            assert_eq!(rx.recv().await, Ok(7));
            drop(tx);
        })
    });
}

#[test]
fn watch_drops_a_replaced_waker_outside_its_lock() {
    use sim::sync::watch;
    finishes_in_time(|| {
        Box::pin(async {
            let (tx, mut rx) = watch::channel(0u32);
            let tx = Arc::new(tx);
            let sender = tx.clone();
            let user = waker_dropping(move || {
                let _ = sender.send(7);
            });
            let mut cx = std::task::Context::from_waker(&user);
            assert!(rx.poll_changed(&mut cx).is_pending());
            drop(user);
            rx.changed().await.unwrap();
            assert_eq!(*rx.borrow(), 7);
        })
    });
}

#[test]
fn a_cancelled_waiter_drops_its_waker_outside_the_lock() {
    finishes_in_time(|| {
        Box::pin(async {
            let m = Arc::new(Mutex::new(0u32));
            let g = m.lock().await;
            let locker = m.clone();
            let user = waker_dropping(move || {
                let _ = locker.try_lock();
            });
            let mut lock = Box::pin(m.lock());
            let mut cx = std::task::Context::from_waker(&user);
            assert!(lock.as_mut().poll(&mut cx).is_pending());
            drop(user);
            drop(lock); // Cancelled: its waker, the user's, is removed and dropped.
            drop(g);
            assert!(m.try_lock().is_ok());
        })
    });
}
