//! The deterministic runtime: sim's [`crate::Builder`] and [`crate::Runtime`], tokio's
//! shapes of them ([`Builder`], [`Runtime`]), [`Handle`] and the run loop.
//!
//! Owns the engine (`core`, `executor`, `context`); everything in it is crate-private
//! except the builders, the runtimes and the handle to the run in progress (`Handle`,
//! tokio's `runtime::Handle`, which reaches the run through the public `task` API).
//! sim's own builder and runtime (`run.rs`) are re-exported at the crate root; this
//! module's `Builder` and `Runtime` (`shell.rs`) keep tokio's signatures, so code
//! written as `tokio::runtime::Builder::new_current_thread()...build()?.block_on(..)`
//! moves here by a change of path, each `block_on` being one simulated run. Architecture invariants: no wall clock,
//! no OS threads, no hash-ordered iteration in any decision; one run is one call of
//! [`Runtime::block_on`], a pure function of (configuration, code).

pub(crate) mod context;
pub(crate) mod core;
mod decider;
mod executor;
pub(crate) mod extension;
pub(crate) mod facets;
mod handle;
pub(crate) mod hosts;
mod panic;
pub(crate) mod raw;
pub(crate) mod run;
mod shell;
mod stop;
mod task_table;
mod tasks;
pub(crate) mod timers;
mod waker;
pub(crate) mod wakeup;

use std::time::Duration;

pub use self::handle::{Handle, TryCurrentError};
pub(crate) use self::panic::SharedAcrossRuns;
pub(crate) use self::run::Config;
pub use self::shell::{Builder, Runtime};
pub(crate) use self::stop::Stop;

pub use crate::config::UnhandledPanic;

/// Default [`crate::Builder::max_steps`]: one million polls.
pub const DEFAULT_MAX_STEPS: u64 = 1_000_000;
/// Default [`crate::Builder::max_time`]: a hundred years of virtual time (365-day
/// years). Longer than tokio's thirty-year "far future", where a sleep of
/// `Duration::MAX` ends, so every sleep a test finishes on tokio's paused clock also
/// finishes here; a task waiting forever on a periodic timer meets the step bound.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(100 * 365 * 86_400);
pub use crate::sched::DEFAULT_PCT_STEPS;
