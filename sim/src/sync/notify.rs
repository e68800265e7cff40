//! [`Notify`]: wake one task or all waiting tasks, as `tokio::sync::Notify`.
//!
//! Owns the waiter list and the single stored permit. It must not call a waker while
//! its state is locked.
//!
//! `notified` is an operation of the common protocol (`wait::Op`): taking a stored
//! permit, or passing after a `notify_waiters`, has its scheduling point first.
//! `notify_one` and `notify_waiters` are synchronous.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, Wakers, lock};
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
    /// first poll. Another task may run first when it is notified already (its
    /// [scheduling point](crate::sync#scheduling-rules)).
    pub fn notified(&self) -> Notified<'_> {
        let generation = lock(&self.state).generation;
        Notified {
            notify: self,
            waiter: Waiter::new(),
            op: Wait { generation },
            done: false,
        }
    }

    /// Wakes the first waiter, or stores a permit if nobody waits (at most one).
    pub fn notify_one(&self) {
        let what = "sim::sync::Notify::notify_one";
        self.res.update(what, &self.state, |st, cx, wakers| {
            let served = st.notify_one(wakers);
            cx.event(ResourceOp::Notify, usize::from(served));
        });
    }

    /// Wakes the waiter that started waiting last (LIFO), or stores a permit if nobody
    /// waits (at most one), as `tokio::sync::Notify::notify_last`.
    ///
    /// ```
    /// use sim::sync::Notify;
    /// let notify = Notify::new();
    /// notify.notify_last(); // nobody waits: stored
    /// futures::executor::block_on(notify.notified()); // takes the permit
    /// ```
    pub fn notify_last(&self) {
        let what = "sim::sync::Notify::notify_last";
        self.res.update(what, &self.state, |st, cx, wakers| {
            let served = match st.waiters.back_mut() {
                Some(by_one) => {
                    *by_one = true;
                    wakers.extend(st.waiters.release_back());
                    true
                }
                None => {
                    st.permit = true;
                    false
                }
            };
            cx.event(ResourceOp::Notify, usize::from(served));
        });
    }

    /// Wakes every waiter; stores no permit.
    pub fn notify_waiters(&self) {
        let what = "sim::sync::Notify::notify_waiters";
        self.res.update(what, &self.state, |st, cx, wakers| {
            st.generation += 1;
            let mut n = 0;
            while let Some(w) = st.waiters.front_mut() {
                *w = false;
                wakers.extend(st.waiters.release_front());
                n += 1;
            }
            cx.event(ResourceOp::Notify, n);
        });
    }
}

impl State {
    /// Releases the first waiter (as chosen by `notify_one`), or stores the permit if
    /// nobody waits; whether a waiter was released.
    fn notify_one(&mut self, wakers: &mut Wakers) -> bool {
        match self.waiters.front_mut() {
            Some(by_one) => {
                *by_one = true;
                wakers.extend(self.waiters.release_front());
                true
            }
            None => {
                self.permit = true;
                false
            }
        }
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
    waiter: Waiter,
    op: Wait,
    done: bool,
}

/// Waiting for a notification, as an operation of the protocol.
struct Wait {
    /// The `notify_waiters` count when the future was made.
    generation: u64,
}

impl Op<State> for Wait {
    type Place = WaitQueue<bool>;
    type Output = ();

    fn place(st: &mut State) -> &mut WaitQueue<bool> {
        &mut st.waiters
    }

    /// A stored permit, or a `notify_waiters` since the future was made.
    fn now(&self, st: &State) -> bool {
        st.permit || st.generation != self.generation
    }

    /// Passes after a `notify_waiters` without touching a stored permit (as tokio:
    /// that permit is for a later `notified`); otherwise takes the permit.
    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) {
        if st.generation == self.generation {
            st.permit = false;
        }
        cx.event(ResourceOp::Served, 0);
    }

    /// Not chosen by `notify_one` (yet).
    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) -> bool {
        false
    }

    fn released(&mut self, _: &mut State, _: bool, cx: &mut Ctx<'_>, _: &mut Wakers) -> Option<()> {
        cx.event(ResourceOp::Served, 0);
        Some(())
    }

    /// Chosen by `notify_one` but never completed: the notification passes on.
    fn cancelled(
        &mut self,
        st: &mut State,
        removed: Removed<bool>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        if let Removed::Released(true) = removed {
            st.notify_one(wakers);
        }
    }
}

impl Notified<'_> {
    /// Joins the queue for [`Notify::notify_one`] now, before the first poll, as
    /// `tokio::sync::Notified::enable`; returns whether the future is notified already
    /// (a stored permit taken, a `notify_waiters` since it was made). The next poll
    /// then completes at once, or waits in the place taken here. Synchronous: no
    /// [scheduling point](crate::sync#scheduling-rules). In a run, a future enabled
    /// and not notified counts as a wait of its task (the deadlock detector's
    /// `wait`) until it completes or is dropped.
    ///
    /// ```
    /// use std::pin::pin;
    /// use sim::sync::Notify;
    /// let notify = Notify::new();
    /// let mut waiting = pin!(notify.notified());
    /// assert!(!waiting.as_mut().enable()); // queued, not notified yet
    /// notify.notify_one(); // served to the enabled future, not stored
    /// futures::executor::block_on(waiting);
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        if this.done {
            return true;
        }
        let n = this.notify;
        let what = "sim::sync::Notify::notified";
        if !this.waiter.is_parked() {
            // Synchronous: it completes at once without a point (a point would wake
            // the no-op waker instead of the task).
            this.waiter.pass_point();
        }
        let polled = n.res.poll_op(
            what,
            &n.state,
            &mut this.waiter,
            &mut this.op,
            std::task::Waker::noop(),
        );
        this.done = polled.is_ready();
        this.done
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let n = this.notify;
        let what = "sim::sync::Notify::notified";
        let polled = n
            .res
            .poll_op(what, &n.state, &mut this.waiter, &mut this.op, cx.waker());
        this.done = polled.is_ready();
        polled
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let n = self.notify;
        n.res.cancel_op(&n.state, &mut self.waiter, &mut self.op);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
