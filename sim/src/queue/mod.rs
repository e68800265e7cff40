//! asyncio-style queues: [`Queue`] (FIFO), [`PriorityQueue`] (smallest first) and
//! [`LifoQueue`] (newest first), with `task_done`/`join` and Python 3.13's `shutdown`.
//!
//! This module owns the items, the unfinished-task count and three waiter lists
//! (getters, putters, joiners). Like asyncio, a `put` or `get` wakes the first waiter
//! of the other side, which then retries: a task arriving meanwhile may take the slot
//! or item first, and the woken waiter queues again at the back. It never calls a
//! waker or drops an item while its state is locked, and never touches the run queue.
//!
//! A `put`/`get`/`join` that can complete at once does so on its first poll; a wait
//! records `wait` (through the `sync` module's single wait hook) and a dropped waiting
//! future records `wait-cancelled` and passes its wakeup on to the next waiter.

mod store;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll, Waker};

use crate::sync::wait::{Removed, Res, WaitQueue, lock, wake_all};
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

    /// Adds an item (room checked by the caller); returns the size and a getter to wake.
    fn add(st: &mut State<T, S>, item: T) -> (usize, Option<Waker>) {
        st.items.push(item);
        st.unfinished += 1;
        (st.items.len(), st.getters.release_front())
    }

    fn take(st: &mut State<T, S>) -> Option<(T, usize, Option<Waker>)> {
        let item = st.items.pop()?;
        Some((item, st.items.len(), st.putters.release_front()))
    }

    fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
        let what = "sim::queue::Queue::put_nowait";
        self.res.with(what, |_, _| ());
        let mut st = lock(&self.state);
        if st.shutdown {
            drop(st);
            return Err(TryPutError::ShutDown(item));
        }
        if st.full() {
            drop(st);
            return Err(TryPutError::Full(item));
        }
        let (len, waker) = Self::add(&mut st, item);
        drop(st);
        self.res.event(what, ResourceOp::Put, len);
        waker.into_iter().for_each(Waker::wake);
        Ok(())
    }

    fn get_nowait(&self) -> Result<T, TryGetError> {
        let what = "sim::queue::Queue::get_nowait";
        self.res.with(what, |_, _| ());
        let mut st = lock(&self.state);
        match Self::take(&mut st) {
            Some((item, len, waker)) => {
                drop(st);
                self.res.event(what, ResourceOp::Get, len);
                waker.into_iter().for_each(Waker::wake);
                Ok(item)
            }
            None if st.shutdown => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    fn task_done(&self) -> Result<(), TaskDoneError> {
        let what = "sim::queue::Queue::task_done";
        self.res.with(what, |_, _| ());
        let mut wakers = Vec::new();
        let unfinished = {
            let mut st = lock(&self.state);
            if st.unfinished == 0 {
                return Err(TaskDoneError(()));
            }
            st.unfinished -= 1;
            if st.unfinished == 0 {
                st.joiners.release_all(&mut wakers);
            }
            st.unfinished
        };
        self.res.event(what, ResourceOp::TaskDone, unfinished);
        wake_all(wakers);
        Ok(())
    }

    fn shutdown(&self, immediate: bool) {
        self.res.with("sim::queue::Queue::shutdown", |_, _| ());
        let mut wakers = Vec::new();
        let dropped = {
            let mut st = lock(&self.state);
            st.shutdown = true;
            let dropped = if immediate {
                st.items.drain_all()
            } else {
                Vec::new()
            };
            if immediate {
                st.unfinished = st.unfinished.saturating_sub(dropped.len());
                if st.unfinished == 0 {
                    st.joiners.release_all(&mut wakers);
                }
            }
            st.getters.release_all(&mut wakers);
            st.putters.release_all(&mut wakers);
            dropped
        };
        self.res.event(
            "sim::queue::Queue::shutdown",
            ResourceOp::Close,
            dropped.len(),
        );
        drop(dropped); // Pending items, dropped outside the lock.
        wake_all(wakers);
    }
}

/// Which waiter list a future parks on.
#[derive(Clone, Copy)]
enum Side {
    Get,
    Put,
    Join,
}

impl<T, S> State<T, S> {
    fn list(&mut self, side: Side) -> &mut WaitQueue<()> {
        match side {
            Side::Get => &mut self.getters,
            Side::Put => &mut self.putters,
            Side::Join => &mut self.joiners,
        }
    }
}

/// A parked waiter of a queue future: its id, and whether a `wait` was recorded.
struct Parked<'a, T, S> {
    q: &'a Shared<T, S>,
    side: Side,
    waiter: Option<u64>,
    waiting: bool,
}

impl<'a, T, S> Parked<'a, T, S> {
    fn new(q: &'a Shared<T, S>, side: Side) -> Self {
        Parked {
            q,
            side,
            waiter: None,
            waiting: false,
        }
    }

    /// Whether the future should (re)try: not parked, or released since.
    fn may_try(&mut self, st: &mut State<T, S>, cx: &Context<'_>) -> bool {
        match self.waiter {
            None => true,
            Some(id) => {
                let list = st.list(self.side);
                if list.take_released(id).is_some() {
                    self.waiter = None;
                    true
                } else {
                    list.set_waker(id, cx.waker());
                    false
                }
            }
        }
    }

