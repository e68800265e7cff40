//! [`JoinSet`]: a collection of tasks awaited in completion order.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{AbortHandle, JoinError, JoinHandle, TaskId, spawn_inner};

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
        let handle = spawn_inner(future, None, Location::caller());
        let abort = handle.abort_handle();
        self.inner.push(Tagged(handle));
        abort
    }

    /// Same as [`JoinSet::spawn`].
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = spawn_inner(future, None, Location::caller());
        let abort = handle.abort_handle();
        self.inner.push(Tagged(handle));
        abort
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
