//! [`sleep`], [`sleep_until`] and their future [`Sleep`], which also carries
//! [`advance`](super::advance): a sleep that moves the clock itself instead of waiting
//! for every task to wait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;
use crate::runtime::context;
use crate::runtime::timers::TimerKey;

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
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let (now, run_id) = context::clock("sim::time::sleep", |clock| (clock.now(), clock.run_id()));
    Sleep {
        deadline: Instant::at(deadline_after(now, duration)),
        timer: None,
        run_id,
        jump: false,
        armed: false,
    }
}

/// The sleep of [`advance`](super::advance): armed like any, then the clock jumps to
/// its deadline at its first poll.
pub(super) fn jump(duration: Duration) -> Sleep {
    Sleep {
        jump: true,
        ..sleep(duration)
    }
}

/// The last instant the virtual clock can show: `u64::MAX` nanoseconds (about 584
/// years) after the start. A `sleep_until` past it ends there.
pub(super) const CLOCK_END: Duration = Duration::from_nanos(u64::MAX);

/// tokio's "far future": thirty years. A timer set `d` after a time `t` where `t + d`
/// is past the clock's end (a sleep or a timeout of `Duration::MAX`, an interval of
/// that period) is due thirty years after `t` instead, as tokio's is when `d` does not
/// fit its `Instant` (`Instant::far_future`): a paused tokio clock reaches it in one
/// jump, and so does this one, well inside the default
/// [`max_time`](crate::DEFAULT_MAX_TIME).
pub(super) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The deadline `d` after `t` (both since the start): `t + d`, or `t +`
/// [`FAR_FUTURE`] when that is past the clock's end (never past it).
pub(super) fn deadline_after(t: Duration, d: Duration) -> Duration {
    match t.checked_add(d) {
        Some(due) if due <= CLOCK_END => due,
        _ => t.saturating_add(FAR_FUTURE).min(CLOCK_END),
    }
}

/// Waits until the virtual clock reaches `deadline` (at once if it already has).
///
/// # Panics
/// Outside a simulated run.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    let run_id = context::clock("sim::time::sleep_until", |clock| clock.run_id());
    Sleep {
        deadline,
        timer: None,
        run_id,
        jump: false,
        armed: false,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    timer: Option<TimerKey>,
    run_id: u64,
    /// Move the clock to the deadline at the first poll (`advance`).
    jump: bool,
    /// Whether the sleep has been armed (polled) or completed: a sleep never polled
    /// has not elapsed, whatever the clock says (as tokio's, whose timer is
    /// registered at its first poll).
    armed: bool,
}

impl Sleep {
    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the sleep has elapsed: it was polled (or reset) and its deadline has
    /// passed, as tokio's, where a sleep never polled has not elapsed even if its
    /// deadline is now.
    ///
    /// ```
    /// use std::pin::pin;
    /// use sim::time::{Duration, Instant, sleep_until};
    /// sim::Builder::new().build().block_on(async {
    ///     let mut sleep = pin!(sleep_until(Instant::now()));
    ///     assert!(!sleep.is_elapsed()); // due, but not polled yet
    ///     sleep.as_mut().await;
    ///     assert!(sleep.is_elapsed());
    /// }).unwrap();
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.armed && Instant::now() >= self.deadline
    }

    /// Moves the deadline (the future completes at the new one).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.cancel();
        this.deadline = deadline;
        this.armed = true;
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
        let deadline = this.deadline.since_start().min(CLOCK_END);
        let jump = std::mem::take(&mut this.jump);
        this.armed = true;
        let (polled, cancelled, fired) =
            context::clock_of("sim::time::Sleep", this.run_id, |clock| {
                if clock.now() >= deadline {
                    let cancelled = this.timer.take().and_then(|key| clock.cancel_timer(key));
                    return (Poll::Ready(()), cancelled, Vec::new());
                }
                match this.timer {
                    Some(key) if clock.set_timer_waker(key, cx.waker()) => {}
                    _ => this.timer = Some(clock.add_timer(deadline, cx.waker().clone())),
                }
                // `advance`: the timer just armed fires in the jump, with every other
                // timer due by then, and wakes this task.
                let fired = if jump {
                    clock.jump_to(deadline)
                } else {
                    Vec::new()
                };
                (Poll::Pending, None, fired)
            });
        // Outside the core: a waker's drop (or wake) may run code.
        drop(cancelled);
        fired.into_iter().for_each(std::task::Waker::wake);
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
