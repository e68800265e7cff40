//! tokio's public paths over `sim` (compiled under `--cfg corosim` only).
//!
//! Every item is a re-export of `sim`'s tokio-named API, except `runtime::{Builder,
//! Runtime}`, a thin shell with tokio's signatures over one simulated run. Nothing here
//! adds behaviour: what a path does is what `sim` documents.

pub use sim::spawn;
pub use sim::{join, pin, select, task_local, try_join};

/// `#[tokio::main]`: one simulated run of the body, seeded by `SIM_SEED`.
pub use sim_macros::tokio_main as main;
/// `#[tokio::test]`: a seed sweep of the body (`SIM_SEEDS`, `SIM_STRATEGY`, ...).
pub use sim_macros::tokio_test as test;

/// The simulator, for the expansions of `#[tokio::main]` and `#[tokio::test]`.
#[doc(hidden)]
pub use sim as __sim;

/// Tasks (tokio's `task`): `sim::task`.
pub mod task {
    pub use sim::task::*;
}

/// Virtual time (tokio's `time`): `sim::time`.
pub mod time {
    pub use sim::time::*;
}

/// Synchronisation primitives (tokio's `sync`): `sim::sync`.
pub mod sync {
    pub use sim::sync::*;
}

/// The runtime (tokio's `runtime`): `Handle` is `sim`'s; `Builder` and `Runtime` keep
/// tokio's signatures and run one simulated run per `block_on`.
pub mod runtime {
    use std::cell::RefCell;
    use std::future::Future;

    pub use sim::runtime::{Handle, TryCurrentError};

    /// tokio's runtime builder. Threads, drivers and clock settings are accepted and
    /// change nothing: every runtime is one simulated run, configured by the `SIM_`
    /// variables.
    #[derive(Debug, Default)]
    pub struct Builder(());

    impl Builder {
        /// A builder (the one flavour there is).
        pub fn new_current_thread() -> Builder {
            Builder(())
        }

        /// A builder (the one flavour there is: one thread).
        pub fn new_multi_thread() -> Builder {
            Builder(())
        }

        /// Accepted; the simulated drivers are always on.
        pub fn enable_all(&mut self) -> &mut Self {
            self
        }

        /// Accepted; the virtual clock is always on.
        pub fn enable_time(&mut self) -> &mut Self {
            self
        }

        /// Accepted; a run has one thread.
        pub fn worker_threads(&mut self, _threads: usize) -> &mut Self {
            self
        }

        /// Accepted; the virtual clock is always paused.
        pub fn start_paused(&mut self, _paused: bool) -> &mut Self {
            self
        }

        /// Accepted; a run starts no thread.
        pub fn thread_name(&mut self, _name: impl Into<String>) -> &mut Self {
            self
        }

        /// A runtime configured by the `SIM_` variables.
        ///
        /// # Errors
        /// When a `SIM_` variable is malformed.
        pub fn build(&mut self) -> std::io::Result<Runtime> {
            let builder = sim::Builder::from_env().map_err(std::io::Error::other)?;
            Ok(Runtime {
                inner: RefCell::new(builder.build()),
            })
        }
    }

    /// tokio's runtime: each [`block_on`](Runtime::block_on) is one simulated run.
    pub struct Runtime {
        inner: RefCell<sim::Runtime>,
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
        /// When the run fails (a panic, a deadlock, a bound), with its report; when
        /// called inside a run.
        #[track_caller]
        pub fn block_on<F: Future>(&self, future: F) -> F::Output {
            self.inner
                .borrow_mut()
                .block_on(future)
                .unwrap_or_else(|failure| panic!("{failure}"))
        }
    }

    impl std::fmt::Debug for Runtime {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Runtime").finish_non_exhaustive()
        }
    }
}
