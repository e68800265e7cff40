//! asyncio-style queues: [`Queue`] (FIFO), [`PriorityQueue`] (smallest first) and
//! [`LifoQueue`] (newest first), with `task_done`/`join` and Python 3.13's `shutdown`.
//!
//! This module owns the items, the unfinished-task count and three waiter lists
//! (getters, putters, joiners). Like asyncio, a `put` or `get` wakes the first waiter
//! of the other side, which then retries: a task arriving meanwhile may take the slot
//! or item first, and the woken waiter queues again at the back. It never calls a
//! waker or drops an item while its state is locked, and never touches the run queue.
//!
//! `put`, `get` and `join` are operations of the `sync` module's common protocol
//! (`sync::wait::Op`): one that can complete at once does so on its first poll, after
//! its scheduling point (another task may run first, and then it looks again); a wait
//! records `wait` (through the single wait hook), has no point, and a dropped waiting
//! future records `wait-cancelled` and passes its wakeup on to the next waiter. The
//! `_nowait` operations, `task_done` and `shutdown` are synchronous: no point.

mod store;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use crate::sync::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, Wakers, lock};
use crate::trace::ResourceOp;
use store::{Fifo, Lifo, Prio, Store};

struct State<T, S> {
    items: S,
    maxsize: usize,
    /// Items put and not yet marked done.
    unfinished: usize,
    shutdown: bool,
    getters: WaitQueue<()>,
    putters: WaitQueue<()>,
    joiners: WaitQueue<()>,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

impl<T, S: Store<T>> State<T, S> {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }
}

struct Shared<T, S> {
    res: Res,
    state: StateLock<State<T, S>>,
}

impl<T, S: Store<T>> Shared<T, S> {
    #[track_caller]
    fn new(kind: &'static str, maxsize: usize) -> Self {
        Shared {
            res: Res::new(kind),
            state: StateLock::new(State {
                items: S::new(),
                maxsize,
                unfinished: 0,
                shutdown: false,
                getters: WaitQueue::new(),
                putters: WaitQueue::new(),
                joiners: WaitQueue::new(),
                _item: std::marker::PhantomData,
            }),
        }
    }

    /// Adds an item (room checked by the caller), waking the first getter; records
    /// `put`.
    fn add(st: &mut State<T, S>, item: T, cx: &mut Ctx<'_>, wakers: &mut Wakers) {
        st.items.push(item);
        st.unfinished += 1;
        wakers.extend(st.getters.release_front());
        cx.event(ResourceOp::Put, st.items.len());
    }

    /// Takes the next item, waking the first putter; records `get`.
    fn take(st: &mut State<T, S>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Option<T> {
        let item = st.items.pop()?;
        wakers.extend(st.putters.release_front());
        cx.event(ResourceOp::Get, st.items.len());
        Some(item)
    }

    fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
        let what = "sim::queue::Queue::put_nowait";
        self.res.update(what, &self.state, |st, cx, wakers| {
            if st.shutdown {
                return Err(TryPutError::ShutDown(item));
            }
            if st.full() {
                return Err(TryPutError::Full(item));
            }
            Self::add(st, item, cx, wakers);
            Ok(())
        })
    }

    fn get_nowait(&self) -> Result<T, TryGetError> {
        let what = "sim::queue::Queue::get_nowait";
        self.res.update(what, &self.state, |st, cx, wakers| {
            match Self::take(st, cx, wakers) {
                Some(item) => Ok(item),
                None if st.shutdown => Err(TryGetError::ShutDown),
                None => Err(TryGetError::Empty),
            }
        })
    }

    fn task_done(&self) -> Result<(), TaskDoneError> {
        let what = "sim::queue::Queue::task_done";
        self.res.update(what, &self.state, |st, cx, wakers| {
            if st.unfinished == 0 {
                return Err(TaskDoneError(()));
            }
            st.unfinished -= 1;
            if st.unfinished == 0 {
                st.joiners.release_all(wakers);
            }
            cx.event(ResourceOp::TaskDone, st.unfinished);
            Ok(())
        })
    }

