//! [`Barrier`]: tasks wait until `n` of them have arrived, as `tokio::sync::Barrier`.
//!
//! Owns the arrival count, the generation and the waiter list. It must not call a
//! waker while its state is locked.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Removed, Res, WaitQueue, lock, wake_all};
use crate::trace::ResourceOp;

struct State {
    n: usize,
    /// Tasks arrived in the current generation.
    arrived: usize,
    waiters: WaitQueue<()>,
}

/// A barrier for `n` tasks: each [`wait`](Self::wait) waits until `n` waits are in
/// progress, then all complete together and the barrier resets. Exactly one of each
/// group is the leader.
///
/// Unlike tokio's, a `wait` future dropped while it waits withdraws its arrival, so a
/// cancelled task does not count towards the group.
///
/// In the trace, each arrival records `pass` with the number arrived so far (the
/// leader's is `n`), and each other member records `served` when released: the race
/// detector orders everything before any arrival before everything after the barrier.
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::Barrier;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             sim::spawn(async move { b.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as u32;
///     }
///     assert_eq!(leaders, 1);
/// }).unwrap();
/// ```
pub struct Barrier {
    res: Res,
    state: StateLock<State>,
}

impl Barrier {
    /// A barrier for `n` tasks (`0` counts as `1`).
    #[track_caller]
    pub const fn new(n: usize) -> Self {
        let n = if n == 0 { 1 } else { n };
        Barrier {
            res: Res::new("barrier"),
            state: StateLock::new(State {
                n,
                arrived: 0,
                waiters: WaitQueue::new(),
            }),
        }
    }

    /// Waits until `n` tasks wait; the last to arrive is the leader.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            waiter: None,
            done: false,
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &lock(&self.state).n)
            .finish_non_exhaustive()
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    waiter: Option<u64>,
    done: bool,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let what = "sim::sync::Barrier::wait";
        let this = self.get_mut();
        assert!(!this.done, "sim: BarrierWait polled after completion");
        let res = &this.barrier.res;
        if this.waiter.is_none() {
            res.with(what, |_, _| ()); // Outside a run: panic before any change.
        }
        let mut st = lock(&this.barrier.state);
        if let Some(id) = this.waiter {
            if st.waiters.take_released(id).is_none() {
                st.waiters.set_waker(id, cx.waker());
                return Poll::Pending;
            }
            drop(st);
            this.waiter = None;
            this.done = true;
            res.end_wait(false);
            res.event(what, ResourceOp::Served, 0);
            return Poll::Ready(BarrierWaitResult(false));
        }
        st.arrived += 1;
        if st.arrived < st.n {
            let arrived = st.arrived;
            this.waiter = Some(st.waiters.push(cx.waker(), ()));
            drop(st);
            res.event(what, ResourceOp::Pass, arrived);
            res.begin_wait(what);
            return Poll::Pending;
        }
        let n = st.arrived;
        st.arrived = 0;
        let mut wakers = Vec::new();
        st.waiters.release_all(&mut wakers);
        drop(st);
        this.done = true;
        res.event(what, ResourceOp::Pass, n);
        wake_all(wakers);
        Poll::Ready(BarrierWaitResult(true))
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiter.take() else { return };
        {
            let mut st = lock(&self.barrier.state);
            // Still waiting: withdraw the arrival. Released: the group passed with it.
            if let Removed::Waiting(()) = st.waiters.remove(id) {
                st.arrived -= 1;
            }
        }
        self.barrier.res.end_wait(true);
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the leader of its group (exactly one per group).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}
