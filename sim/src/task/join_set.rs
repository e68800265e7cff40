//! [`JoinSet`]: a collection of tasks awaited in completion order.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{AbortHandle, JoinError, JoinHandle, LocalSet, TaskId, spawn_inner};
use crate::runtime::Handle;

/// Tasks spawned into a set and awaited as they finish (mirrors `tokio::task::JoinSet`).
/// Dropping the set aborts every task still in it.
///
/// ```
/// let mut rt = sim::Builder::new().seed(3).build();
/// let sum = rt.block_on(async {
///     let mut set = sim::task::JoinSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(r) = set.join_next().await {
///         sum += r.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum.unwrap(), 45);
/// ```
pub struct JoinSet<T> {
    // Polled in wake order; FuturesUnordered is deterministic on one thread.
    inner: FuturesUnordered<Tagged<T>>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        JoinSet {
            inner: FuturesUnordered::new(),
        }
    }

    /// The number of tasks not yet joined.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every task has been joined.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Aborts every task in the set; they are still joined (as cancelled).
    pub fn abort_all(&mut self) {
        self.inner.iter().for_each(|t| t.0.abort());
    }

    /// Removes every task from the set without aborting them.
    pub fn detach_all(&mut self) {
        self.inner.clear();
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a task into the set.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(spawn_inner(future, None, Location::caller()))
    }

    /// Spawns a task into the set and into the current [`LocalSet`], if any (see
    /// [`spawn_local`](super::spawn_local)).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::local::spawn_local_inner(
            future,
            None,
            Location::caller(),
        ))
    }

    /// Spawns a task into the set and into `local` (it runs while the set is driven).
    ///
    /// ```
    /// use sim::task::{JoinSet, LocalSet};
    /// let mut rt = sim::Builder::new().build();
    /// rt.block_on(async {
    ///     let local = LocalSet::new();
    ///     let mut set = JoinSet::new();
    ///     set.spawn_local_on(async { 5 }, &local);
    ///     let five = local.run_until(set.join_next()).await;
    ///     assert_eq!(five.unwrap().unwrap(), 5);
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, future: F, local: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local.spawn_at(future, None, Location::caller()))
    }

    /// Spawns a task into the set on the run of `handle`.
    ///
    /// # Panics
    /// When that run is not the current one.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        handle.check("JoinSet::spawn_on");
        self.insert(spawn_inner(future, None, Location::caller()))
    }

    /// Runs `f` in a blocking section of a task of the set (see
    /// [`spawn_blocking`](super::spawn_blocking)).
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + 'static,
    {
        self.insert(super::spawn_blocking_at(f, Location::caller()))
    }

    /// [`spawn_blocking`](JoinSet::spawn_blocking) on the run of `handle`.
    ///
    /// # Panics
    /// When that run is not the current one.
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + 'static,
    {
        handle.check("JoinSet::spawn_blocking_on");
        self.insert(super::spawn_blocking_at(f, Location::caller()))
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.inner.push(Tagged(handle));
        abort
    }

    /// Polls for the next task to finish: `Ready(None)` when the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.inner.poll_next_unpin(cx).map(|r| r.map(|(_, r)| r))
    }

    /// Like [`try_join_next`](JoinSet::try_join_next), with the finished task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(TaskId, T), JoinError>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.inner.poll_next_unpin(&mut cx) {
            Poll::Ready(r) => r.map(|(id, r)| r.map(|v| (id, v))),
            Poll::Pending => None,
        }
    }

    /// Waits for the next task to finish; `None` when the set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        Some(self.inner.next().await?.1)
    }

    /// Like [`join_next`](JoinSet::join_next), with the finished task's id.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(TaskId, T), JoinError>> {
        let (id, r) = self.inner.next().await?;
        Some(r.map(|v| (id, v)))
    }

    /// A finished task's output if one is ready now, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.inner.poll_next_unpin(&mut cx) {
            Poll::Ready(r) => r.map(|(_, r)| r),
            Poll::Pending => None,
        }
    }

    /// Aborts every task and waits for all of them to finish.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    /// If a task panicked or was cancelled (like tokio's `join_all`).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) => panic!("JoinSet::join_all: {e}"),
            }
        }
        out
    }
}

/// Spawns every future of the iterator into the set (as [`JoinSet::spawn`]).
impl<T: 'static, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        let location = Location::caller();
        for f in futures {
            self.insert(spawn_inner(f, None, location));
        }
    }
}

/// A set of the iterator's futures, each spawned as a task.
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let set: sim::task::JoinSet<u32> = (1..=3).map(|i| async move { i * 10 }).collect();
///     let mut outputs = set.join_all().await;
///     outputs.sort();
///     assert_eq!(outputs, [10, 20, 30]);
/// }).unwrap();
/// ```
impl<T: 'static, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all_quiet();
    }
}

impl<T> JoinSet<T> {
    fn abort_all_quiet(&mut self) {
        for t in self.inner.iter() {
            t.0.abort_if_current_run();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// A join handle that yields its task id with the result.
struct Tagged<T>(JoinHandle<T>);

impl<T: 'static> Future for Tagged<T> {
    type Output = (TaskId, Result<T, JoinError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.0.id();
        Pin::new(&mut self.0).poll(cx).map(|r| (id, r))
    }
}
