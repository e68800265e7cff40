//! [`Event`]: asyncio's `Event`, a flag tasks can wait for.
//!
//! Owns the flag and its waiter list. It must not call a waker while its state is
//! locked.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Res, WaitQueue, lock, wake_all};
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
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.state);
            st.flag = true;
            st.waiters.release_all(&mut wakers);
        }
        self.res.event("sim::sync::Event::set", ResourceOp::Set, 0);
        wake_all(wakers);
    }

    /// Clears the flag: later [`wait`](Self::wait)s wait for the next `set`.
    pub fn clear(&self) {
        lock(&self.state).flag = false;
        self.res
            .event("sim::sync::Event::clear", ResourceOp::Clear, 0);
    }

    /// Waits until the flag is set (at once if it is).
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            waiter: None,
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
    waiter: Option<u64>,
    done: bool,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let res = &this.event.res;
        if this.waiter.is_none() {
            res.with("sim::sync::Event::wait", |_, _| ()); // Outside a run: panic first.
        }
        let mut st = lock(&this.event.state);
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
            None if st.flag => {}
            None => {
                this.waiter = Some(st.waiters.push(cx.waker(), ()));
                drop(st);
                res.begin_wait("sim::sync::Event::wait");
                return Poll::Pending;
            }
        }
        this.done = true;
        res.event("sim::sync::Event::wait", ResourceOp::Served, 0);
        Poll::Ready(())
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter.take() {
            lock(&self.event.state).waiters.remove(id);
            self.event.res.end_wait(true);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
