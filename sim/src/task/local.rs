//! [`LocalSet`] and the current set that [`spawn_local`](super::spawn_local) spawns
//! into.
//!
//! A run is one thread, so every task is already local; what a `LocalSet` adds is
//! tokio's lifecycle: its tasks run only while the set is driven ([`LocalSet::run_until`],
//! or awaiting the set), awaiting the set waits for all of them, and dropping it
//! cancels them. Its tasks are ordinary tasks of the run (scheduled, traced and
//! checked like any other); a task that finds its set not driven parks on the set and
//! is woken when it is driven again. The current set lives in a thread-local, set
//! around each poll of a future the set drives; it holds no randomness and decides
//! nothing.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::{AbortHandle, JoinHandle, spawn_inner};

thread_local! {
    /// The set that `spawn_local` spawns into: set while a future the set drives is
    /// polled, and by [`LocalSet::enter`].
    static CURRENT: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

/// What a set shares with its tasks.
#[derive(Default)]
struct State {
    /// Tasks spawned into the set and not yet finished or cancelled.
    live: Cell<usize>,
    /// How many `run_until` futures (or awaits of the set) are driving it now.
    driving: Cell<usize>,
    /// Whether an await of the set itself is one of them.
    awaited: Cell<bool>,
    /// Abort handles of the set's tasks (finished ones are pruned as it grows).
    tasks: RefCell<Vec<AbortHandle>>,
    /// Tasks that found the set not driven, woken when it is driven again.
    parked: RefCell<Vec<Waker>>,
    /// The task awaiting the set itself, woken when its last task finishes.
    waiter: RefCell<Option<Waker>>,
}

impl State {
    fn start_driving(&self) {
        self.driving.set(self.driving.get() + 1);
        if self.driving.get() == 1 {
            let parked = std::mem::take(&mut *self.parked.borrow_mut());
            parked.into_iter().for_each(Waker::wake); // After the borrow.
        }
    }

    fn stop_driving(&self) {
        self.driving.set(self.driving.get() - 1);
    }
}

/// Makes `state` the current set until dropped (restoring the one before).
struct Enter(Option<Rc<State>>);

fn enter(state: &Rc<State>) -> Enter {
    Enter(CURRENT.with(|c| c.borrow_mut().replace(state.clone())))
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Spawns `future` into the current set if there is one, else as a plain task of the
/// run (what `spawn_local` and `JoinSet::spawn_local` do).
#[track_caller]
pub(super) fn spawn_local_inner<F>(
    future: F,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(state) => spawn_into(&state, future, name, location),
        None => spawn_inner(future, name, location),
    }
}

#[track_caller]
fn spawn_into<F>(
    state: &Rc<State>,
    future: F,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // Counted before the task exists: if the spawn fails (outside a run), dropping the
    // task's membership takes the count back down.
    state.live.set(state.live.get() + 1);
    let task = LocalTask {
        future,
        set: Member(state.clone()),
    };
    let handle = spawn_inner(task, name, location);
    let mut tasks = state.tasks.borrow_mut();
    if tasks.len() >= 2 * state.live.get() + 16 {
        tasks.retain(|t| !t.is_finished());
    }
    tasks.push(handle.abort_handle());
    handle
}

/// A task's membership of its set: leaving it (finishing or being cancelled) may
/// wake the task awaiting the set.
struct Member(Rc<State>);

impl Drop for Member {
    fn drop(&mut self) {
        let state = &self.0;
        state.live.set(state.live.get() - 1);
        if state.live.get() == 0 {
            let waiter = state.waiter.borrow_mut().take();
            if let Some(w) = waiter {
                w.wake(); // After the borrow.
            }
        }
    }
}

pin_project! {
    /// A task of a set: polled with the set current, only while the set is driven.
    struct LocalTask<F> {
        #[pin]
        future: F,
        set: Member,
    }
}

impl<F: Future> Future for LocalTask<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let state = &this.set.0;
        if state.driving.get() == 0 {
            let mut parked = state.parked.borrow_mut();
            if !parked.iter().any(|w| w.will_wake(cx.waker())) {
                parked.push(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let _current = enter(state);
        this.future.poll(cx)
    }
}

/// A runtime that [`LocalSet::block_on`] can run a future on: sim's
/// (`&mut sim::Runtime`, whose output is a `Result` with the run's failure) or tokio's
/// shape (`&sim::runtime::Runtime`, whose output is the future's).
pub trait BlockOn {
    /// What running a future with output `T` gives.
    type Output<T>;

    /// Runs `future` to its end as one run.
    fn block_on<F: Future>(self, future: F) -> Self::Output<F::Output>;
}

impl BlockOn for &mut crate::Runtime {
    type Output<T> = Result<T, crate::Failure>;

    #[track_caller]
    fn block_on<F: Future>(self, future: F) -> Self::Output<F::Output> {
        crate::Runtime::block_on(self, future)
    }
}

impl BlockOn for &crate::runtime::Runtime {
    type Output<T> = T;

    #[track_caller]
    fn block_on<F: Future>(self, future: F) -> F::Output {
        crate::runtime::Runtime::block_on(self, future)
    }
}

/// A set of tasks that run only while the set is driven (mirrors
/// `tokio::task::LocalSet`).
///
/// Tasks spawned with [`LocalSet::spawn_local`], or with
/// [`spawn_local`](super::spawn_local) from a future the set drives, belong to it. They
/// run while the set is driven, by [`run_until`](LocalSet::run_until) or by awaiting
/// the set (which ends when all of them have); tasks not finished when `run_until`
/// returns wait for the set to be driven again. Dropping the set cancels its tasks.
///
/// ```
/// use sim::task::{LocalSet, spawn_local};
/// let mut rt = sim::Builder::new().seed(2).build();
/// rt.block_on(async {
///     let local = LocalSet::new();
///     let answer = local.run_until(async {
///         // `!Send` state is fine: everything runs on the run's thread.
///         let shared = std::rc::Rc::new(40);
///         let s = shared.clone();
///         spawn_local(async move { *s + 2 }).await.unwrap()
///     }).await;
///     assert_eq!(answer, 42);
///
///     let done = std::rc::Rc::new(std::cell::Cell::new(0));
///     for _ in 0..3 {
///         let done = done.clone();
///         local.spawn_local(async move { done.set(done.get() + 1) });
///     }
///     local.await; // drives the set until its three tasks have finished
///     assert_eq!(done.get(), 3);
/// }).unwrap();
/// ```
///
/// Its tasks interleave with the run's other tasks at scheduling points; see the
/// crate's [differences from tokio](crate#differences-from-tokio).
pub struct LocalSet {
    state: Rc<State>,
    // `!Send`, like tokio's.
    _local: PhantomData<*const ()>,
}

impl Default for LocalSet {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> Self {
        LocalSet {
            state: Rc::default(),
            _local: PhantomData,
        }
    }

    /// Spawns `future` into the set: it runs while the set is driven.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.state, future, None, Location::caller())
    }

    /// [`spawn_local`](LocalSet::spawn_local) with a task name and spawn location.
    #[track_caller]
    pub(super) fn spawn_at<F>(
        &self,
        future: F,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.state, future, name, location)
    }

    /// Drives the set while `future` runs, and returns its output: `spawn_local` inside
    /// `future` spawns into the set. Tasks of the set still running when `future`
    /// finishes stay in the set (they run again when it is next driven).
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil {
            future,
            driver: Driver {
                state: &self.state,
                started: false,
            },
        }
    }

    /// Runs `future` on `rt` (one fresh run) with the set driven, like
    /// [`run_until`](LocalSet::run_until); mirrors `LocalSet::block_on`. With sim's
    /// [`Runtime`](crate::Runtime) (`&mut rt`) it returns the run's
    /// [`Failure`](crate::Failure) as an error; with tokio's shape,
    /// [`runtime::Runtime`](crate::runtime::Runtime) (`&rt`), it returns the output and
    /// panics on a failure, as tokio's.
    ///
    /// ```
    /// let local = sim::task::LocalSet::new();
    /// let mut rt = sim::Builder::new().build();
    /// let out = local.block_on(&mut rt, async {
    ///     sim::task::spawn_local(async { 7 }).await.unwrap()
    /// });
    /// assert_eq!(out.unwrap(), 7);
    ///
    /// let rt = sim::runtime::Runtime::new().unwrap();
    /// let out = local.block_on(&rt, async {
    ///     sim::task::spawn_local(async { 8 }).await.unwrap()
    /// });
    /// assert_eq!(out, 8);
    /// ```
    #[track_caller]
    pub fn block_on<R: BlockOn, F: Future>(&self, rt: R, future: F) -> R::Output<F::Output> {
        rt.block_on(self.run_until(future))
    }

    /// Makes this the current set (for [`spawn_local`](super::spawn_local)) until the
    /// guard is dropped, without driving it.
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _entered: enter(&self.state),
        }
    }

    /// How many of the set's tasks have not finished.
    pub fn len(&self) -> usize {
        self.state.live.get()
    }

    /// Whether every task of the set has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Awaiting a set drives it until every one of its tasks has finished.
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = &self.state;
        if state.live.get() == 0 {
            let waiter = state.waiter.borrow_mut().take();
            drop(waiter); // After the borrow.
            if state.awaited.replace(false) {
                state.stop_driving();
            }
            return Poll::Ready(());
        }
        let replaced = state.waiter.borrow_mut().replace(cx.waker().clone());
        drop(replaced); // After the borrow.
        // Driven from the first poll until the set is empty.
        if !state.awaited.replace(true) {
            state.start_driving();
        }
        Poll::Pending
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        let tasks = std::mem::take(&mut *self.state.tasks.borrow_mut());
        for t in &tasks {
            t.abort_if_current_run();
        }
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("len", &self.len())
            .finish()
    }
}

/// The guard of [`LocalSet::enter`]: the set stays current until it is dropped.
pub struct LocalEnterGuard {
    _entered: Enter,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalEnterGuard")
    }
}

/// Drives a set from the first poll of a [`RunUntil`] until it is dropped.
struct Driver<'a> {
    state: &'a Rc<State>,
    started: bool,
}

impl Drop for Driver<'_> {
    fn drop(&mut self) {
        if self.started {
            self.state.stop_driving();
        }
    }
}

pin_project! {
    /// The future of [`LocalSet::run_until`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntil<'a, F> {
        #[pin]
        future: F,
        driver: Driver<'a>,
    }
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let state = this.driver.state;
        if !std::mem::replace(&mut this.driver.started, true) {
            state.start_driving();
        }
        let _current = enter(state);
        this.future.poll(cx)
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunUntil")
    }
}
