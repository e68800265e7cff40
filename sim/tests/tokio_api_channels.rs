//! tokio's documented semantics for the channel API added for issue 18 (broadcast,
//! watch, mpsc), each checked inside a run and outside one, and the rule that no user
//! value (a waker, a message) is dropped while a primitive's state is locked. Written
//! from tokio's docs, not from its tests.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::executor::block_on;
use sim::sync::{broadcast, mpsc, oneshot, watch};

mod common;
use common::run;

/// Runs `f` on another thread; fails (instead of hanging the test) if it does not
/// finish within ten seconds.
fn within_deadline(name: &str, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
    });
    match done_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: hung (a user value dropped under a lock?)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: failed"),
    }
}

/// Counts drops of a message.
#[derive(Clone)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that runs `on_drop` when its last clone is dropped.
struct DropHook(StdMutex<Option<Box<dyn FnOnce() + Send>>>);

impl Wake for DropHook {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropHook {
    fn drop(&mut self) {
        if let Some(f) = self.0.lock().unwrap().take() {
            f();
        }
    }
}

fn hook_waker(f: impl FnOnce() + Send + 'static) -> Waker {
    Waker::from(Arc::new(DropHook(StdMutex::new(Some(Box::new(f))))))
}

// ---- broadcast ----

#[test]
#[should_panic(expected = "usize::MAX / 2")]
fn broadcast_capacity_past_half_the_address_space_panics() {
    let _ = broadcast::channel::<u8>((usize::MAX >> 1) + 1);
}

fn last_receiver_drop_drops_buffered_values() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = broadcast::channel(4);
    let rx2 = rx.resubscribe();
    tx.send(Counted(drops.clone())).unwrap();
    tx.send(Counted(drops.clone())).unwrap();
    drop(rx);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "rx2 can still receive them"
    );
    drop(rx2);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "no one can receive them now"
    );
    assert!(tx.is_empty());
    let mut rx3 = tx.subscribe();
    assert_eq!(
        rx3.try_recv().err(),
        Some(broadcast::error::TryRecvError::Empty)
    );
}

#[test]
fn broadcast_last_receiver_drop_drops_values_in_and_outside_a_run() {
    last_receiver_drop_drops_buffered_values();
    run(async { last_receiver_drop_drops_buffered_values() });
}

async fn broadcast_sender_api() {
    let tx = broadcast::Sender::new(2);
    assert_eq!(tx.receiver_count(), 0);
    assert!(tx.send(0).is_err(), "no receiver yet");
    tx.closed().await; // no receiver: at once
    let mut a = tx.subscribe();
    let mut b = tx.subscribe();
    assert!(tx.is_empty());
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(tx.len(), 2);
    assert_eq!(a.recv().await, Ok(1));
    assert_eq!(tx.len(), 2, "b has not seen 1");
    assert_eq!(b.recv().await, Ok(1));
    assert_eq!(tx.len(), 1);
    tx.send(3).unwrap(); // overwrites 1
    tx.send(4).unwrap(); // overwrites 2: a and b lag
    assert_eq!(tx.len(), 2, "overwritten values are not queued");
    assert_eq!(a.recv().await, Err(broadcast::error::RecvError::Lagged(1)));
    assert_eq!(a.recv().await, Ok(3));
    drop(b);
    assert_eq!(tx.len(), 1, "a dropped receiver has seen everything");
    assert_eq!(a.recv().await, Ok(4));
    assert!(tx.is_empty());
    drop(a);
    tx.closed().await;
}

/// A capacity is rounded up to a power of two, as tokio's: capacity 3 keeps four
/// messages before a receiver lags (tokio's `lag_uses_power_of_two_buffer_length`).
#[test]
fn broadcast_capacity_rounds_up_to_a_power_of_two() {
    let (tx, mut rx) = broadcast::channel(3);
    for i in 1..=4 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 4);
    assert_eq!(rx.try_recv(), Ok(1));
    tx.send(5).unwrap();
    assert_eq!(rx.len(), 4);
    tx.send(6).unwrap(); // overwrites 2
    assert_eq!(
        rx.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(1))
    );
    assert_eq!(rx.try_recv(), Ok(3));
    let (tx, mut rx) = broadcast::channel(4);
    for i in 1..=5 {
        tx.send(i).unwrap();
    }
    assert_eq!(
        rx.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(1))
    );
}

