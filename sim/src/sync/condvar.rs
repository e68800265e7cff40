//! [`Condvar`]: asyncio's `Condition` in tokio style, used with [`Mutex`].
//!
//! Owns the waiter list only; the lock is the caller's [`Mutex`]. A waiter is queued
//! before its guard is dropped, so a notification sent after the unlock is never lost.
//! It must not call a waker while its state is locked.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::mutex::{Mutex, MutexGuard};
use super::wait::{Removed, Res, WaitQueue, lock, wake_all};
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
    pub async fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        CondWait {
            cv: self,
            guard: Some(guard),
            waiter: None,
        }
        .await;
        mutex.lock().await
    }

    /// Waits while `condition` holds, re-checking it under the lock after each
    /// notification; returns the guard with the condition false.
    pub async fn wait_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes the first waiter, if any.
    pub fn notify_one(&self) {
        let waker = {
            let mut q = lock(&self.state);
            match q.front_mut() {
                Some(by_one) => {
                    *by_one = true;
                    q.release_front()
                }
                None => None,
            }
        };
        self.res.event(
            "sim::sync::Condvar::notify_one",
            ResourceOp::Notify,
            usize::from(waker.is_some()),
        );
        waker.into_iter().for_each(std::task::Waker::wake);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut wakers = Vec::new();
        lock(&self.state).release_all(&mut wakers);
        self.res.event(
            "sim::sync::Condvar::notify_all",
            ResourceOp::Notify,
            wakers.len(),
        );
        wake_all(wakers);
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
    waiter: Option<u64>,
}

impl<T> Future for CondWait<'_, '_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.waiter.is_none() {
            this.cv.res.with("sim::sync::Condvar::wait", |_, _| ()); // Panic before any change.
        }
        let mut q = lock(&this.cv.state);
        match this.waiter {
            None => {
                this.waiter = Some(q.push(cx.waker(), false));
                drop(q);
                this.cv.res.begin_wait("sim::sync::Condvar::wait");
                drop(this.guard.take()); // Unlock only once queued: no lost notification.
                Poll::Pending
            }
            Some(id) => {
                if q.take_released(id).is_none() {
                    q.set_waker(id, cx.waker());
                    return Poll::Pending;
                }
                drop(q);
                this.waiter = None;
                this.cv.res.end_wait(false);
                let what = "sim::sync::Condvar::wait";
                this.cv.res.event(what, ResourceOp::Served, 0);
                Poll::Ready(())
            }
        }
    }
}

impl<T> Drop for CondWait<'_, '_, T> {
    fn drop(&mut self) {
        let Some(id) = self.waiter.take() else { return };
        let waker = {
            let mut q = lock(&self.cv.state);
            match q.remove(id) {
                Removed::Released(true) => match q.front_mut() {
                    Some(by_one) => {
                        *by_one = true;
                        q.release_front()
                    }
                    None => None,
                },
                _ => None,
            }
        };
        self.cv.res.end_wait(true);
        waker.into_iter().for_each(std::task::Waker::wake);
    }
}
