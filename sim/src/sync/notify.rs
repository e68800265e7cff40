//! [`Notify`]: wake one task or all waiting tasks, as `tokio::sync::Notify`.
//!
//! Owns the waiter list and the single stored permit. It must not call a waker while
//! its state is locked.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Removed, Res, WaitQueue, lock, wake_all};
use crate::trace::ResourceOp;

struct State {
    /// A `notify_one` with nobody waiting; consumed by the next `notified()`.
    permit: bool,
    /// Counts `notify_waiters` calls: a `Notified` made before one completes.
    generation: u64,
    /// Each waiter's data: whether `notify_one` (not `notify_waiters`) released it.
    waiters: WaitQueue<bool>,
}

/// Notifies tasks: [`notify_one`](Self::notify_one) wakes the first waiter or, when
/// nobody waits, stores one permit for the next [`notified`](Self::notified);
/// [`notify_waiters`](Self::notify_waiters) wakes every waiter (and every `Notified`
/// created before the call) and stores nothing.
///
/// Waiters are woken in FIFO order. A `Notified` dropped after `notify_one` chose it
/// passes the notification on, so no wakeup is lost.
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::Notify;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let notify = Arc::new(Notify::new());
///     let n = notify.clone();
///     let waiter = sim::spawn(async move { n.notified().await });
///     notify.notify_one(); // stored as a permit if the waiter is not there yet
///     waiter.await.unwrap();
/// }).unwrap();
/// ```
pub struct Notify {
    res: Res,
    state: StateLock<State>,
}

impl Notify {
    /// A `Notify` with no permit.
    #[track_caller]
    pub const fn new() -> Self {
        Notify {
            res: Res::new("notify"),
            state: StateLock::new(State {
                permit: false,
                generation: 0,
                waiters: WaitQueue::new(),
            }),
        }
    }

    /// A future that completes when notified. It counts as waiting (for
    /// `notify_waiters`) from creation, and joins the queue for `notify_one` at its
    /// first poll.
    pub fn notified(&self) -> Notified<'_> {
        let generation = lock(&self.state).generation;
        Notified {
            notify: self,
            generation,
            waiter: None,
            done: false,
        }
    }

    /// Wakes the first waiter, or stores a permit if nobody waits (at most one).
    pub fn notify_one(&self) {
        let waker = {
            let mut st = lock(&self.state);
            match st.waiters.front_mut() {
                Some(by_one) => {
                    *by_one = true;
                    st.waiters.release_front()
                }
                None => {
                    st.permit = true;
                    None
                }
            }
        };
        self.res.event(
            "sim::sync::Notify::notify_one",
            ResourceOp::Notify,
            usize::from(waker.is_some()),
        );
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every waiter; stores no permit.
    pub fn notify_waiters(&self) {
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.state);
            st.generation += 1;
            st.waiters.iter_mut().for_each(|by_one| *by_one = false);
            st.waiters.release_all(&mut wakers);
        }
        self.res.event(
            "sim::sync::Notify::notify_waiters",
            ResourceOp::Notify,
            wakers.len(),
        );
        wake_all(wakers);
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").finish_non_exhaustive()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    generation: u64,
    waiter: Option<u64>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let res = &this.notify.res;
        if this.waiter.is_none() {
            res.with("sim::sync::Notify::notified", |_, _| ()); // Outside a run: panic first.
        }
        let mut st = lock(&this.notify.state);
        match this.waiter {
            Some(id) => {
                if st.waiters.take_released(id).is_none() {
                    st.waiters.set_waker(id, cx.waker());
                    return Poll::Pending;
                }
                drop(st);
                this.waiter = None;
                res.end_wait(false);
            }
            None => {
                if st.permit {
                    st.permit = false;
                } else if st.generation == this.generation {
                    this.waiter = Some(st.waiters.push(cx.waker(), false));
                    drop(st);
                    res.begin_wait("sim::sync::Notify::notified");
                    return Poll::Pending;
                }
            }
        }
        this.done = true;
        res.event("sim::sync::Notify::notified", ResourceOp::Served, 0);
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiter.take() else { return };
        let waker = {
            let mut st = lock(&self.notify.state);
            match st.waiters.remove(id) {
                // Chosen by notify_one but never completed: pass it on.
                Removed::Released(true) => match st.waiters.front_mut() {
                    Some(by_one) => {
                        *by_one = true;
                        st.waiters.release_front()
                    }
                    None => {
                        st.permit = true;
                        None
                    }
                },
                _ => None,
            }
        };
        self.notify.res.end_wait(true);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