#[test]
fn broadcast_sender_api_in_and_outside_a_run() {
    block_on(broadcast_sender_api());
    run(broadcast_sender_api());
}

#[test]
fn broadcast_closed_waits_for_the_last_receiver_in_a_run() {
    let order = run(async {
        let (tx, rx) = broadcast::channel::<u8>(1);
        let rx2 = tx.subscribe();
        let log = Arc::new(StdMutex::new(Vec::new()));
        let l = log.clone();
        let t = sim::spawn(async move {
            sim::time::sleep(Duration::from_millis(5)).await;
            l.lock().unwrap().push("drop rx");
            drop(rx);
            sim::time::sleep(Duration::from_millis(5)).await;
            l.lock().unwrap().push("drop rx2");
            drop(rx2);
        });
        tx.closed().await;
        log.lock().unwrap().push("closed");
        t.await.unwrap();
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    assert_eq!(order, ["drop rx", "drop rx2", "closed"]);
}

/// The regression of issue 18: a waker replaced in `poll_recv` whose drop sends on the
/// same channel must not be dropped while the channel's state is locked (that send
/// would wait for the lock forever).
fn broadcast_waker_dropping_sends() {
    let (tx, mut rx) = broadcast::channel::<u8>(4);
    let tx2 = tx.clone();
    let first = hook_waker(move || {
        let _ = tx2.send(7);
    });
    assert!(rx.poll_recv(&mut Context::from_waker(&first)).is_pending());
    drop(first); // the channel holds the only clone now
    // A poll with another waker replaces (and drops) the first one.
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(Waker::noop())),
        Poll::Pending
    );
    assert_eq!(rx.try_recv(), Ok(7), "the drop's send went through");
    // Dropping the receiver (and its parked waker) while waiting.
    let tx3 = tx.clone();
    let parked = hook_waker(move || {
        let _ = tx3.send(8);
    });
    let mut rx2 = tx.subscribe();
    assert!(
        rx2.poll_recv(&mut Context::from_waker(&parked))
            .is_pending()
    );
    drop(parked);
    drop(rx2);
    assert_eq!(rx.try_recv(), Ok(8));
}

#[test]
fn broadcast_a_waker_whose_drop_sends_does_not_hang() {
    within_deadline("outside a run", broadcast_waker_dropping_sends);
    within_deadline("inside a run", || {
        run(async { broadcast_waker_dropping_sends() })
    });
}

