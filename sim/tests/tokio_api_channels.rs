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

/// Runs `f` in a run with seed 1; its output.
fn run<F: Future>(f: F) -> F::Output {
    sim::Builder::new().seed(1).build().block_on(f).unwrap()
}

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
