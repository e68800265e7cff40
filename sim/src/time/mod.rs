//! Virtual time: [`Instant`], [`sleep`], [`timeout`], [`interval`]. Mirrors `tokio::time`.
//!
//! The clock starts at zero and moves only when no task is runnable: it then jumps to
//! the earliest pending timer, so `sleep(Duration::from_secs(3600))` takes no wall time.
//! Timers due at the same instant wake their tasks together, and the strategy chooses
//! which runs first. Architecture invariant: nothing here reads the wall clock.

use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::runtime::context;
use crate::runtime::timers::TimerKey;

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

use error::Elapsed;

/// A point in virtual time: the time since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The current virtual time.
    ///
    /// # Panics
    /// Outside a simulated run.
    pub fn now() -> Instant {
        Instant(context::clock("sim::time::Instant::now", |clock| {
            clock.now()
        }))
    }

    /// The time since the start of the run.
    pub fn since_start(self) -> Duration {
        self.0
    }

    /// Virtual time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// `self - earlier`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` before the start of the run.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({})", crate::trace::fmt_time(self.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// Waits until `duration` of virtual time has passed.
///
/// ```
/// use std::time::Duration;
/// use sim::time::{Instant, sleep};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_secs(3600)).await; // no wall time passes
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// }).unwrap();
/// ```
///
/// # Panics
/// Outside a simulated run.
pub fn sleep(duration: Duration) -> Sleep {
    let (now, run_id) = context::clock("sim::time::sleep", |clock| (clock.now(), clock.run_id()));
    Sleep {
        deadline: Instant(now.checked_add(duration).unwrap_or(Duration::MAX)),
        timer: None,
        run_id,
    }
}

/// The last instant the virtual clock can show: `u64::MAX` nanoseconds (about 584
/// years) after the start. Sleeps past it end there.
const CLOCK_END: Duration = Duration::from_nanos(u64::MAX);

/// Waits until the virtual clock reaches `deadline` (at once if it already has).
///
/// # Panics
/// Outside a simulated run.
pub fn sleep_until(deadline: Instant) -> Sleep {
    let run_id = context::clock("sim::time::sleep_until", |clock| clock.run_id());
    Sleep {
        deadline,
        timer: None,
        run_id,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    timer: Option<TimerKey>,
    run_id: u64,
}

impl Sleep {
    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (the future completes at the new one).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.cancel();
        this.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(key) = self.timer.take() {
            let waker =
                context::clock_of_run(self.run_id, |clock| clock.cancel_timer(key)).flatten();
            drop(waker);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // The clock ends where its nanoseconds do (584 years): a deadline past the end
        // is due at the end, not re-armed there forever.
        let deadline = this.deadline.0.min(CLOCK_END);
        let (polled, cancelled) = context::clock_of("sim::time::Sleep", this.run_id, |clock| {
            if clock.now() >= deadline {
                let cancelled = this.timer.take().and_then(|key| clock.cancel_timer(key));
                return (Poll::Ready(()), cancelled);
            }
            match this.timer {
                Some(key) if clock.set_timer_waker(key, cx.waker()) => {}
                _ => this.timer = Some(clock.add_timer(deadline, cx.waker().clone())),
            }
            (Poll::Pending, None)
        });
        drop(cancelled); // Outside the core: a waker's drop may run code.
        polled
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

pin_project! {
    /// The future of [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Sleep,
    }
}

/// Runs `future` with a deadline `duration` from now: `Ok(output)`, or `Err(Elapsed)`
/// if the deadline passes first (the future is then dropped). The future is polled
/// before the deadline is checked, as in tokio. A task blocked here is waiting for a
/// deadline, never deadlocked.
///
/// ```
/// use std::time::Duration;
/// let mut rt = sim::Builder::new().build();
/// let r = rt.block_on(async {
///     sim::time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await
/// }).unwrap();
/// assert!(r.is_err());
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: sleep(duration),
    }
}

/// Like [`timeout`], with an absolute deadline.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: sleep_until(deadline),
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// Unwraps the future.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(this.delay).poll(cx).map(|()| Err(Elapsed(())))
    }
}

/// What an [`Interval`] does when ticks were missed (mirrors tokio's).
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
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Like [`interval`], the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "sim::time::interval: `period` must be non-zero"
    );
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
        let next = match self.missed {
            MissedTickBehavior::Burst => scheduled + self.period,
            MissedTickBehavior::Delay if now > scheduled => now + self.period,
            MissedTickBehavior::Skip if now > scheduled => {
                let behind = (now - scheduled).as_nanos() / self.period.as_nanos();
                scheduled + self.period * (behind as u32 + 1)
            }
            _ => scheduled + self.period,
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the period from now: the next tick is one period away.
    pub fn reset(&mut self) {
        let next = Instant::now() + self.period;
        Pin::new(&mut self.delay).reset(next);
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