/// The same rule for every other channel: the receiver's waker, replaced by a second
/// poll or dropped with the receiver, sends on the channel when dropped.
fn other_channels_waker_dropping_sends() {
    // mpsc
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let tx2 = tx.clone();
    let w = hook_waker(move || {
        let _ = tx2.send(1);
    });
    assert!(rx.poll_recv(&mut Context::from_waker(&w)).is_pending());
    drop(w);
    // The second poll finds nothing, then drops the replaced waker, which sends.
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(Waker::noop())),
        Poll::Pending
    );
    assert_eq!(rx.try_recv(), Ok(1));
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let tx2 = tx.clone();
    let w = hook_waker(move || {
        let _ = tx2.try_send(2);
    });
    assert!(rx.poll_recv(&mut Context::from_waker(&w)).is_pending());
    drop(w);
    drop(rx); // drops the parked waker: its try_send finds the channel closed
    drop(tx);
    // watch
    let (tx, mut rx) = watch::channel(0u8);
    let tx = Arc::new(tx);
    let tx2 = tx.clone();
    let w = hook_waker(move || {
        let _ = tx2.send(1);
    });
    {
        let mut changed = pin!(rx.changed());
        assert!(
            changed
                .as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        drop(w);
        // Dropping the future cancels its wait and drops the waker.
    }
    assert_eq!(*rx.borrow_and_update(), 1);
    // oneshot: the sender's `closed` waker receives through another channel.
    let (tx, rx) = oneshot::channel::<u8>();
    let (ctx, mut crx) = mpsc::unbounded_channel::<u8>();
    let w = hook_waker(move || {
        let _ = ctx.send(3);
    });
    let mut tx = tx;
    assert!(tx.poll_closed(&mut Context::from_waker(&w)).is_pending());
    drop(w);
    drop(rx);
    assert_eq!(
        tx.poll_closed(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(())
    );
    drop(tx);
    assert_eq!(crx.try_recv(), Ok(3));
}

#[test]
fn every_channel_drops_wakers_outside_its_lock() {
    within_deadline("outside a run", other_channels_waker_dropping_sends);
    within_deadline("inside a run", || {
        run(async { other_channels_waker_dropping_sends() })
    });
}

// ---- watch ----

async fn watch_api() {
    let (tx, mut rx) = watch::channel(1);
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    rx.changed().await.unwrap();
    assert!(!rx.has_changed().unwrap());
    assert_eq!(*rx.borrow(), 1);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    tx.closed().await;
    assert!(tx.is_closed());
}

#[test]
fn watch_api_in_and_outside_a_run() {
    block_on(watch_api());
    run(watch_api());
}

#[test]
fn watch_closed_waits_for_the_last_receiver_in_a_run() {
    run(async {
        let (tx, rx) = watch::channel(0);
        let rx2 = rx.clone();
        let t = sim::spawn(async move {
            sim::time::sleep(Duration::from_millis(3)).await;
            drop(rx);
            sim::time::sleep(Duration::from_millis(3)).await;
            drop(rx2);
        });
        tx.closed().await;
        assert_eq!(
            sim::time::Instant::now().since_start(),
            Duration::from_millis(6)
        );
        t.await.unwrap();
    });
}

// ---- mpsc ----

async fn mpsc_reservations() {
    let (tx, mut rx) = mpsc::channel::<u32>(3);
    assert_eq!(tx.max_capacity(), 3);
    // try_reserve / try_reserve_many
    let p = tx.try_reserve().unwrap();
    let mut many = tx.try_reserve_many(2).unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(
        tx.try_reserve(),
        Err(mpsc::error::TrySendError::Full(()))
    ));
    assert!(
        matches!(
            tx.try_reserve_many(4),
            Err(mpsc::error::TrySendError::Full(()))
        ),
        "more than max_capacity is Full"
    );
    p.send(1);
    many.next().unwrap().send(2);
    drop(many); // one slot back
    assert_eq!(tx.capacity(), 1);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(tx.capacity(), 3);
    // reserve_many
    let permits = tx.reserve_many(3).await.unwrap();
    assert_eq!(tx.capacity(), 0);
    for (i, p) in permits.enumerate() {
        p.send(10 + i as u32);
    }
    let mut got = Vec::new();
    assert_eq!(rx.recv_many(&mut got, 10).await, 3);
    assert_eq!(got, [10, 11, 12]);
    assert!(tx.reserve_many(4).await.is_err(), "more than max_capacity");
    // try_reserve_owned
    let owned = tx.clone().try_reserve_owned().unwrap();
    let tx2 = owned.send(20);
    assert_eq!(rx.try_recv(), Ok(20));
    rx.close();
    assert!(matches!(
        tx2.try_reserve_owned(),
        Err(mpsc::error::TrySendError::Closed(_))
    ));
    assert!(tx.reserve_many(1).await.is_err(), "closed");
    assert!(matches!(
        tx.try_reserve_many(1),
        Err(mpsc::error::TrySendError::Closed(()))
    ));
}

#[test]
fn mpsc_reservations_in_and_outside_a_run() {
    block_on(mpsc_reservations());
    run(mpsc_reservations());
}

