//! # sim: deterministic simulation testing for async Rust
//!
//! `sim` runs async code on a seeded, single-threaded executor with a virtual clock.
//! A run is a pure function of (seed, code): the same seed gives the same schedule,
//! the same trace and the same failure, so a concurrency bug found once can be replayed
//! at will.
//!
//! ## Tutorial
//!
//! Two tasks increment a shared counter with a check-then-act across an `.await`: each
//! reads the value, yields, then writes the value it read plus one. Whether an update
//! is lost depends on which task runs when, which is exactly what the seed decides.
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use std::time::Duration;
//!
//! async fn racy_counter() -> u32 {
//!     let counter = Rc::new(Cell::new(0));
//!     let mut tasks = Vec::new();
//!     for name in ["alice", "bob"] {
//!         let counter = counter.clone();
//!         let task = sim::task::Builder::new().name(name).spawn(async move {
//!             let seen = counter.get();                  // check ...
//!             sim::task::yield_now().await;              // ... another task may run here ...
//!             counter.set(seen + 1);                     // ... act on a stale value
//!             sim::time::sleep(Duration::from_millis(5)).await;
//!         });
//!         tasks.push(task.unwrap());
//!     }
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     counter.get()
//! }
//!
//! // Sweep seeds: some interleavings lose an update.
//! let mut lost = None;
//! for seed in 0..100 {
//!     let mut rt = sim::Builder::new().seed(seed).build();
//!     if rt.block_on(racy_counter()).unwrap() != 2 {
//!         lost = Some(seed);
//!         break;
//!     }
//! }
//! let seed = lost.expect("some seed interleaves the two tasks");
//!
//! // The same seed replays the same run: same result, byte-identical trace.
//! let mut first = sim::Builder::new().seed(seed).build();
//! let mut again = sim::Builder::new().seed(seed).build();
//! assert_eq!(first.block_on(racy_counter()).unwrap(), 1);
//! assert_eq!(again.block_on(racy_counter()).unwrap(), 1);
//! assert_eq!(first.trace().to_string(), again.trace().to_string());
//!
//! // The recorded schedule replays it too, from a string you can paste anywhere.
//! let schedule: sim::Schedule = first.schedule().to_string().parse().unwrap();
//! let mut replay = sim::Builder::new().strategy(sim::Strategy::Replay(schedule)).build();
//! assert_eq!(replay.block_on(racy_counter()).unwrap(), 1);
//! assert_eq!(replay.trace().digest(), first.trace().digest());
//!
//! // The trace is a stable text format, fit for snapshot tests.
//! let text = first.trace().to_string();
//! assert!(text.contains("alice#1"));
//! assert!(text.contains("sleep until 0.005000s"));
//! ```
//!
//! A run that goes wrong returns a [`Failure`] whose `Display` is a report ending with
//! the command that reproduces it:
//!
//! ```
//! let mut rt = sim::Builder::new().seed(9).build();
//! let failure = rt.block_on(async {
//!     let (_tx, rx) = futures::channel::oneshot::channel::<()>();
//!     rx.await.ok(); // nobody will ever send: a deadlock
//! }).unwrap_err();
//! assert_eq!(failure.kind(), sim::FailureKind::Deadlock);
//! let report = failure.to_string();
//! assert!(report.contains("deadlock"));
//! assert!(report.lines().last().unwrap().contains("SIM_SEED=9"));
//! ```
//!
//! ## Map
//!
//! - [`Builder`], [`Runtime`]: configure and run; [`Strategy`] picks the scheduler.
//! - [`task`]: `spawn`, `JoinHandle`, `JoinSet`, `yield_now` (tokio's names).
//! - [`time`]: the virtual clock: `Instant`, `sleep`, `timeout`, `interval`.
//! - [`sync`]: `Mutex`, `RwLock`, `Semaphore`, `Notify`, `Event`, `Barrier`, `Condvar`
//!   and the `mpsc`, `oneshot`, `broadcast`, `watch` channels (tokio's names).
//! - [`queue`]: asyncio's `Queue`, `PriorityQueue`, `LifoQueue` with `task_done`/`join`.
//! - [`net`]: simulated hosts, TCP and UDP with tokio's names, partitions, crashes.
//! - [`buggify!`]: fault injection in the user's own code (FoundationDB's BUGGIFY).
//! - [`rand`]: seeded randomness for user code.
//! - [`Trace`], [`Schedule`]: what a run did, and how to replay it.
//! - [`Failure`]: panics, deadlocks, bounds, non-determinism, each a report.
//! - [`check()`], [`Check`], [`replay()`]: seed sweeps for tests, shrinking, regression seeds.
//! - [`log`]: user `tracing` logs stamped with virtual time and task.
//! - [`env`](mod@env): every `SIM_` environment variable.
//!
//! ## Defaults and limits
//!
//! Every run is bounded: [`DEFAULT_MAX_STEPS`] polls and [`DEFAULT_MAX_TIME`] of
//! virtual time, both configurable; reaching one is a [`Failure`]. A panic in any task
//! fails the run unless [`Builder::unhandled_panic`] says otherwise. Code that never
//! reaches an `.await` cannot be interrupted: bounds count scheduling steps.
//!
//! Use `futures::select_biased!` rather than `futures::select!` in simulated code:
//! the latter draws from a thread-local RNG outside the simulation.

pub mod buggify;
pub mod cell;
pub mod check;
mod detect;
pub mod env;
mod failure;
mod ids;
pub mod log;
pub mod net;
pub mod queue;
pub mod rand;
mod rng;
mod runtime;
pub mod sched;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;
mod unsafe_parts;

pub use check::{Check, CheckFailure, CheckReport, check, replay};
pub use env::ConfigError;
pub use failure::{
    Awaited, BlockedTask, DeadlockFailure, Failure, FailureKind, LeakFailure,
    NonDeterminismFailure, PanicFailure, RaceAccess, RaceFailure, RunInfo, StepLimitFailure,
    TaskRef, TimeLimitFailure,
};
pub use runtime::{
    Builder, DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME, DEFAULT_PCT_STEPS, Runtime, UnhandledPanic,
};
pub use sched::{Schedule, Strategy};
pub use task::spawn;
pub use trace::Trace;

/// Runs an `async fn` test over many seeds; see [`Check`] and the `sim-macros` crate
/// for its arguments (`seeds`, `strategy`, `max_time`, ...).
pub use sim_macros::test;

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