    /// Parks at the back (call with the state locked); records the wait on the first.
    fn park(&mut self, st: &mut State<T, S>, cx: &Context<'_>) -> bool {
        self.waiter = Some(st.list(self.side).push(cx.waker(), ()));
        !std::mem::replace(&mut self.waiting, true)
    }

    fn done(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.q.res.end_wait(false);
        }
    }
}

impl<T, S> Drop for Parked<'_, T, S> {
    fn drop(&mut self) {
        let waker = self.waiter.take().and_then(|id| {
            let mut st = lock(&self.q.state);
            let list = st.list(self.side);
            match list.remove(id) {
                // Woken but gone: pass the wakeup on (joiners are all woken anyway).
                Removed::Released(()) if !matches!(self.side, Side::Join) => list.release_front(),
                _ => None,
            }
        });
        if self.waiting {
            self.q.res.end_wait(true);
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

struct PutFut<'a, T, S> {
    parked: Parked<'a, T, S>,
    item: Option<T>,
}

// The item is never pinned: it is moved into the queue.
impl<T, S> Unpin for PutFut<'_, T, S> {}

impl<T, S: Store<T>> Future for PutFut<'_, T, S> {
    type Output = Result<(), QueueShutDown<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unpin(self);
        let what = "sim::queue::Queue::put";
        let q = this.parked.q;
        if this.parked.waiter.is_none() {
            q.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        }
        let mut st = lock(&q.state);
        if !this.parked.may_try(&mut st, cx) {
            return Poll::Pending;
        }
        let item = this
            .item
            .take()
            .expect("sim: queue put future polled after completion");
        if st.shutdown {
            drop(st);
            this.parked.done();
            q.res.with(what, |_, _| ());
            return Poll::Ready(Err(QueueShutDown(item)));
        }
        if st.full() {
            this.item = Some(item);
            let first = this.parked.park(&mut st, cx);
            drop(st);
            if first {
                q.res.begin_wait(what);
            }
            return Poll::Pending;
        }
        let (len, waker) = Shared::add(&mut st, item);
        drop(st);
        this.parked.done();
        q.res.event(what, ResourceOp::Put, len);
        waker.into_iter().for_each(Waker::wake);
        Poll::Ready(Ok(()))
    }
}

struct GetFut<'a, T, S> {
    parked: Parked<'a, T, S>,
}

impl<T, S: Store<T>> Future for GetFut<'_, T, S> {
    type Output = Result<T, QueueShutDown>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unpin(self);
        let what = "sim::queue::Queue::get";
        let q = this.parked.q;
        if this.parked.waiter.is_none() {
            q.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        }
        let mut st = lock(&q.state);
        if !this.parked.may_try(&mut st, cx) {
            return Poll::Pending;
        }
        match Shared::take(&mut st) {
            Some((item, len, waker)) => {
                drop(st);
                this.parked.done();
                q.res.event(what, ResourceOp::Get, len);
                waker.into_iter().for_each(Waker::wake);
                Poll::Ready(Ok(item))
            }
            None if st.shutdown => {
                drop(st);
                this.parked.done();
                q.res.with(what, |_, _| ());
                Poll::Ready(Err(QueueShutDown(())))
            }
            None => {
                let first = this.parked.park(&mut st, cx);
                drop(st);
                if first {
                    q.res.begin_wait(what);
                }
                Poll::Pending
            }
        }
    }
}

struct JoinFut<'a, T, S> {
    parked: Parked<'a, T, S>,
    done: bool,
}

impl<T, S: Store<T>> Future for JoinFut<'_, T, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = unpin(self);
        if this.done {
            return Poll::Ready(());
        }
        let what = "sim::queue::Queue::join";
        let q = this.parked.q;
        if this.parked.waiter.is_none() {
            q.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        }
        let mut st = lock(&q.state);
        // A released joiner passes: every item was done at that moment (as asyncio's
        // Event, even if more were put since).
        let parked = this.parked.waiter.is_some();
        if parked && !this.parked.may_try(&mut st, cx) {
            return Poll::Pending;
        }
        if !parked && st.unfinished > 0 {
            let first = this.parked.park(&mut st, cx);
            drop(st);
            if first {
                q.res.begin_wait(what);
            }
            return Poll::Pending;
        }
        drop(st);
        this.parked.done();
        q.res.event(what, ResourceOp::Pass, 1);
        this.done = true;
        Poll::Ready(())
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
            /// completes means the item was not put.
            pub async fn put(&self, item: T) -> Result<(), QueueShutDown<T>> {
                PutFut { parked: Parked::new(&self.shared, Side::Put), item: Some(item) }.await
            }

            /// Takes the next item, waiting while the queue is empty. After a shutdown,
            /// remaining items are still handed out, then it fails. Cancellation safe:
            /// no item is lost if the future is dropped.
            pub async fn get(&self) -> Result<T, QueueShutDown> {
                GetFut { parked: Parked::new(&self.shared, Side::Get) }.await
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
            /// [`task_done`](Self::task_done) (at once if none is unfinished).
            pub async fn join(&self) {
                JoinFut { parked: Parked::new(&self.shared, Side::Join), done: false }.await
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
