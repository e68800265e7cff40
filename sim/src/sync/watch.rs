//! A single-value channel that keeps only the latest value, as `tokio::sync::watch`.
//!
//! Owns the value (behind a `std::sync::RwLock`, so [`Ref`] borrows it without
//! copying), its version number, the sender/receiver counts and the waiting
//! receivers. It must not wake a task, drop a waker or drop a value while its state is
//! locked.
//!
//! `changed` (and the [`Stream`] of a receiver) is an operation of the common protocol
//! (`wait::Op`): it has its scheduling point when it completes at once (an unseen
//! value, every sender gone). [`Receiver::wait_for`] whose condition holds at once has
//! one point before it returns. Sending is synchronous: no point.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock as StdRwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use futures::Stream;

use super::wait::{Ctx, Op, Point, Res, WaitQueue, Waiter, Wakers, lock};
use crate::trace::ResourceOp;

/// Errors of this module.
pub mod error {
    use std::fmt;

    /// No receiver is left: the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Every sender is gone: no new value can come.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct State {
    /// Bumped by every send.
    version: u64,
    senders: usize,
    receivers: usize,
    waiters: WaitQueue<()>,
    /// Senders waiting in `closed` for the last receiver to go.
    closers: WaitQueue<()>,
}

impl State {
    /// A new value was published: receivers waiting for it are released; records `set`.
    fn bump(&mut self, cx: &mut Ctx<'_>, wakers: &mut Wakers) {
        self.version += 1;
        self.waiters.release_all(wakers);
        cx.event(ResourceOp::Set, 0);
    }
}

struct Shared<T> {
    res: Res,
    value: StdRwLock<T>,
    state: StateLock<State>,
}

/// A watch channel starting with `init`.
///
/// ```
/// use sim::sync::watch;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let (tx, mut rx) = watch::channel("starting");
///     let t = sim::spawn(async move {
///         rx.changed().await.unwrap();
///         *rx.borrow_and_update()
///     });
///     tx.send("ready").unwrap();
///     assert_eq!(t.await.unwrap(), "ready");
/// }).unwrap();
/// ```
#[track_caller]
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        res: Res::new("watch"),
        value: StdRwLock::new(init),
        state: StateLock::new(State {
            version: 0,
            senders: 1,
            receivers: 1,
            waiters: WaitQueue::new(),
            closers: WaitQueue::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            changed: Waiter::new(),
        },
    )
}

/// A borrow of the current value; do not hold it across an `.await`.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value had changed since the receiver last marked it seen.
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

fn read<T>(shared: &Shared<T>) -> RwLockReadGuard<'_, T> {
    shared.value.read().unwrap_or_else(PoisonError::into_inner)
}

/// The value to replace (taken before the state lock, never the other way round).
fn write<T>(shared: &Shared<T>) -> RwLockWriteGuard<'_, T> {
    shared.value.write().unwrap_or_else(PoisonError::into_inner)
}

