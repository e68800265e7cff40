//! [`Interval`]: a periodic timer over a [`Sleep`], with tokio's missed-tick
//! behaviours and resets.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::sleep::{CLOCK_END, FAR_FUTURE};
use super::{Instant, Sleep, sleep_until};

/// How late a tick may be and still count as on time (tokio's tolerance).
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// `t + d`, or thirty years after `t` when that is past the clock's end (as tokio's
/// `far_future`): a period of `Duration::MAX` is a tick that comes after thirty years,
/// as on tokio's paused clock, not an overflow.
fn later(t: Instant, d: Duration) -> Instant {
    // `sleep::deadline_after`'s rule on instants, which may be before the start.
    let end = Instant::at(CLOCK_END);
    match t.checked_add(d) {
        Some(due) if due <= end => due,
        _ => t.checked_add(FAR_FUTURE).map_or(end, |due| due.min(end)),
    }
}

/// What an [`Interval`] does when a tick was missed, that is, polled more than 5 ms
/// after its time (mirrors tokio's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back (the default).
    #[default]
    Burst,
    /// Restart the period from the late tick.
    Delay,
    /// Skip to the next multiple of the period from the start.
    Skip,
}

/// Ticks every `period`, the first tick at once (mirrors `tokio::time::interval`).
///
/// ```
/// use std::time::Duration;
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let mut every = sim::time::interval(Duration::from_millis(100));
///     for _ in 0..3 {
///         every.tick().await;
///     }
///     assert_eq!(sim::time::Instant::now().since_start(), Duration::from_millis(200));
/// }).unwrap();
/// ```
///
/// # Panics
/// If `period` is zero, or outside a simulated run.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    // The period first: a zero period is the caller's mistake even outside a run.
    check_period(period);
    interval_at(Instant::now(), period)
}

#[track_caller]
fn check_period(period: Duration) {
    assert!(
        !period.is_zero(),
        "sim::time::interval: `period` must be non-zero"
    );
}

/// Like [`interval`], the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    check_period(period);
    Interval {
        delay: sleep_until(start),
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// A periodic timer; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.delay.deadline();
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let now = Instant::now();
        // As tokio: a tick up to 5 ms late is on time; only a later one was missed.
        let missed = now > later(scheduled, MISSED_AFTER);
        let next = match self.missed {
            MissedTickBehavior::Burst => later(scheduled, self.period),
            MissedTickBehavior::Delay if missed => later(now, self.period),
            MissedTickBehavior::Skip if missed => {
                let behind = (now - scheduled).as_nanos() / self.period.as_nanos();
                let ahead = u32::try_from(behind + 1)
                    .ok()
                    .and_then(|n| self.period.checked_mul(n))
                    .unwrap_or(Duration::MAX);
                later(scheduled, ahead)
            }
            _ => later(scheduled, self.period),
        };
        self.reset_at(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the period from now: the next tick is one period away.
    pub fn reset(&mut self) {
        self.reset_after(self.period);
    }

    /// The next tick is now, whatever the missed-tick behaviour (the same as
    /// `reset_at(Instant::now())`).
    ///
    /// ```
    /// use sim::time::{Duration, Instant, interval};
    /// let mut rt = sim::Builder::new().build();
    /// rt.block_on(async {
    ///     let mut every = interval(Duration::from_secs(60));
    ///     every.tick().await; // the first tick, at once
    ///     every.reset_immediately();
    ///     assert_eq!(every.tick().await, Instant::now()); // no minute's wait
    /// }).unwrap();
    /// ```
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// The next tick is `after` from now (the same as `reset_at(Instant::now() +
    /// after)`), even if that is longer than the period.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(later(Instant::now(), after));
    }

    /// The next tick is at `deadline`, even if that is further than one period away;
    /// ticks missed before the reset are forgotten. A deadline already past ticks at
    /// once, and the missed-tick behaviour then decides the tick after it.
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the missed-tick behaviour.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}
