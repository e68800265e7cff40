//! [`Instant`]: a point on the virtual clock.
//!
//! An instant counts from an epoch a year before the start of the run, so that
//! `Instant::now() - Duration` works at virtual time zero the way it does on tokio's
//! paused clock (which starts at the machine's monotonic time, far from zero). What
//! the engine, the trace and [`Instant::since_start`] show is the time since the
//! start; the epoch only exists inside this type.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::runtime::context;

/// How far before the start of a run the clock's epoch is: one year.
const EPOCH: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A point in virtual time (mirrors `tokio::time::Instant`).
///
/// Instants up to a year before the start of the run exist, as they do on a machine
/// that has been up that long, so subtracting realistic durations from
/// [`Instant::now`] never overflows:
///
/// ```
/// use sim::time::{Duration, Instant};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let now = Instant::now(); // virtual time zero
///     let an_hour_ago = now - Duration::from_secs(3600);
///     assert_eq!(now - an_hour_ago, Duration::from_secs(3600));
///     assert_eq!(an_hour_ago.since_start(), Duration::ZERO); // before the start
/// }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(
    /// Time since the epoch ([`EPOCH`] before the start of the run).
    Duration,
);

impl Instant {
    /// The current virtual time.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn now() -> Instant {
        Instant::at(context::clock("sim::time::Instant::now", |clock| {
            clock.now()
        }))
    }

    /// The instant `since_start` after the start of the run (the last instant there
    /// is, for a time past it: a sleep of `Duration::MAX` ends at the clock's end).
    pub(crate) fn at(since_start: Duration) -> Instant {
        Instant(EPOCH.saturating_add(since_start))
    }

    /// The time since the start of the run (zero for an instant before the start).
    pub fn since_start(self) -> Duration {
        self.0.saturating_sub(EPOCH)
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

    /// `self - d`, or `None` more than a year before the start of the run.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

/// The start of the run.
impl Default for Instant {
    fn default() -> Self {
        Instant::at(Duration::ZERO)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.checked_sub(EPOCH) {
            Some(t) => write!(f, "Instant({})", crate::trace::fmt_time(t)),
            None => write!(f, "Instant(-{})", crate::trace::fmt_time(EPOCH - self.0)),
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// On overflow.
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// More than a year before the start of the run.
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// `self - earlier`, or zero if `earlier` is later (as tokio's).
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}