/// Publishes new values; clone it for more publishers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies every receiver; fails (returning the value) if
    /// no receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let what = "sim::sync::watch::Sender::send";
        let shared = &*self.shared;
        if lock(&shared.state).receivers == 0 {
            // Checked before taking the value's lock, as tokio does (a borrow may be held).
            return Err(SendError(value));
        }
        let mut v = write(shared);
        let old = shared.res.update(what, &shared.state, |st, cx, wakers| {
            if st.receivers == 0 {
                return Err(SendError(value));
            }
            let old = std::mem::replace(&mut *v, value);
            st.bump(cx, wakers);
            Ok(old)
        });
        drop(v);
        old.map(drop) // The old value, dropped outside the lock and the core.
    }

    /// Replaces the value whether or not receivers remain; returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let what = "sim::sync::watch::Sender::send_replace";
        let shared = &*self.shared;
        let mut v = write(shared);
        shared.res.update(what, &shared.state, |st, cx, wakers| {
            let old = std::mem::replace(&mut *v, value);
            st.bump(cx, wakers);
            old
        })
    }

    /// Modifies the value in place and notifies every receiver.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        let what = "sim::sync::watch::Sender::send_modify";
        let shared = &*self.shared;
        {
            let mut v = write(shared);
            modify(&mut v);
        }
        shared
            .res
            .update(what, &shared.state, |st, cx, wakers| st.bump(cx, wakers));
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: read(&self.shared),
            changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = lock(&self.shared.state);
        st.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: st.version,
            changed: Waiter::new(),
        }
    }

    /// Receivers left.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }

    /// Whether no receiver is left.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until no receiver is left (at once if none is), as
    /// `tokio::sync::watch::Sender::closed`. Cancellation safe. Another task may run
    /// first when none is left already (its [scheduling
    /// point](crate::sync#scheduling-rules)).
    ///
    /// ```
    /// use sim::sync::watch;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let (tx, rx) = watch::channel(0);
    ///     sim::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// }).unwrap();
    /// ```
    pub async fn closed(&self) {
        ClosedFut {
            shared: &self.shared,
            waiter: Waiter::new(),
        }
        .await
    }
}

/// Waiting for the last receiver to go, as an operation of the protocol (released,
/// it looks again).
struct Closed;

impl Op<State> for Closed {
    type Place = WaitQueue<()>;
    type Output = ();

    fn place(st: &mut State) -> &mut WaitQueue<()> {
        &mut st.closers
    }

    fn now(&self, st: &State) -> bool {
        st.receivers == 0
    }

    fn complete(&mut self, _: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) {
        // Ordered after the receivers' drops.
        cx.event(ResourceOp::Served, 0);
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

/// The future of [`Sender::closed`].
struct ClosedFut<'a, T> {
    shared: &'a Shared<T>,
    waiter: Waiter,
}

impl<T> Future for ClosedFut<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let what = "sim::sync::watch::Sender::closed";
        let shared = this.shared;
        shared.res.poll_op(
            what,
            &shared.state,
            &mut this.waiter,
            &mut Closed,
            cx.waker(),
        )
    }
}

impl<T> Drop for ClosedFut<'_, T> {
    fn drop(&mut self) {
        let shared = self.shared;
        shared
            .res
            .cancel_op(&shared.state, &mut self.waiter, &mut Closed);
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        {
            let mut st = lock(&shared.state);
            if st.senders > 1 {
                st.senders -= 1;
                return;
            }
        }
        shared.res.update_lenient(&shared.state, |st, cx, wakers| {
            st.senders -= 1;
            if st.senders == 0 {
                st.waiters.release_all(wakers);
                cx.event(ResourceOp::Close, 0);
            }
        });
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Observes the latest value. Also a [`Stream`] that yields a clone of the value after
/// each change it has not seen (not the value it starts with).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    seen: u64,
    /// The `changed` in progress.
    changed: Waiter,
}

/// Waiting for a version newer than `seen`, as an operation of the protocol.
/// Released by a send or the last sender's drop, it looks again.
struct Changed<'a> {
    seen: &'a mut u64,
}

