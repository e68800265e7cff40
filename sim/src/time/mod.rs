//! Virtual time: [`Instant`], [`sleep`], [`timeout`], [`interval`], [`advance`].
//! Mirrors `tokio::time` in a runtime whose clock is paused.
//!
//! The clock starts at zero and moves only when no task is runnable: it then jumps to
//! the earliest pending timer, so `sleep(Duration::from_secs(3600))` takes no wall time.
//! Timers due at the same instant wake their tasks together, and the strategy chooses
//! which runs first. [`advance`] moves it on purpose, as tokio's does in a paused
//! runtime; [`pause`] and [`resume`] are accepted and do nothing (the clock is always
//! virtual).
//!
//! This module owns the user-facing time types; the timer queue and the clock itself
//! are the engine's (`runtime/timers.rs`), reached through the `Clock` facet.
//! Architecture invariant: nothing here reads the wall clock.

mod instant;
mod interval;
mod sleep;
mod timeout;

pub use std::time::Duration;

pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Timeout, timeout, timeout_at};

/// Errors of this module.
pub mod error {
    use std::fmt;

    /// A [`timeout`](super::timeout) elapsed before its future completed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}
}

/// Pauses time. Accepted for tokio compatibility and does nothing: a simulated run's
/// clock is always paused (it moves only when every task waits, or on [`advance`]).
/// Unlike tokio's, it may be called more than once and outside a run.
pub fn pause() {}

/// Resumes time. Accepted for tokio compatibility and does nothing: a simulated run's
/// clock never follows the wall clock. Unlike tokio's, it does not panic when time is
/// "not paused".
pub fn resume() {}

/// Moves the virtual clock forward by `duration` at once, as `tokio::time::advance`
/// does in a paused runtime: every timer due by the new instant fires (in deadline
/// order, each recorded in the trace at its deadline), even while other tasks are
/// runnable, and the caller resumes at the new instant, after yielding once, like any
/// task woken then. Tasks woken by the jump run in the order the scheduler picks.
///
/// It is a sleep that does not wait for the other tasks: where `sleep(d)` lets every
/// runnable task run before time moves, `advance(d)` moves it now.
///
/// ```
/// use sim::time::{Duration, Instant, advance, sleep};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let start = Instant::now();
///     let mut timer = Box::pin(sleep(Duration::from_millis(10)));
///     assert!(futures::poll!(timer.as_mut()).is_pending()); // armed for 10 ms
///     advance(Duration::from_millis(25)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(25));
///     assert!(futures::poll!(timer.as_mut()).is_ready()); // it fired during the jump
/// }).unwrap();
/// ```
///
/// # Panics
/// Outside a simulated run. Advancing past [`Builder::max_time`](crate::Builder::max_time)
/// ends the run with [`Failure::TimeLimit`](crate::Failure::TimeLimit).
pub async fn advance(duration: Duration) {
    if duration.is_zero() {
        return crate::task::yield_now().await; // tokio's advance always yields once
    }
    sleep::jump(duration).await
}
