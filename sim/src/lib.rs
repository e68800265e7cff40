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
//! - [`Builder`], [`Runtime`]: configure and run; [`Strategy`] picks the scheduler;
//!   [`runtime::Handle`]: the run in progress; [`runtime::Builder`] and
//!   [`runtime::Runtime`]: tokio's shapes of the builder and runtime (tokio's
//!   `runtime` paths).
//! - [`task`]: `spawn`, `JoinHandle`, `JoinSet`, `yield_now`, `LocalSet`/`spawn_local`,
//!   `spawn_blocking`/`block_in_place`, task-local storage (tokio's names).
//! - [`time`]: the virtual clock: `Instant`, `sleep`, `timeout`, `interval`, `advance`.
//! - [`sync`]: `Mutex`, `RwLock`, `Semaphore`, `Notify`, `OnceCell`, `SetOnce`, `Event`,
//!   `Barrier`, `Condvar` and the `mpsc`, `oneshot`, `broadcast`, `watch` channels
//!   (tokio's names).
//! - [`queue`]: asyncio's `Queue`, `PriorityQueue`, `LifoQueue` with `task_done`/`join`.
//! - [`select!`], [`join!`], [`try_join!`], [`pin!`], [`task_local!`], `#[sim::main]`,
//!   `#[sim::test]`: tokio's macros (see [`macros`]).
//! - [`net`]: simulated hosts, TCP and UDP with tokio's names, partitions, crashes.
//! - [`buggify!`]: fault injection in the user's own code (FoundationDB's BUGGIFY).
//! - [`rand`]: seeded randomness for user code.
//! - [`Trace`], [`Schedule`]: what a run did, and how to replay it.
//! - [`Failure`]: panics, deadlocks, bounds, non-determinism, each a report.
//! - [`check()`], [`Check`], [`replay()`]: seed sweeps for tests, shrinking, regression seeds.
//! - [`log`]: user `tracing` logs stamped with virtual time and task.
//! - [`config`]: every setting, with one parser each (for the environment,
//!   `#[sim::test]`, [`Check`] and the `corosim` command); [`env`](mod@env): every
//!   `SIM_` environment variable; [`reproduce`]: the command that reproduces a run.
//!
//! A crate written against `tokio::` paths runs here unchanged through the
//! `corosim-tokio` facade and one flag, `RUSTFLAGS="--cfg corosim"` (see the README).
//!
//! ## Defaults and limits
//!
//! Every run is bounded: [`DEFAULT_MAX_STEPS`] polls and [`DEFAULT_MAX_TIME`] of
//! virtual time, both configurable (`max_time` must be above zero); reaching one is a
//! [`Failure`], and a deadlock ends the run at once. A panic in any task fails the run
//! unless [`Builder::unhandled_panic`] says otherwise.
//!
//! What a run **cannot** bound: the bounds are checked between polls, so a task that
//! never returns to the executor is never interrupted. A `loop {}` with no `.await`, a
//! blocking call (`std::thread::sleep`, a blocking lock or read) or a long computation
//! inside one poll runs until it returns, as on tokio; a sweep over such code hangs
//! until the test harness's own timeout stops it. A loop that does `.await` a `sim`
//! operation is bounded (it gives way after 128 scheduling points and counts steps).
//!
//! Inputs are bounded as well: a schedule string expands to at most
//! [`sched::MAX_DECISIONS`] decisions, `@file` schedules are read up to
//! [`config::parse::MAX_SCHEDULE_FILE`] bytes and regression files up to
//! [`check::regression::MAX_FILE`]; every parser of user input (`config::parse`,
//! schedule and strategy strings, regression files, the `SIM_` variables) is fuzzed
//! by the targets under `fuzz/`.
//!
//! ## Differences from tokio
//!
//! `sim` keeps tokio's names and documented semantics wherever a deterministic,
//! single-threaded run allows. Where it cannot, or does more, it differs as listed
//! here (for tasks, time and macros; for the primitives, see [`sync`]):
//!
//! - **One thread.** A run polls one task at a time on the calling thread and starts no
//!   thread. Futures need not be `Send`. Tasks switch only when they return `Pending`
//!   or at a *scheduling point* (before an async operation of a primitive completes at
//!   once), where the strategy may run another task first: every interleaving `sim`
//!   explores is one tokio's multi-threaded runtime could produce at those points, but
//!   code racing between two synchronous statements is never interleaved.
//! - **Cooperative budget.** As tokio's: a task that passes 128 scheduling points in one
//!   poll makes its next operation return `Pending` (and is woken), so a loop of
//!   always-ready operations gives way, and a `select!` racing one with `yield_now`
//!   ends. Operations of `futures`' or `std`'s types spend no budget; the step limit
//!   still bounds a task that never awaits a primitive. [`task::coop`] has
//!   `consume_budget` and `has_budget_remaining`; there is no `unconstrained` nor
//!   `cooperative`.
//! - **Time is always paused.** The clock starts at zero since the start of the run and
//!   moves only when every task waits (to the next timer) or on
//!   [`time::advance`]; [`time::pause`] and [`time::resume`] are accepted and do
//!   nothing (tokio's panic when called twice, or without a paused clock). An
//!   [`Instant`](time::Instant) counts from an epoch one year before the start, so
//!   `Instant::now() - d` works for any `d` up to a year (tokio's starts at the machine's
//!   uptime); there is no conversion to or from `std::time::Instant`. Deadlines past
//!   584 years end there. Advancing past [`Builder::max_time`] is a time-limit failure.
//! - **`spawn_local` and `LocalSet`.** `spawn_local` outside a `LocalSet` spawns a plain
//!   task (tokio panics). A set's tasks are tasks of the run: they run only while the
//!   set is driven, but interleave with the other tasks at scheduling points (tokio runs
//!   them inside the polls of the future driving the set). A set cannot be filled
//!   before a run starts, and dropping it cancels its tasks at their next turn.
//! - **Blocking sections.** `spawn_blocking` runs its closure as one atomic step of a
//!   task of its own, when the scheduler picks that task; `block_in_place` runs it at
//!   once in the current task (and is accepted, where tokio's current-thread runtime
//!   panics). Nothing else runs during a section and it takes no virtual time, unless
//!   it sleeps through [`runtime::Handle::block_on`], which moves the clock from timer
//!   to timer; waiting there for another task is reported (that task cannot run). The
//!   wall clock (`std::thread::sleep`, real I/O) is invisible to the run.
//! - **`select!`** draws its branch order from the run's generator for user code (so a
//!   seed replays it, and a `bytes:` run's input drives it), one draw per poll;
//!   `biased;` draws nothing. `futures::select!` draws from a thread-local generator
//!   outside the simulation: use `sim::select!` or `futures::select_biased!`.
//!   `select!` and `try_join!` futures have the size of tokio's (the futures pinned
//!   together behind one pointer); a `join!` of futures whose output fits their niche
//!   can be smaller (tokio's `MaybeDone` is `repr(C)`, ours is not).
//! - **Entry points.** `#[sim::test]` runs many seeds, not one: its body runs once per
//!   seed, so state it keeps in a `static` (a counter, a `OnceCell`, a `SetOnce`) is
//!   still there at the next seed, where a tokio test sees it fresh. A task's panic
//!   fails the run there (tokio hands it to the `JoinHandle`) unless
//!   `unhandled_panic = "ignore"`. `#[sim::main]` runs one run, from the `SIM_`
//!   variables (a failure ends the process from `main`, and panics from any other
//!   function). Runtime flavours, worker threads and
//!   `start_paused` have no meaning: `#[sim::test]`, `#[sim::main]` and the facade's
//!   `#[tokio::main]`/`#[tokio::test]` accept and ignore them, and
//!   [`time::pause`] does not panic in a "multi-threaded" run.
//! - **`runtime::Builder` and `runtime::Runtime`** have tokio's signatures
//!   (`Builder::new_current_thread().enable_all().build()?`, `block_on(&self)` returning
//!   the output), over sim's own [`Builder`] and [`Runtime`]: each `block_on` is one
//!   run, seeded by the `SIM_` variables, in which a spawned task's panic is caught as
//!   tokio's (the future's own panic goes on out of `block_on`). Tasks exist only inside
//!   a `block_on`: [`Runtime::spawn`](runtime::Runtime::spawn) and the runtime's
//!   [`handle`](runtime::Runtime::handle) work there only, a `LocalSet` cannot be filled
//!   before, what a `block_on` leaves running is dropped when it returns, and a
//!   primitive cannot be shared between a run and a plain thread at once (see
//!   [`sync`](mod@sync#outside-a-run)). Its scheduling is the run's strategy's, not
//!   tokio's current-thread FIFO order.
//! - **Time is bounded.** A run fails when its clock would pass
//!   [`Builder::max_time`] (a hundred years by default, `max_time = "..."` in
//!   `#[sim::test]`). That is past tokio's thirty-year "far future", where a sleep,
//!   timeout or interval period of `Duration::MAX` ends on both clocks, so a test that
//!   sleeps for years finishes as on tokio's paused clock; a task waiting forever on a
//!   periodic timer meets the step bound instead. A deadline past the clock's end
//!   (`u64::MAX` ns, about 584 years) is due thirty years on, where tokio's `Instant`
//!   (which reaches further) would keep it.
//! - **Not simulated:** `tokio::io`, `net`, `fs`, `process`, `signal`, task dumps and
//!   runtime metrics.

