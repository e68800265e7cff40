//! [`Condvar`]: asyncio's `Condition` in tokio style, used with [`Mutex`].
//!
//! Owns the waiter list only; the lock is the caller's [`Mutex`]. A waiter is queued
//! before its guard is dropped, so a notification sent after the unlock is never lost.
//! It must not call a waker while its state is locked.
//!
//! Waiting for a notification is an operation of the common protocol (`wait::Op`)
//! that always parks, so [`Condvar::wait`] has no scheduling point of its own, nor
//! does its re-lock (it comes after a wait). [`Condvar::wait_while`] whose condition is
//! already false completes at once: it has one point, before it returns.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::mutex::{Mutex, MutexGuard};
use super::wait::{Ctx, Op, Point, Removed, Res, WaitQueue, Waiter, Wakers};
use crate::trace::ResourceOp;

/// A condition variable: [`wait`](Self::wait) unlocks the mutex, waits for a
/// notification, then locks it again.
///
/// Waiters are notified in FIFO order. As with any condition variable, re-check the
/// condition after waking ([`wait_while`](Self::wait_while) does it for you). A waiter
/// chosen by [`notify_one`](Self::notify_one) and dropped before it completes passes
/// the notification to the next waiter. Notifications with nobody waiting are lost
/// (no permit is stored, unlike [`Notify`](super::Notify)).
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::{Condvar, Mutex};
/// sim::Builder::new().seed(1).build().block_on(async {
///     let state = Arc::new((Mutex::new(false), Condvar::new()));
///     let s = state.clone();
///     let waiter = sim::spawn(async move {
///         let (m, cv) = &*s;
///         let ready = cv.wait_while(m.lock().await, |ready| !*ready).await;
///         assert!(*ready);
///     });
///     *state.0.lock().await = true;
///     state.1.notify_all();
///     waiter.await.unwrap();
/// }).unwrap();
/// ```
pub struct Condvar {
    res: Res,
    /// Each waiter's data: whether `notify_one` released it.
    state: StateLock<WaitQueue<bool>>,
}

impl Condvar {
    /// A condition variable with no waiter.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            res: Res::new("condvar"),
            state: StateLock::new(WaitQueue::new()),
        }
    }

    /// Unlocks `guard`'s mutex, waits for a notification, and locks it again.
    /// Cancellation safe: dropped while waiting, it leaves the mutex unlocked (and
    /// passes on a `notify_one` it had been chosen by); dropped while re-locking, it has
    /// consumed its notification, as with any condition variable.
    ///
    /// It always waits, so it has no scheduling point (nor has the re-lock after it).
    pub async fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        CondWait {
            cv: self,
            guard: Some(guard),
            waiter: Waiter::new(),
        }
        .await;
        mutex.lock_after_wait().await
    }

    /// Waits while `condition` holds, re-checking it under the lock after each
    /// notification; returns the guard with the condition false.
    ///
    /// If the condition is false at once, this is the operation's scheduling point:
    /// another task may run before it returns (the guard stays held), and the
    /// condition is checked again if one did.
    pub async fn wait_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        let mut point = Point::new();
        loop {
            if condition(&mut *guard) {
                point.pass(); // It waits: no point.
                guard = self.wait(guard).await;
            } else if !self.res.point(WAIT_WHILE, &mut point).await {
                return guard;
            }
        }
    }

    /// Wakes the first waiter, if any.
    pub fn notify_one(&self) {
        let what = "sim::sync::Condvar::notify_one";
        self.res.update(what, &self.state, |q, cx, wakers| {
            let served = notify_front(q, wakers);
            cx.event(ResourceOp::Notify, usize::from(served));
        });
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let what = "sim::sync::Condvar::notify_all";
        self.res.update(what, &self.state, |q, cx, wakers| {
            let mut n = 0;
            while let Some(w) = q.release_front() {
                wakers.push(w);
                n += 1;
            }
            cx.event(ResourceOp::Notify, n);
        });
    }
}

/// What [`Condvar::wait_while`] is called in panics.
const WAIT_WHILE: &str = "sim::sync::Condvar::wait_while";

/// Releases the front waiter, marked as chosen by `notify_one`; whether there was one.
fn notify_front(q: &mut WaitQueue<bool>, wakers: &mut Wakers) -> bool {
    match q.front_mut() {
        Some(by_one) => {
            *by_one = true;
            wakers.extend(q.release_front());
            true
        }
        None => false,
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// Queues on the condvar, then drops the guard, then waits to be released.
struct CondWait<'c, 'a, T> {
    cv: &'c Condvar,
    guard: Option<MutexGuard<'a, T>>,
    waiter: Waiter,
}

/// Waiting for a notification, as an operation of the protocol: it always parks.
struct Notified;

impl Op<WaitQueue<bool>> for Notified {
    type Place = WaitQueue<bool>;
    type Output = ();

    fn place(q: &mut WaitQueue<bool>) -> &mut WaitQueue<bool> {
        q
    }

    fn now(&self, _: &WaitQueue<bool>) -> bool {
        false
    }

    fn complete(&mut self, _: &mut WaitQueue<bool>, _: &mut Ctx<'_>, _: &mut Wakers) {}

    /// Not chosen by `notify_one` (yet).
    fn park(&mut self, _: &mut WaitQueue<bool>, _: &mut Ctx<'_>) -> bool {
        false
    }

    fn released(
        &mut self,
        _: &mut WaitQueue<bool>,
        _: bool,
        cx: &mut Ctx<'_>,
        _: &mut Wakers,
    ) -> Option<()> {
        cx.event(ResourceOp::Served, 0);
        Some(())
    }

    /// Chosen by `notify_one` but gone: the next waiter is notified instead.
    fn cancelled(
        &mut self,
        q: &mut WaitQueue<bool>,
        removed: Removed<bool>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        if let Removed::Released(true) = removed {
            notify_front(q, wakers);
        }
    }
}

impl<T> Future for CondWait<'_, '_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let cv = this.cv;
        let what = "sim::sync::Condvar::wait";
        let polled = cv
            .res
            .poll_op(what, &cv.state, &mut this.waiter, &mut Notified, cx.waker());
        drop(this.guard.take()); // Unlock only once queued: no lost notification.
        polled
    }
}

impl<T> Drop for CondWait<'_, '_, T> {
    fn drop(&mut self) {
        let cv = self.cv;
        cv.res.cancel_op(&cv.state, &mut self.waiter, &mut Notified);
    }
}