#[test]
fn reserve_many_waits_for_all_its_slots_in_a_run() {
    let got = run(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        tx.send(0).await.unwrap();
        let t = sim::spawn(async move {
            let permits = tx.reserve_many(2).await.unwrap();
            for p in permits {
                p.send(1);
            }
        });
        sim::time::sleep(Duration::from_millis(1)).await;
        assert!(!t.is_finished(), "one slot is not enough");
        let mut got = vec![rx.recv().await.unwrap()];
        t.await.unwrap();
        rx.recv_many(&mut got, 5).await;
        got
    });
    assert_eq!(got, [0, 1, 1]);
}

async fn mpsc_receivers() {
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    assert!(!rx.is_closed());
    let mut buf = Vec::new();
    assert_eq!(
        rx.recv_many(&mut buf, 0).await,
        0,
        "a limit of 0 returns at once"
    );
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert_eq!(rx.recv_many(&mut buf, 1).await, 1);
    drop(tx);
    assert!(rx.is_closed(), "every sender is gone");
    assert_eq!(rx.recv_many(&mut buf, 5).await, 1);
    assert_eq!(rx.recv_many(&mut buf, 5).await, 0);
    assert_eq!(buf, [1, 2]);

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    assert!(!rx.is_closed());
    rx.close();
    assert!(rx.is_closed());
    assert!(tx.send(1).is_err());
    assert_eq!(rx.recv_many(&mut buf, 5).await, 0);
}

#[test]
fn mpsc_receiver_api_in_and_outside_a_run() {
    block_on(mpsc_receivers());
    run(mpsc_receivers());
}

async fn weak_senders() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    let strong = weak.upgrade().unwrap();
    assert_eq!(weak.strong_count(), 2);
    strong.send(1).await.unwrap();
    drop((tx, strong));
    assert!(weak2.upgrade().is_none(), "no strong sender left");
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None, "weak senders do not keep it open");
    drop(weak);
    assert_eq!(weak2.weak_count(), 1);

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let weak = tx.downgrade();
    weak.upgrade().unwrap().send(2).unwrap();
    drop(tx);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
}

#[test]
fn weak_senders_in_and_outside_a_run() {
    block_on(weak_senders());
    run(weak_senders());
}

#[test]
fn send_timeout_in_a_run() {
    run(async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        tx.send_timeout(1, Duration::from_millis(10)).await.unwrap();
        let start = sim::time::Instant::now();
        let r = tx.send_timeout(2, Duration::from_millis(10)).await;
        assert!(matches!(r, Err(mpsc::error::SendTimeoutError::Timeout(2))));
        assert_eq!(start.elapsed(), Duration::from_millis(10));
        assert_eq!(tx.capacity(), 0, "the timed-out send left no trace");
        // A slot freed before the deadline lets it through.
        let t = sim::spawn(async move {
            sim::time::sleep(Duration::from_millis(3)).await;
            let got = rx.recv().await;
            sim::time::sleep(Duration::from_millis(1)).await;
            (got, rx)
        });
        tx.send_timeout(3, Duration::from_millis(10)).await.unwrap();
        let (got, rx) = t.await.unwrap();
        assert_eq!(got, Some(1));
        drop(rx);
        // The receiver is gone: Closed, with the value.
        let r = tx.send_timeout(4, Duration::from_millis(10)).await;
        assert!(matches!(r, Err(mpsc::error::SendTimeoutError::Closed(4))));
        // A zero timeout with a free slot still sends.
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        tx.send_timeout(5, Duration::ZERO).await.unwrap();
        assert_eq!(rx.recv().await, Some(5));
    });
}

#[test]
fn send_timeout_outside_a_run_when_a_slot_is_free() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    block_on(tx.send_timeout(1, Duration::from_millis(10))).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn mpsc_blocking_send_and_recv_outside_a_run() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let t = std::thread::spawn(move || {
        for i in 0..3 {
            tx.blocking_send(i).unwrap();
        }
    });
    let mut got = Vec::new();
    while let Some(v) = rx.blocking_recv() {
        got.push(v);
    }
    t.join().unwrap();
    assert_eq!(got, [0, 1, 2]);
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    tx.send(7).unwrap();
    drop(tx);
    let mut buf = Vec::new();
    assert_eq!(rx.blocking_recv_many(&mut buf, 3), 1);
    assert_eq!(rx.blocking_recv(), None);
}

