//! A single-value channel that keeps only the latest value, as `tokio::sync::watch`.
//!
//! Owns the value (behind a `std::sync::RwLock`, so [`Ref`] borrows it without
//! copying), its version number, the sender/receiver counts and the waiting
//! receivers. It must not wake a task or drop a value while its state is locked.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock as StdRwLock, RwLockReadGuard};

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use futures::Stream;

use super::wait::{Res, WaitQueue, lock, wake_all};
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
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            waiter: None,
            waiting: false,
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

/// Publishes new values; clone it for more publishers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies every receiver; fails (returning the value) if
    /// no receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.shared
            .res
            .with("sim::sync::watch::Sender::send", |_, _| ());
        if lock(&self.shared.state).receivers == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value whether or not receivers remain; returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut v = self
                .shared
                .value
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *v, value)
        };
        self.bump("sim::sync::watch::Sender::send_replace");
        old
    }

    /// Modifies the value in place and notifies every receiver.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        {
            let mut v = self
                .shared
                .value
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            modify(&mut v);
        }
        self.bump("sim::sync::watch::Sender::send_modify");
    }

    fn bump(&self, what: &str) {
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.shared.state);
            st.version += 1;
            st.waiters.release_all(&mut wakers);
        }
        self.shared.res.event(what, ResourceOp::Set, 0);
        wake_all(wakers);
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
            waiter: None,
            waiting: false,
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
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.shared.state);
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            st.waiters.release_all(&mut wakers);
        }
        self.shared.res.event_lenient(ResourceOp::Close, 0);
        wake_all(wakers);
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
    waiter: Option<u64>,
    waiting: bool,
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

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = lock(&self.shared.state).version;
    }

    /// Polls for a change not yet seen, and marks it seen.
    pub fn poll_changed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RecvError>> {
        let what = "sim::sync::watch::Receiver::changed";
        self.shared.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        let mut st = lock(&self.shared.state);
        if let Some(id) = self.waiter.take() {
            st.waiters.remove(id);
        }
        let out = if st.version != self.seen {
            self.seen = st.version;
            Ok(())
        } else if st.senders == 0 {
            Err(RecvError(()))
        } else {
            self.waiter = Some(st.waiters.push(cx.waker(), ()));
            drop(st);
            if !std::mem::replace(&mut self.waiting, true) {
                self.shared.res.begin_wait(what);
            }
            return Poll::Pending;
        };
        drop(st);
        if std::mem::take(&mut self.waiting) {
            self.shared.res.end_wait(false);
        }
        if out.is_ok() {
            self.shared.res.event(what, ResourceOp::Recv, 0);
        }
        Poll::Ready(out)
    }

    /// Waits for a value this receiver has not seen (at once if there is one), and
    /// marks it seen; an error once every sender is gone. Cancellation safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        ChangedFut { rx: self }.await
    }

    /// Waits until the value satisfies `f` (checking the current one first); returns
    /// it, marked seen. `f` runs while the value is borrowed: it must not send on
    /// this channel (as in tokio).
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        loop {
            {
                let version = lock(&self.shared.state).version;
                let guard = read(&self.shared);
                if f(&guard) {
                    drop(guard);
                    self.seen = version;
                    break;
                }
            }
            self.changed().await?;
        }
        Ok(Ref {
            guard: read(&self.shared),
            changed: false,
        })
    }

    fn cancel_wait(&mut self) {
        if let Some(id) = self.waiter.take() {
            lock(&self.shared.state).waiters.remove(id);
        }
        if std::mem::take(&mut self.waiting) {
            self.shared.res.end_wait(true);
        }
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
        self.rx.cancel_wait();
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            waiter: None,
            waiting: false,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.cancel_wait();
        lock(&self.shared.state).receivers -= 1;
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