    fn shutdown(&self, immediate: bool) {
        let what = "sim::queue::Queue::shutdown";
        let dropped = self.res.update(what, &self.state, |st, cx, wakers| {
            st.shutdown = true;
            let dropped = if immediate {
                st.items.drain_all()
            } else {
                Vec::new()
            };
            if immediate {
                st.unfinished = st.unfinished.saturating_sub(dropped.len());
                if st.unfinished == 0 {
                    st.joiners.release_all(wakers);
                }
            }
            st.getters.release_all(wakers);
            st.putters.release_all(wakers);
            cx.event(ResourceOp::Close, dropped.len());
            dropped
        });
        drop(dropped); // Pending items, dropped outside the lock and the core.
    }
}

/// A `put` of `item`, as an operation of the protocol. Like asyncio, a released
/// putter looks again (a task arriving meanwhile may have taken the room).
struct Put<T> {
    // Invariant: `Some` until the operation completes.
    item: Option<T>,
}

impl<T, S: Store<T>> Op<State<T, S>> for Put<T> {
    type Place = WaitQueue<()>;
    type Output = Result<(), QueueShutDown<T>>;

    fn place(st: &mut State<T, S>) -> &mut WaitQueue<()> {
        &mut st.putters
    }

    fn now(&self, st: &State<T, S>) -> bool {
        st.shutdown || !st.full()
    }

