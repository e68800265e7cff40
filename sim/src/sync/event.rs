//! [`Event`]: asyncio's `Event`, a flag tasks can wait for.
//!
//! Owns the flag and its waiter list. It must not call a waker while its state is
//! locked.
//!
//! A wait is an operation of the common protocol (`wait::Op`): a wait on a set flag
//! has its scheduling point before it returns. `set` and `clear` are synchronous.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Res, WaitQueue, Waiter, Wakers, lock};
use crate::trace::ResourceOp;

struct State {
    flag: bool,
    waiters: WaitQueue<()>,
}

/// asyncio's `Event`: [`wait`](Self::wait) completes once the flag is
/// [`set`](Self::set). Setting wakes every waiter; a waiter woken by `set` completes
/// even if the flag is cleared again before it runs (as in asyncio).
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::Event;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let ready = Arc::new(Event::new());
///     let r = ready.clone();
///     let waiter = sim::spawn(async move { r.wait().await; });
///     ready.set();
///     waiter.await.unwrap();
///     assert!(ready.is_set());
///     ready.clear();
///     assert!(!ready.is_set());
/// }).unwrap();
/// ```
pub struct Event {
    res: Res,
    state: StateLock<State>,
}

impl Event {
    /// An event whose flag is clear.
    #[track_caller]
    pub const fn new() -> Self {
        Event {
            res: Res::new("event"),
            state: StateLock::new(State {
                flag: false,
                waiters: WaitQueue::new(),
            }),
        }
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        lock(&self.state).flag
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        self.res
            .update("sim::sync::Event::set", &self.state, |st, cx, wakers| {
                st.flag = true;
                st.waiters.release_all(wakers);
                cx.event(ResourceOp::Set, 0);
            });
    }

    /// Clears the flag: later [`wait`](Self::wait)s wait for the next `set`.
    pub fn clear(&self) {
        self.res
            .update("sim::sync::Event::clear", &self.state, |st, cx, _| {
                st.flag = false;
                cx.event(ResourceOp::Clear, 0);
            });
    }

    /// Waits until the flag is set (at once if it is, though another task may run
    /// first: its [scheduling point](crate::sync#scheduling-rules)).
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            waiter: Waiter::new(),
            done: false,
        }
    }
}

impl Default for Event {
    #[track_caller]
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    waiter: Waiter,
    done: bool,
}

/// A wait, as an operation of the protocol.
struct Wait;

impl Op<State> for Wait {
    type Place = WaitQueue<()>;
    type Output = ();

    fn place(st: &mut State) -> &mut WaitQueue<()> {
        &mut st.waiters
    }

    fn now(&self, st: &State) -> bool {
        st.flag
    }

    fn complete(&mut self, _: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) {
        cx.event(ResourceOp::Served, 0);
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}

    /// Released by `set`: it passes even if the flag was cleared since.
    fn released(&mut self, _: &mut State, (): (), cx: &mut Ctx<'_>, _: &mut Wakers) -> Option<()> {
        cx.event(ResourceOp::Served, 0);
        Some(())
    }
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let ev = this.event;
        let what = "sim::sync::Event::wait";
        let polled = ev
            .res
            .poll_op(what, &ev.state, &mut this.waiter, &mut Wait, cx.waker());
        this.done = polled.is_ready();
        polled
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        let ev = self.event;
        ev.res.cancel_op(&ev.state, &mut self.waiter, &mut Wait);
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
