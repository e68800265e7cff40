//! Tasks: [`spawn`], [`JoinHandle`], [`JoinSet`], [`yield_now`], named tasks through
//! [`Builder`], [`LocalSet`] and [`spawn_local`], blocking sections
//! ([`spawn_blocking`], [`block_in_place`]) and task-local storage ([`LocalKey`],
//! [`task_local!`](crate::task_local)). Mirrors `tokio::task`.
//!
//! Spawned futures need not be `Send` (the run is single-threaded), so anything written
//! for `tokio::spawn` compiles here. A task records its `#[track_caller]` spawn
//! location, and gets one `tracing` span (`task{id, name}`) entered around each poll,
//! so user logs inside it carry its id and name. This module is the public face of
//! tasks; it reaches the run only through the `Tasks` facet.

mod blocking;
mod join;
mod join_set;
mod local;
mod task_local;

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use crate::ids::TaskId;
/// tokio's name for a task's id ([`TaskId`]).
pub use crate::ids::TaskId as Id;
pub use blocking::{block_in_place, spawn_blocking};
pub(crate) use blocking::{drive, in_section, spawn_blocking_at};
pub use join::{AbortHandle, JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use local::{BlockOn, LocalEnterGuard, LocalSet, RunUntil};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};

/// Futures of this module (tokio's `task::futures`).
pub mod futures {
    pub use super::task_local::TaskLocalFuture;
}

use crate::runtime::{context, raw};

#[track_caller]
fn spawn_inner<F>(
    future: F,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let cell: raw::BoxTask = Box::pin(raw::Task::new(future));
    let (id, run_id) = context::tasks("sim::spawn", |tasks| {
        (tasks.spawn(cell, name, location), tasks.run_id())
    });
    JoinHandle::new(id, run_id)
}

/// Spawns a task on the current run. It starts runnable; the scheduler decides when
/// it first runs. Like `tokio::spawn`, but the future need not be `Send`.
///
/// ```
/// let mut rt = sim::Builder::new().seed(1).build();
/// let out = rt.block_on(async {
///     let h = sim::spawn(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
///
/// # Panics
/// Outside a simulated run.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_inner(future, None, Location::caller())
}

/// [`spawn`] at `location` (for `Handle::spawn`).
#[track_caller]
pub(crate) fn spawn_at<F>(future: F, location: &'static Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_inner(future, None, location)
}

/// Spawns a task into the current [`LocalSet`]: the set driving the future that calls
/// it (or entered with [`LocalSet::enter`]). Mirrors `tokio::task::spawn_local`.
///
/// Outside any set it spawns a plain task of the run (tokio panics there): every task
/// of a run is local to its thread already.
///
/// # Panics
/// Outside a simulated run.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    local::spawn_local_inner(future, None, Location::caller())
}

/// Configures a task before spawning it (mirrors `tokio::task::Builder`).
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     sim::task::Builder::new().name("producer-1").spawn(async {}).unwrap().await.unwrap();
/// }).unwrap();
/// assert!(rt.trace().tasks().iter().any(|t| t.name.as_deref() == Some("producer-1")));
/// ```
#[derive(Default, Debug, Clone)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder for an unnamed task.
    pub fn new() -> Self {
        Builder { name: None }
    }

    /// Names the task; the name appears in traces, reports and its tracing span.
    pub fn name(self, name: &'a str) -> Self {
        Builder { name: Some(name) }
    }

    /// Spawns the task. Returns `io::Result` like tokio's builder; it does not fail.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> std::io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(spawn_inner(
            future,
            self.name.map(Arc::from),
            Location::caller(),
        ))
    }

    /// Like [`spawn_local`]: into the current [`LocalSet`] if there is one.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> std::io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(local::spawn_local_inner(
            future,
            self.name.map(Arc::from),
            Location::caller(),
        ))
    }

    /// Spawns the task into `local` (it runs while the set is driven).
    #[track_caller]
    pub fn spawn_local_on<F>(
        self,
        future: F,
        local: &LocalSet,
    ) -> std::io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(local.spawn_at(future, self.name.map(Arc::from), Location::caller()))
    }

    /// Spawns the task on the run of `handle`.
    ///
    /// # Panics
    /// When that run is not the current one.
    #[track_caller]
    pub fn spawn_on<F>(
        self,
        future: F,
        handle: &crate::runtime::Handle,
    ) -> std::io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        handle.check("sim::task::Builder::spawn_on");
        Ok(spawn_inner(
            future,
            self.name.map(Arc::from),
            Location::caller(),
        ))
    }

    /// Runs `f` in a blocking section of a task of this name (see [`spawn_blocking`]).
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> std::io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + 'static,
        R: 'static,
    {
        Ok(blocking::spawn_blocking_named(
            f,
            self.name.map_or_else(|| Arc::from("blocking"), Arc::from),
            Location::caller(),
        ))
    }
}

