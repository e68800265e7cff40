//! [`Barrier`]: tasks wait until `n` of them have arrived, as `tokio::sync::Barrier`.
//!
//! Owns the arrival count and the waiter list. It must not call a waker while its
//! state is locked.
//!
//! A wait is an operation of the common protocol (`wait::Op`): the arrival that
//! completes a group (the leader's) has its scheduling point before it releases the
//! others; an arrival that must wait has none.

use crate::unsafe_parts::StateLock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, Wakers, lock};
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

    /// Waits until `n` tasks wait; the last to arrive is the leader. Another task may
    /// run before the leader lets the group through (its [scheduling
    /// point](crate::sync#scheduling-rules)).
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            waiter: Waiter::new(),
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
    waiter: Waiter,
    done: bool,
}

/// An arrival, as an operation of the protocol.
struct Arrive;

impl Op<State> for Arrive {
    type Place = WaitQueue<()>;
    type Output = BarrierWaitResult;

    fn place(st: &mut State) -> &mut WaitQueue<()> {
        &mut st.waiters
    }

    /// The last arrival of a group passes at once.
    fn now(&self, st: &State) -> bool {
        st.arrived + 1 >= st.n
    }

    fn complete(
        &mut self,
        st: &mut State,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> BarrierWaitResult {
        let n = st.arrived + 1;
        st.arrived = 0;
        st.waiters.release_all(wakers);
        cx.event(ResourceOp::Pass, n);
        BarrierWaitResult(true)
    }

    fn park(&mut self, st: &mut State, cx: &mut Ctx<'_>) {
        st.arrived += 1;
        cx.event(ResourceOp::Pass, st.arrived);
    }

    fn released(
        &mut self,
        _: &mut State,
        (): (),
        cx: &mut Ctx<'_>,
        _: &mut Wakers,
    ) -> Option<BarrierWaitResult> {
        cx.event(ResourceOp::Served, 0);
        Some(BarrierWaitResult(false))
    }

    /// Still waiting: the arrival is withdrawn. Released: the group passed with it.
    fn cancelled(&mut self, st: &mut State, removed: Removed<()>, _: &mut Ctx<'_>, _: &mut Wakers) {
        if let Removed::Waiting(()) = removed {
            st.arrived -= 1;
        }
    }
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        assert!(!this.done, "sim: BarrierWait polled after completion");
        let b = this.barrier;
        let what = "sim::sync::Barrier::wait";
        let polled = b
            .res
            .poll_op(what, &b.state, &mut this.waiter, &mut Arrive, cx.waker());
        this.done = polled.is_ready();
        polled
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let b = self.barrier;
        b.res.cancel_op(&b.state, &mut self.waiter, &mut Arrive);
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