    fn complete(
        &mut self,
        st: &mut State<T, S>,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Self::Output {
        let item = self
            .item
            .take()
            .expect("sim: queue put future polled after completion");
        if st.shutdown {
            return Err(QueueShutDown(item));
        }
        Shared::add(st, item, cx, wakers);
        Ok(())
    }

    fn park(&mut self, _: &mut State<T, S>, _: &mut Ctx<'_>) {}

    /// Woken but gone: the wakeup passes to the next putter.
    fn cancelled(
        &mut self,
        st: &mut State<T, S>,
        removed: Removed<()>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        if let Removed::Released(()) = removed {
            wakers.extend(st.putters.release_front());
        }
    }
}

/// A `get`, as an operation of the protocol. Like asyncio, a released getter looks
/// again (a task arriving meanwhile may have taken the item).
struct Get;

impl<T, S: Store<T>> Op<State<T, S>> for Get {
    type Place = WaitQueue<()>;
    type Output = Result<T, QueueShutDown>;

    fn place(st: &mut State<T, S>) -> &mut WaitQueue<()> {
        &mut st.getters
    }

    fn now(&self, st: &State<T, S>) -> bool {
        st.items.len() > 0 || st.shutdown
    }

    fn complete(
        &mut self,
        st: &mut State<T, S>,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Self::Output {
        Shared::take(st, cx, wakers).ok_or(QueueShutDown(()))
    }

    fn park(&mut self, _: &mut State<T, S>, _: &mut Ctx<'_>) {}

    /// Woken but gone: the wakeup passes to the next getter.
    fn cancelled(
        &mut self,
        st: &mut State<T, S>,
        removed: Removed<()>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        if let Removed::Released(()) = removed {
            wakers.extend(st.getters.release_front());
        }
    }
}

/// A `join`, as an operation of the protocol.
struct Join;

impl<T, S: Store<T>> Op<State<T, S>> for Join {
    type Place = WaitQueue<()>;
    type Output = ();

    fn place(st: &mut State<T, S>) -> &mut WaitQueue<()> {
        &mut st.joiners
    }

    fn now(&self, st: &State<T, S>) -> bool {
        st.unfinished == 0
    }

    fn complete(&mut self, _: &mut State<T, S>, cx: &mut Ctx<'_>, _: &mut Wakers) {
        cx.event(ResourceOp::Pass, 1);
    }

    fn park(&mut self, _: &mut State<T, S>, _: &mut Ctx<'_>) {}

    /// A released joiner passes: every item was done at that moment (as asyncio's
    /// Event, even if more were put since). Joiners are all released together, so a
    /// dropped one has nothing to pass on.
    fn released(
        &mut self,
        _: &mut State<T, S>,
        (): (),
        cx: &mut Ctx<'_>,
        _: &mut Wakers,
    ) -> Option<()> {
        cx.event(ResourceOp::Pass, 1);
        Some(())
    }
}

/// A queue operation's future: the operation, its waiter, the queue.
struct OpFut<'a, T, S, O: Op<State<T, S>>> {
    q: &'a Shared<T, S>,
    what: &'static str,
    waiter: Waiter,
    op: O,
}

impl<'a, T, S, O: Op<State<T, S>>> OpFut<'a, T, S, O> {
    fn new(q: &'a Shared<T, S>, what: &'static str, op: O) -> Self {
        OpFut {
            q,
            what,
            waiter: Waiter::new(),
            op,
        }
    }
}

// The operation is never pinned: its item is moved into the queue or handed back.
impl<T, S, O: Op<State<T, S>>> Unpin for OpFut<'_, T, S, O> {}

impl<T, S, O: Op<State<T, S>>> Future for OpFut<'_, T, S, O> {
    type Output = O::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O::Output> {
        let this = unpin(self);
        let q = this.q;
        q.res.poll_op(
            this.what,
            &q.state,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl<T, S, O: Op<State<T, S>>> Drop for OpFut<'_, T, S, O> {
    fn drop(&mut self) {
        let q = self.q;
        q.res.cancel_op(&q.state, &mut self.waiter, &mut self.op);
    }
}

fn unpin<F: Unpin>(f: Pin<&mut F>) -> &mut F {
    f.get_mut()
}

macro_rules! queue_type {
    ($(#[$doc:meta])* $name:ident, $store:ident, $kind:literal, $($bound:tt)*) => {
        $(#[$doc])*
        pub struct $name<T> {
            shared: Arc<Shared<T, $store<T>>>,
        }

        impl<T: $($bound)*> $name<T> {
            /// A queue holding at most `maxsize` items (`0`: no bound).
            #[track_caller]
            pub fn new(maxsize: usize) -> Self {
                $name { shared: Arc::new(Shared::new($kind, maxsize)) }
            }

            /// Puts `item`, waiting while the queue is full. Fails (giving the item
            /// back) once the queue is shut down. Dropping the future before it
            /// completes means the item was not put. Another task may run first when
            /// there is room (its [scheduling point](crate::sync#scheduling-rules)).
            pub async fn put(&self, item: T) -> Result<(), QueueShutDown<T>> {
                OpFut::new(&self.shared, "sim::queue::Queue::put", Put { item: Some(item) }).await
            }

            /// Takes the next item, waiting while the queue is empty. After a shutdown,
            /// remaining items are still handed out, then it fails. Cancellation safe:
            /// no item is lost if the future is dropped. Another task may run first
            /// when an item is there (its [scheduling
            /// point](crate::sync#scheduling-rules)).
            pub async fn get(&self) -> Result<T, QueueShutDown> {
                OpFut::new(&self.shared, "sim::queue::Queue::get", Get).await
            }

            /// Puts `item` if there is room now.
            pub fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
                self.shared.put_nowait(item)
            }

            /// Takes an item if one is there now.
            pub fn get_nowait(&self) -> Result<T, TryGetError> {
                self.shared.get_nowait()
            }

            /// Marks one item taken with `get` as processed.
            ///
            /// # Errors
            /// If called more times than items were put.
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.shared.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done) (at once if none is unfinished, though
            /// another task may run first: its [scheduling
            /// point](crate::sync#scheduling-rules)).
            pub async fn join(&self) {
                OpFut::new(&self.shared, "sim::queue::Queue::join", Join).await
            }

            /// Shuts the queue down (Python 3.13): `put` fails from now on, and blocked
            /// putters fail; `get` drains the remaining items, then fails. With
            /// `immediate`, the remaining items are dropped and counted as done
            /// (releasing `join`), and blocked getters fail at once.
            pub fn shutdown(&self, immediate: bool) {
                self.shared.shutdown(immediate)
            }

            /// The number of items in the queue.
            pub fn qsize(&self) -> usize {
                lock(&self.shared.state).items.len()
            }

            /// Whether the queue holds no item.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// Whether the queue holds `maxsize` items (never, if unbounded).
            pub fn full(&self) -> bool {
                lock(&self.shared.state).full()
            }

            /// The bound given to `new` (`0`: none).
            pub fn maxsize(&self) -> usize {
                lock(&self.shared.state).maxsize
            }

            /// Items put and not yet marked done.
            pub fn unfinished_tasks(&self) -> usize {
                lock(&self.shared.state).unfinished
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            pub fn is_shutdown(&self) -> bool {
                lock(&self.shared.state).shutdown
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name { shared: self.shared.clone() }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

queue_type!(
    /// asyncio's `Queue`: first in, first out.
    ///
    /// ```
    /// use sim::queue::Queue;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let q = Queue::new(2);
    ///     let worker = {
    ///         let q = q.clone();
    ///         sim::spawn(async move {
    ///             while let Ok(item) = q.get().await {
    ///                 assert!(item < 5);
    ///                 q.task_done().unwrap();
    ///             }
    ///         })
    ///     };
    ///     for i in 0..5 {
    ///         q.put(i).await.unwrap(); // waits while two items are queued
    ///     }
    ///     q.join().await; // every item was processed
    ///     assert_eq!(q.unfinished_tasks(), 0);
    ///     q.shutdown(false); // the worker's get fails: it stops
    ///     worker.await.unwrap();
    /// }).unwrap();
    /// ```
    Queue, Fifo, "queue", Sized
);

queue_type!(
    /// asyncio's `PriorityQueue`: the smallest item first; equal items in the order
    /// they were put.
    ///
    /// ```
    /// use sim::queue::PriorityQueue;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let q = PriorityQueue::new(0);
    ///     for job in [(2, "b"), (1, "a"), (2, "c")] {
    ///         q.put(job).await.unwrap();
    ///     }
    ///     assert_eq!(q.get().await.unwrap(), (1, "a"));
    ///     assert_eq!(q.get().await.unwrap(), (2, "b"));
    /// }).unwrap();
    /// ```
    PriorityQueue, Prio, "priority-queue", Ord
);

queue_type!(
    /// asyncio's `LifoQueue`: the newest item first.
    ///
    /// ```
    /// use sim::queue::LifoQueue;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let q = LifoQueue::new(0);
    ///     q.put_nowait(1).unwrap();
    ///     q.put_nowait(2).unwrap();
    ///     assert_eq!(q.get_nowait().unwrap(), 2);
    /// }).unwrap();
    /// ```
    LifoQueue, Lifo, "lifo-queue", Sized
);

/// `put` or `get` on a queue that was shut down; a failed `put` gives its item back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// `put_nowait` failed (asyncio's `QueueFull` or `QueueShutDown`); the item comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue was shut down.
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(v) | TryPutError::ShutDown(v) => v,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "Full(..)",
            TryPutError::ShutDown(_) => "ShutDown(..)",
        })
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "queue full",
            TryPutError::ShutDown(_) => "queue shut down",
        })
    }
}

impl<T> std::error::Error for TryPutError<T> {}

/// `get_nowait` found no item (asyncio's `QueueEmpty` or `QueueShutDown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item now (asyncio's `QueueEmpty`).
    Empty,
    /// No item, and the queue was shut down.
    ShutDown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "queue empty",
            TryGetError::ShutDown => "queue shut down",
        })
    }
}

impl std::error::Error for TryGetError {}

/// `task_done` was called more times than items were put (asyncio's `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