/// The id of the task being polled (see [`try_id`]).
///
/// # Panics
/// Outside a task of a simulated run.
pub fn id() -> TaskId {
    try_id().expect("sim::task::id called outside a task of a simulated run")
}

/// The id of the task being polled, or `None` outside one. In the destructor of a
/// task's output (or future) dropped outside its poll, that task's id, as tokio's.
pub fn try_id() -> Option<TaskId> {
    context::dropping_task().or_else(context::try_current_task)
}

/// Yields once: the task stays runnable and the scheduler may run another task first.
///
/// ```
/// # let mut rt = sim::Builder::new().build();
/// # rt.block_on(async {
/// sim::task::yield_now().await;
/// # }).unwrap();
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

/// A scheduling point: the scheduler may run other tasks before this returns, as it
/// may before every async operation of `sim`'s primitives. Put it where your task
/// touches state shared with other tasks outside those primitives (a `RefCell`, an
/// atomic, a `static`), so that the interleavings around that access get explored.
///
/// Unlike [`yield_now`], it usually returns at once: it yields only when the scheduler
/// decides that another task runs first (and it counts against the task's cooperative
/// budget, like [`consume_budget`]). Outside a run it returns at once.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let mut rt = sim::Builder::new().seed(3).build();
/// rt.block_on(async {
///     let shared = Rc::new(Cell::new(0));
///     let s = shared.clone();
///     let other = sim::spawn(async move { s.set(s.get() + 1) });
///     let seen = shared.get();
///     sim::task::scheduling_point().await; // `other` may run here
///     shared.set(seen + 1);
///     other.await.unwrap();
/// }).unwrap();
/// ```
pub async fn scheduling_point() {
    SchedulingPoint { passed: false }.await
}

/// tokio's name for a cooperative yield point: here the same as
/// [`scheduling_point`] (a unit of the task's budget, and a point where the scheduler
/// may run another task first).
pub async fn consume_budget() {
    scheduling_point().await
}

/// tokio's cooperative scheduling (`tokio::task::coop`): every scheduling point of a
/// task spends a unit of its budget of 128 per poll; once spent, the next one yields
/// (see [the crate docs](crate#differences-from-tokio)).
pub mod coop {
    pub use super::consume_budget;

    /// Whether the current task can pass another scheduling point in this poll before
    /// it must yield for its budget, as `tokio::task::coop::has_budget_remaining`.
    /// Outside a run (no budget is kept) it is `true`.
    ///
    /// ```
    /// sim::Builder::new().build().block_on(async {
    ///     assert!(sim::task::coop::has_budget_remaining());
    ///     while sim::task::coop::has_budget_remaining() {
    ///         sim::task::coop::consume_budget().await; // never yields here
    ///     }
    ///     sim::task::coop::consume_budget().await; // yields, and the budget is back
    ///     assert!(sim::task::coop::has_budget_remaining());
    /// }).unwrap();
    /// ```
    pub fn has_budget_remaining() -> bool {
        crate::runtime::context::try_tasks(|tasks| tasks.has_budget_remaining()).unwrap_or(true)
    }
}

struct SchedulingPoint {
    passed: bool,
}

impl Future for SchedulingPoint {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if context::point_once(&mut self.passed, cx.waker()) {
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        if !context::tasks("sim::task::yield_now", |tasks| tasks.yield_now(cx.waker())) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