#[test]
fn mpsc_blocking_send_inside_a_run_panics_with_tokios_message() {
    let failure = sim::Builder::new()
        .seed(1)
        .build()
        .block_on(async {
            let (tx, _rx) = mpsc::channel::<u8>(1);
            let _ = tx.blocking_send(1);
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(report.contains("Cannot block the current thread from within a runtime"));
    assert!(report.contains("blocking_send"), "{report}");
}

// ---- UnwindSafe ----

fn assert_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

#[test]
fn channel_halves_are_unwind_safe() {
    // A `Cell` payload is neither `RefUnwindSafe` nor shared by the halves' safety.
    type P = std::cell::Cell<u8>;
    assert_unwind_safe::<mpsc::Sender<P>>();
    assert_unwind_safe::<mpsc::Receiver<P>>();
    assert_unwind_safe::<mpsc::UnboundedSender<P>>();
    assert_unwind_safe::<mpsc::UnboundedReceiver<P>>();
    assert_unwind_safe::<mpsc::WeakSender<P>>();
    assert_unwind_safe::<mpsc::WeakUnboundedSender<P>>();
    assert_unwind_safe::<mpsc::OwnedPermit<P>>();
    assert_unwind_safe::<mpsc::Permit<'static, P>>();
    assert_unwind_safe::<mpsc::PermitIterator<'static, P>>();
    assert_unwind_safe::<oneshot::Sender<P>>();
    assert_unwind_safe::<oneshot::Receiver<P>>();
    assert_unwind_safe::<broadcast::Sender<P>>();
    assert_unwind_safe::<broadcast::Receiver<P>>();
    assert_unwind_safe::<watch::Sender<P>>();
    assert_unwind_safe::<watch::Receiver<P>>();
}

/// A waker that counts its wakes.
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A reservation of several slots that must wait keeps the slots it was assigned
/// meanwhile, as tokio's does, so a closed channel is not idle (its receiver not
/// ended) until the reservation fails and gives them back, or is dropped (tokio's
/// `failed_reserve_many_wakes_closed_receiver` and
/// `cancelled_reserve_many_wakes_closed_receiver`).
#[test]
fn a_waiting_reserve_many_holds_its_assigned_slots_until_it_fails_or_is_dropped() {
    for cancel in [false, true] {
        let (tx, mut rx) = mpsc::channel::<()>(2);
        let permit = tx.try_reserve().unwrap();
        let reserve_counter = Arc::new(WakeCount(AtomicUsize::new(0)));
        let reserve_waker = Waker::from(reserve_counter.clone());
        let mut reserve = Box::pin(tx.reserve_many(2));
        let mut cx = Context::from_waker(&reserve_waker);
        assert!(reserve.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            tx.capacity(),
            0,
            "the free slot is assigned to the reservation"
        );
        rx.close();
        let recv_counter = Arc::new(WakeCount(AtomicUsize::new(0)));
        let recv_waker = Waker::from(recv_counter.clone());
        let mut recv = Box::pin(rx.recv());
        assert!(
            recv.as_mut()
                .poll(&mut Context::from_waker(&recv_waker))
                .is_pending()
        );
        drop(permit);
        assert_eq!(
            recv_counter.0.load(Ordering::SeqCst),
            0,
            "a slot is still out"
        );
        if cancel {
            drop(reserve);
        } else {
            assert!(matches!(
                reserve.as_mut().poll(&mut cx),
                Poll::Ready(Err(_))
            ));
        }
        assert_eq!(recv_counter.0.load(Ordering::SeqCst), 1, "now idle: ended");
        assert!(matches!(
            recv.as_mut().poll(&mut Context::from_waker(&recv_waker)),
            Poll::Ready(None)
        ));
    }
}