pub mod buggify;
pub mod cell;
pub mod check;
pub mod config;
pub mod coverage;
mod detect;
pub mod env;
pub mod explore;
mod failure;
pub mod fuzz;
mod ids;
pub mod io;
mod json;
pub mod log;
pub mod macros;
pub mod net;
pub mod queue;
pub mod rand;
pub mod report;
pub mod reproduce;
mod rng;
pub mod runtime;
pub mod sched;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;
mod unsafe_parts;

pub use check::{Check, CheckFailure, CheckReport, check, replay};
pub use config::ConfigError;
pub use explore::{Explore, ExploreReport};
pub use failure::{
    Awaited, BlockedTask, DeadlockFailure, Failure, FailureKind, LeakFailure, NonDeterminismCause,
    NonDeterminismFailure, PanicFailure, ParseFailureKindError, RaceAccess, RaceFailure, RunInfo,
    StepLimitFailure, TaskRef, TimeLimitFailure,
};
pub use runtime::run::{Builder, Runtime};
pub use runtime::{DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME, DEFAULT_PCT_STEPS, UnhandledPanic};
pub use sched::{Schedule, Strategy};
pub use task::spawn;
pub use trace::Trace;

/// Runs an `async fn` test over many seeds; see [`Check`] and the `sim-macros` crate
/// for its arguments (`seeds`, `strategy`, `max_time`, ...).
pub use sim_macros::test;

/// Runs an `async fn main` as one simulated run configured by the `SIM_` variables
/// (see [`env`](mod@env)); a failure prints its report and exits with status 101. On
/// a function other than `main` (a helper that tests call, as tokio's attribute
/// allows), a failure panics with the report instead.
///
/// ```
/// #[sim::main(flavor = "current_thread", start_paused = true)]
/// async fn helper() -> u32 {
///     sim::spawn(async { 6 * 7 }).await.unwrap()
/// }
/// assert_eq!(helper(), 42);
/// ```
///
/// ```no_run
/// #[sim::main]
/// async fn main() {
///     let worker = sim::spawn(async { 6 * 7 });
///     println!("{}", worker.await.unwrap());
/// }
/// ```
pub use sim_macros::main;

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
