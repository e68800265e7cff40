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
use std::sync::Arc;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, Wakers, lock};
use crate::trace::ResourceOp;

struct State {
    /// A `notify_one` with nobody waiting; consumed by the next `notified()`.
    permit: bool,
    /// Counts `notify_waiters` calls: a `Notified` made before one completes.
    generation: u64,
    /// Each waiter's data: what released it (nothing yet, `notify_waiters`, or one
    /// notification to pass on if it is dropped before it completes).
    waiters: WaitQueue<By>,
}

/// What released a waiter.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum By {
    /// Not released yet, or by `notify_waiters` (nothing to pass on).
    #[default]
    Nothing,
    /// `notify_one`: passed on to the first waiter if dropped.
    One,
    /// `notify_last`: passed on to the last waiter if dropped.
    Last,
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

    /// A `Notify` with no permit, usable in a `static`, as
    /// `tokio::sync::Notify::const_new` ([`new`](Self::new) is `const` too).
    #[track_caller]
    pub const fn const_new() -> Self {
        Self::new()
    }

    /// A future that completes when notified. It counts as waiting (for
    /// `notify_waiters`) from creation, and joins the queue for `notify_one` at its
    /// first poll. Another task may run first when it is notified already (its
    /// [scheduling point](crate::sync#scheduling-rules)).
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            slot: Slot::new(self),
        }
    }

    /// [`notified`](Self::notified) for a `Notify` in an `Arc`: the future owns a
    /// clone of the `Arc`, so it is `'static` (as tokio's `Notify::notified_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sim::sync::Notify;
    /// let notify = Arc::new(Notify::new());
    /// let waiting = notify.clone().notified_owned(); // borrows nothing
    /// notify.notify_one();
    /// futures::executor::block_on(waiting);
    /// ```
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            slot: Slot::new(&self),
            notify: self,
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
            let served = st.notify_last(wakers);
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
                *w = By::Nothing;
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
            Some(by) => {
                *by = By::One;
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

impl State {
    /// Releases the last waiter (as chosen by `notify_last`), or stores the permit if
    /// nobody waits; whether a waiter was released.
    fn notify_last(&mut self, wakers: &mut Wakers) -> bool {
        match self.waiters.back_mut() {
            Some(by) => {
                *by = By::Last;
                wakers.extend(self.waiters.release_back());
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
    slot: Slot,
}

/// The future of [`Notify::notified_owned`]: a [`Notified`] that owns its `Arc<Notify>`
/// (`'static`, so it can be stored or moved into a task), as
/// `tokio::sync::futures::OwnedNotified`.
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedNotified {
    notify: Arc<Notify>,
    slot: Slot,
}

/// A notified future's own state, whichever way it holds its `Notify`.
struct Slot {
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
    type Place = WaitQueue<By>;
    type Output = ();

    fn place(st: &mut State) -> &mut WaitQueue<By> {
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

    /// Not chosen by a notification (yet).
    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) -> By {
        By::Nothing
    }

    fn released(&mut self, _: &mut State, _: By, cx: &mut Ctx<'_>, _: &mut Wakers) -> Option<()> {
        cx.event(ResourceOp::Served, 0);
        Some(())
    }

    /// Chosen by `notify_one` or `notify_last` but never completed: the notification
    /// passes on, the same way (to the first waiter, or the last).
    fn cancelled(
        &mut self,
        st: &mut State,
        removed: Removed<By>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        match removed {
            Removed::Released(By::One) => {
                st.notify_one(wakers);
            }
            Removed::Released(By::Last) => {
                st.notify_last(wakers);
            }
            _ => {}
        }
    }
}

impl Slot {
    fn new(n: &Notify) -> Slot {
        let generation = lock(&n.state).generation;
        Slot {
            waiter: Waiter::new(),
            op: Wait { generation },
            done: false,
        }
    }

    fn enable(&mut self, n: &Notify) -> bool {
        if self.done {
            return true;
        }
        let what = "sim::sync::Notify::notified";
        if !self.waiter.is_parked() {
            // Synchronous: it completes at once without a point (a point would wake
            // the no-op waker instead of the task).
            self.waiter.pass_point();
        }
        let polled = n.res.poll_op(
            what,
            &n.state,
            &mut self.waiter,
            &mut self.op,
            std::task::Waker::noop(),
        );
        self.done = polled.is_ready();
        self.done
    }

    fn poll(&mut self, n: &Notify, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let what = "sim::sync::Notify::notified";
        let polled = n
            .res
            .poll_op(what, &n.state, &mut self.waiter, &mut self.op, cx.waker());
        self.done = polled.is_ready();
        polled
    }

    fn cancel(&mut self, n: &Notify) {
        n.res.cancel_op(&n.state, &mut self.waiter, &mut self.op);
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
        this.slot.enable(this.notify)
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.slot.poll(this.notify, cx)
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.slot.cancel(self.notify);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("done", &self.slot.done)
            .finish_non_exhaustive()
    }
}

impl OwnedNotified {
    /// Joins the queue for [`Notify::notify_one`] now, before the first poll; returns
    /// whether the future is notified already (see [`Notified::enable`]).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.slot.enable(&this.notify)
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.slot.poll(&this.notify, cx)
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        self.slot.cancel(&self.notify);
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("done", &self.slot.done)
            .finish_non_exhaustive()
    }
}

// As tokio's: a panic while a `Notify` is borrowed leaves it consistent (every
// operation's state change is one step under its lock).
impl std::panic::UnwindSafe for Notify {}
impl std::panic::RefUnwindSafe for Notify {}
