//! [`RaceCell`]: shared state checked for data races.
//!
//! Owns only the cell type; the happens-before bookkeeping lives in the engine
//! (`detect::race`) and is fed by spawn, join and every primitive's operations.

use std::fmt;
use std::panic::Location;
use std::sync::Mutex;

use crate::runtime::context;
use crate::trace::ResourceId;

/// Shared state whose every access is checked against happens-before.
///
/// Put state that tasks share (a balance, a counter, a cache) in a `RaceCell` instead
/// of a `Cell`/`RefCell`/`static`: two accesses from different tasks, at least one a
/// write, that no spawn, join, lock, channel, notification or barrier orders, fail the
/// run with [`Failure::Race`](crate::Failure::Race), naming both locations. The race is
/// found from a single schedule, even one where the accesses happened not to collide.
///
/// ```
/// use std::sync::Arc;
/// use sim::cell::RaceCell;
///
/// // Check-then-act across an .await without a lock: a race, found on the first seed.
/// let mut rt = sim::Builder::new().seed(0).build();
/// let failure = rt.block_on(async {
///     let balance = Arc::new(RaceCell::named("balance", 100));
///     let spend = |b: Arc<RaceCell<i32>>| async move {
///         let seen = b.get();
///         sim::task::yield_now().await;
///         b.set(seen - 30);
///     };
///     let (x, y) = (sim::spawn(spend(balance.clone())), sim::spawn(spend(balance.clone())));
///     x.await.unwrap();
///     y.await.unwrap();
/// }).unwrap_err();
/// assert_eq!(failure.kind(), sim::FailureKind::Race);
/// ```
///
/// Accesses are plain (no `.await`), and the value lives behind a `std` mutex, so the
/// cell is `Send + Sync` for `T: Send`.
pub struct RaceCell<T> {
    value: Mutex<T>,
    run_id: u64,
    cell: usize,
}

impl<T> RaceCell<T> {
    /// A cell holding `value`.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::make(None, value, Location::caller())
    }

    /// A cell with a name for reports.
    ///
    /// # Panics
    /// Outside a simulated run.
    #[track_caller]
    pub fn named(name: &str, value: T) -> Self {
        Self::make(Some(name), value, Location::caller())
    }

    fn make(name: Option<&str>, value: T, location: &'static Location<'static>) -> Self {
        let (run_id, cell) = context::resources("sim::cell::RaceCell::new", |mut res| {
            let resource: ResourceId =
                res.register("race-cell", name.map(Into::into), location, false);
            (res.run_id(), res.new_race_cell(resource))
        });
        RaceCell {
            value: Mutex::new(value),
            run_id,
            cell,
        }
    }

    fn access(&self, write: bool, location: &'static Location<'static>) {
        context::resources_of("sim::cell::RaceCell", self.run_id, |mut res| {
            res.race_access(self.cell, write, location)
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads through `f`.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.access(false, Location::caller());
        f(&self.lock())
    }

    /// Writes through `f`.
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.access(true, Location::caller());
        f(&mut self.lock())
    }

    /// Replaces the value (a write).
    #[track_caller]
    pub fn set(&self, value: T) {
        self.access(true, Location::caller());
        *self.lock() = value;
    }

    /// The value, unchecked (no task may hold another handle to the cell).
    pub fn into_inner(self) -> T {
        self.value
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T: Clone> RaceCell<T> {
    /// A copy of the value (a read).
    #[track_caller]
    pub fn get(&self) -> T {
        self.access(false, Location::caller());
        self.lock().clone()
    }
}

impl<T> fmt::Debug for RaceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaceCell")
            .field("cell", &self.cell)
            .finish()
    }
}
