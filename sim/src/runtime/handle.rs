//! [`Handle`]: a handle to the run in progress, as tokio's `runtime::Handle` is to a
//! runtime. It names the run by id; every operation checks that run is the current
//! one. Public face only: it reaches the run through `task` and the facets.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use super::context;
use crate::task::{self, JoinHandle};

/// A handle to the current simulated run (mirrors `tokio::runtime::Handle`): spawn
/// onto it from anywhere inside the run, or drive a future to its end from a
/// blocking section with [`Handle::block_on`].
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let handle = sim::runtime::Handle::current();
///     assert_eq!(handle.spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }).unwrap();
/// assert!(sim::runtime::Handle::try_current().is_err()); // no run here
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The run, or [`ANY_RUN`] for a shell runtime's handle (whichever run is in
    /// progress on the thread).
    run_id: u64,
    /// The runtime's name ([`Builder::name`](crate::Builder::name)).
    name: Option<Arc<str>>,
}

/// The run id of a shell runtime's handle: no run has it (ids start at 1).
const ANY_RUN: u64 = 0;

impl Handle {
    /// The handle of a [`runtime::Runtime`](super::Runtime): it stands for the run of
    /// that runtime in progress on the thread (its `block_on`), whichever it is.
    pub(crate) fn of_run_in_progress(name: Option<Arc<str>>) -> Handle {
        Handle {
            run_id: ANY_RUN,
            name,
        }
    }

    /// The run this handle names now.
    fn run_id(&self) -> u64 {
        match self.run_id {
            ANY_RUN => context::current_run_id().unwrap_or(ANY_RUN),
            run_id => run_id,
        }
    }

    /// The handle of the current run.
    ///
    /// # Panics
    /// Outside a simulated run.
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The handle of the current run, or an error outside one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current_run()
            .map(|(run_id, name)| Handle { run_id, name })
            .ok_or(TryCurrentError(()))
    }

    /// The runtime's name, if it was given one (mirrors tokio's `Handle::name`):
    /// [`Builder::name`](crate::Builder::name), `runtime::Builder::name`, or the `name`
    /// argument of `#[sim::test]` and `#[sim::main]`.
    ///
    /// ```
    /// #[sim::main(name = "billing")]
    /// async fn run() -> Option<String> {
    ///     sim::runtime::Handle::current().name().map(String::from)
    /// }
    /// assert_eq!(run().as_deref(), Some("billing"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Spawns a task on the run (see [`sim::spawn`](crate::spawn)).
    ///
    /// # Panics
    /// When this run is not the current one.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.check("Handle::spawn");
        task::spawn_at(future, Location::caller())
    }

    /// Runs `f` in a blocking section of a task of its own (see
    /// [`spawn_blocking`](crate::task::spawn_blocking)).
    ///
    /// # Panics
    /// When this run is not the current one.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + 'static,
        R: 'static,
    {
        self.check("Handle::spawn_blocking");
        task::spawn_blocking_at(f, Location::caller())
    }

    /// Drives `future` to its end from inside a blocking section
    /// ([`spawn_blocking`](crate::task::spawn_blocking),
    /// [`block_in_place`](crate::task::block_in_place)), and returns its output.
    ///
    /// The section runs alone: no other task runs until it returns. The future is
    /// polled whenever it is woken; when it waits, the virtual clock moves to the next
    /// timer (firing the timers of other tasks on the way, which run after the section),
    /// so a sleep takes its virtual time.
    ///
    /// # Panics
    /// Outside a blocking section (as tokio's panics inside an async context: "cannot
    /// start a runtime from within a runtime"); when this run is not the current one;
    /// when the future waits for something only another task could do (that task
    /// cannot run during the section); when it sleeps past the run's `max_time`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            task::in_section("Handle::block_on", self.run_id()),
            "Cannot start a runtime from within a runtime: in a simulated run, \
             Handle::block_on drives a future only inside a blocking section \
             (spawn_blocking, block_in_place); await it instead"
        );
        task::drive(self.run_id(), future)
    }

    /// Panics unless this run is the current one.
    pub(crate) fn check(&self, what: &str) {
        context::tasks_of(what, self.run_id(), |_| ());
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// [`Handle::try_current`] was called outside a simulated run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no simulated run in progress on this thread")
    }
}

impl std::error::Error for TryCurrentError {}
