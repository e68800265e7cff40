//! tokio's `runtime::{Builder, Runtime}` with tokio's signatures, as a thin shell over
//! sim's own: each [`Runtime::block_on`] is one simulated run, configured by the `SIM_`
//! variables (read once more at each run, validated by [`Builder::build`]).
//!
//! Owns no run state: a shell runtime is its name at most (`Send + Sync`, as tokio's),
//! and a task exists only inside the run of a `block_on`. It must not start threads, read
//! the wall clock or keep anything from one run to the next.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::context;
use super::handle::Handle;
use crate::config::UnhandledPanic;
use crate::failure::Failure;
use crate::task::{self, JoinHandle};

/// tokio's runtime builder (`tokio::runtime::Builder`). Every flavour and setting is
/// accepted and, but for [`name`](Self::name), changes nothing: a runtime is one
/// thread with the virtual clock, always paused, and its runs are configured by the
/// `SIM_` variables.
///
/// ```
/// let rt = sim::runtime::Builder::new_current_thread()
///     .enable_all()
///     .start_paused(true)
///     .build()
///     .unwrap();
/// let out = rt.block_on(async {
///     sim::time::sleep(std::time::Duration::from_secs(5)).await;
///     sim::spawn(async { 40 + 2 }).await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder for a runtime (the one flavour there is).
    pub fn new_current_thread() -> Builder {
        Builder::default()
    }

    /// A builder for a runtime (the one flavour there is: one thread).
    pub fn new_multi_thread() -> Builder {
        Builder::default()
    }

    /// Names the runtime: [`Handle::name`] returns it, in its runs and from
    /// [`Runtime::handle`].
    ///
    /// # Panics
    /// If `name` is empty or only whitespace (as tokio's).
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = Some(super::run::runtime_name(
            "runtime::Builder::name",
            name.into(),
        ));
        self
    }

    /// Accepted: the simulated drivers are always on.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Accepted: the virtual clock is always on.
    pub fn enable_time(&mut self) -> &mut Self {
        self
    }

    /// Accepted: the simulated network is always on.
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Accepted: the virtual clock is always paused (it moves when every task waits).
    pub fn start_paused(&mut self, _paused: bool) -> &mut Self {
        self
    }

    /// Accepted: a run has one thread.
    pub fn worker_threads(&mut self, _threads: usize) -> &mut Self {
        self
    }

    /// Accepted: blocking sections run in the run's thread.
    pub fn max_blocking_threads(&mut self, _threads: usize) -> &mut Self {
        self
    }

    /// Accepted: a run starts no thread.
    pub fn thread_name(&mut self, _name: impl Into<String>) -> &mut Self {
        self
    }

    /// Accepted: a run starts no thread.
    pub fn thread_stack_size(&mut self, _bytes: usize) -> &mut Self {
        self
    }

    /// Accepted: blocking sections run in the run's thread.
    pub fn thread_keep_alive(&mut self, _duration: Duration) -> &mut Self {
        self
    }

    /// Accepted: the scheduler decides at every poll.
    pub fn event_interval(&mut self, _ticks: u32) -> &mut Self {
        self
    }

    /// Accepted: there is one run queue.
    pub fn global_queue_interval(&mut self, _ticks: u32) -> &mut Self {
        self
    }

    /// A runtime whose runs are configured by the `SIM_` variables.
    ///
    /// # Errors
    /// When a `SIM_` variable is malformed.
    pub fn build(&mut self) -> std::io::Result<Runtime> {
        super::run::Builder::from_env().map_err(std::io::Error::other)?;
        Ok(Runtime {
            handle: Handle::of_run_in_progress(self.name.clone()),
        })
    }
}

/// tokio's runtime (`tokio::runtime::Runtime`): each [`block_on`](Runtime::block_on)
/// is one simulated run, seeded and bounded by the `SIM_` variables, in which a
/// spawned task's panic is caught and returned by its `JoinHandle` (tokio's default;
/// `#[sim::test]` fails the run instead). Tasks live only inside a run: what a
/// `block_on` leaves running is dropped when it returns.
pub struct Runtime {
    handle: Handle,
}

impl Runtime {
    /// A runtime configured by the `SIM_` variables.
    ///
    /// # Errors
    /// When a `SIM_` variable is malformed.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_current_thread().build()
    }

    /// Runs `future` to its end as one simulated run and returns its output.
    ///
    /// # Panics
    /// When the run fails (a panic of `future` goes on, as tokio's; a deadlock or a
    /// bound panics here), with its report; inside a run (tokio's "Cannot start a runtime from within a runtime").
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            context::current_run_id().is_none(),
            "Cannot start a runtime from within a runtime. This happens because a function \
             (like `block_on`) attempted to block the current thread while the thread is \
             being used to drive asynchronous tasks."
        );
        let mut builder = super::run::Builder::from_env()
            .unwrap_or_else(|e| panic!("{e}"))
            .unhandled_panic(UnhandledPanic::Ignore);
        if let Some(name) = self.handle.name() {
            builder = builder.name(name);
        }
        match builder.build().block_on(future) {
            Ok(output) => output,
            // The future panicked: its panic goes on from here, as tokio's `block_on`
            // propagates it (without a second call of the panic hook, which already
            // saw the first one and its location), carrying the report.
            Err(failure @ Failure::Panic(_)) => {
                let report = failure.to_string();
                eprintln!("{report}");
                std::panic::resume_unwind(Box::new(report))
            }
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Spawns a task on the run in progress (inside this runtime's
    /// [`block_on`](Self::block_on)), as [`sim::spawn`](crate::spawn).
    ///
    /// # Panics
    /// Outside a run: a task can only be spawned while a run is in progress.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.handle.check("Runtime::spawn");
        task::spawn_at(future, Location::caller())
    }

    /// Runs `f` in a blocking section of a task of its own on the run in progress, as
    /// [`spawn_blocking`](crate::task::spawn_blocking).
    ///
    /// # Panics
    /// Outside a run.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + 'static,
        R: 'static,
    {
        self.handle.check("Runtime::spawn_blocking");
        task::spawn_blocking_at(f, Location::caller())
    }

    /// A handle to whichever run of this runtime is in progress: usable inside
    /// [`block_on`](Self::block_on) only (outside, its operations panic).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Drops the runtime (its runs have ended with their `block_on`s).
    pub fn shutdown_timeout(self, _duration: Duration) {}

    /// Drops the runtime (its runs have ended with their `block_on`s).
    pub fn shutdown_background(self) {}
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}