impl Op<State> for Changed<'_> {
    type Place = WaitQueue<()>;
    type Output = Result<(), RecvError>;

    fn place(st: &mut State) -> &mut WaitQueue<()> {
        &mut st.waiters
    }

    fn now(&self, st: &State) -> bool {
        st.version != *self.seen || st.senders == 0
    }

    /// Marks the new version seen (even once the senders are gone).
    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> Self::Output {
        if st.version == *self.seen {
            return Err(RecvError(()));
        }
        *self.seen = st.version;
        cx.event(ResourceOp::Recv, 0);
        Ok(())
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let changed = lock(&self.shared.state).version != self.seen;
        Ref {
            guard: read(&self.shared),
            changed,
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = lock(&self.shared.state).version;
        let changed = version != self.seen;
        self.seen = version;
        Ref {
            guard: read(&self.shared),
            changed,
        }
    }

    /// Whether a value was sent that this receiver has not seen; an error once every
    /// sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let st = lock(&self.shared.state);
        if st.senders == 0 {
            return Err(RecvError(()));
        }
        Ok(st.version != self.seen)
    }

    /// Whether every sender is gone, as `tokio::sync::watch::Receiver::is_closed`.
    ///
    /// ```
    /// use sim::sync::watch;
    /// let (tx, rx) = watch::channel(1);
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).senders == 0
    }

    /// Marks the current value as not seen: [`has_changed`](Self::has_changed) says
    /// so and the next [`changed`](Self::changed) returns at once, as
    /// `tokio::sync::watch::Receiver::mark_changed`.
    ///
    /// ```
    /// use sim::sync::watch;
    /// let (_tx, mut rx) = watch::channel(1);
    /// assert!(!rx.has_changed().unwrap());
    /// rx.mark_changed();
    /// assert!(rx.has_changed().unwrap());
    /// futures::executor::block_on(rx.changed()).unwrap(); // at once
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_changed(&mut self) {
        // Any version other than the current one reads as a change not seen.
        self.seen = lock(&self.shared.state).version.wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = lock(&self.shared.state).version;
    }

    /// Polls for a change not yet seen, and marks it seen.
    pub fn poll_changed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RecvError>> {
        let what = "sim::sync::watch::Receiver::changed";
        let shared = &*self.shared;
        let mut op = Changed {
            seen: &mut self.seen,
        };
        shared
            .res
            .poll_op(what, &shared.state, &mut self.changed, &mut op, cx.waker())
    }

    /// Waits for a value this receiver has not seen (at once if there is one, though
    /// another task may run first: its [scheduling
    /// point](crate::sync#scheduling-rules)), and marks it seen; an error once every
    /// sender is gone. Cancellation safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        ChangedFut { rx: self }.await
    }

    /// Waits until the value satisfies `f` (checking the current one first); returns
    /// it, marked seen. `f` runs while the value is borrowed: it must not send on
    /// this channel (as in tokio).
    ///
    /// If the current value satisfies `f`, this is the operation's scheduling point:
    /// another task may run before it returns, and the value is checked again if one
    /// did. The waits for new values in between have no point of their own.
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let what = "sim::sync::watch::Receiver::wait_for";
        let mut point = Point::new();
        loop {
            let version = lock(&self.shared.state).version;
            if f(&read(&self.shared)) {
                if self.shared.res.point(what, &mut point).await {
                    continue; // Others ran: check the value again.
                }
                self.seen = version;
                break;
            }
            point.pass();
            // It waits for a new value: no point. On a closed channel it ends at once
            // with the error, and that is the operation's point (so a loop of them
            // spends its budget and gives way, as tokio's).
            if lock(&self.shared.state).senders != 0 {
                self.changed.pass_point();
            }
            self.changed().await?;
        }
        Ok(Ref {
            guard: read(&self.shared),
            changed: false,
        })
    }
}

struct ChangedFut<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for ChangedFut<'_, T> {
    type Output = Result<(), RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().rx.poll_changed(cx)
    }
}

impl<T> Drop for ChangedFut<'_, T> {
    fn drop(&mut self) {
        let rx = &mut *self.rx;
        let shared = &*rx.shared;
        let mut op = Changed { seen: &mut rx.seen };
        shared
            .res
            .cancel_op(&shared.state, &mut rx.changed, &mut op);
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            changed: Waiter::new(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let mut op = Changed {
            seen: &mut self.seen,
        };
        let changed = &mut self.changed;
        shared.res.update_lenient(&shared.state, |st, cx, wakers| {
            changed.cancel(&mut op, st, cx, wakers);
            st.receivers -= 1;
            if st.receivers == 0 {
                st.closers.release_all(wakers);
            }
        });
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        match this.poll_changed(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Some(read(&this.shared).clone())),
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

// As tokio's: a panic while using a channel half leaves the channel consistent (no
// user code runs under its lock), so the halves may cross `catch_unwind`.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}
