//! [`Mutex`]: an async mutual-exclusion lock, as `tokio::sync::Mutex`.
//!
//! Owns the lock protocol (a one-permit fair semaphore) and its guards; the value lives
//! in a cell of `crate::unsafe_parts::cells`, the only place with `unsafe`, which a guard
//! reaches with the exclusive access its permit carries (checked there). It must not
//! wake or drop user values while its state is locked. `lock` is an acquisition of the
//! semaphore, with its scheduling point; `try_lock` and unlocking are synchronous.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::semaphore::{Acquire, Hold, Report, Sem};
use crate::trace::ResourceOp;
use crate::unsafe_parts::cells::ExclusiveCell;

/// What acquiring the lock records.
const ACQUIRE: Report = Report::Op(ResourceOp::Acquire, 1);

/// What unlocking records.
const RELEASE: Report = Report::Op(ResourceOp::Release, 1);

/// An async mutex: [`lock`](Self::lock) waits while another task holds the guard.
///
/// Waiters get the lock in FIFO order (the unlocking task hands it to the first). The
/// lock records `acquire`/`release` events and the task holding it.
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::Mutex;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let m = Arc::new(Mutex::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..3 {
///         let m = m.clone();
///         tasks.push(sim::spawn(async move {
///             let mut g = m.lock().await;
///             let seen = *g;
///             sim::task::yield_now().await; // others wait: we hold the lock
///             *g = seen + 1;
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*m.lock().await, 3);
/// }).unwrap();
/// ```
pub struct Mutex<T> {
    sem: Sem,
    cell: ExclusiveCell<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            sem: Sem::guarding("mutex", 1),
            cell: ExclusiveCell::new(value),
        }
    }

    /// An unlocked mutex holding `value`, usable in a `static`, as
    /// `tokio::sync::Mutex::const_new` ([`new`](Self::new) is `const` too).
    ///
    /// ```
    /// use sim::sync::Mutex;
    /// static COUNT: Mutex<u32> = Mutex::const_new(0);
    /// *COUNT.try_lock().unwrap() += 1;
    /// assert_eq!(*COUNT.try_lock().unwrap(), 1);
    /// ```
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        Self::new(value)
    }

    /// Waits for the lock. Cancellation safe: dropping the future gives up the place in
    /// the queue (and passes the lock on if it had just been handed over). Another task
    /// may run first when the lock is free (its [scheduling
    /// point](crate::sync#scheduling-rules)).
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        let hold = self
            .acquire()
            .await
            .expect("sim internal error: a mutex semaphore is never closed");
        MutexGuard {
            lock: self,
            hold: Some(hold),
            _not_sync: PhantomData,
        }
    }

    /// [`lock`](Self::lock) without a scheduling point: the re-lock of an operation
    /// that already waited (a condition variable's wait).
    pub(crate) async fn lock_after_wait(&self) -> MutexGuard<'_, T> {
        let hold = self
            .acquire()
            .after_wait()
            .await
            .expect("sim internal error: a mutex semaphore is never closed");
        MutexGuard {
            lock: self,
            hold: Some(hold),
            _not_sync: PhantomData,
        }
    }

    /// Takes the lock if it is free and no one waits for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let hold = self.try_hold()?;
        Ok(MutexGuard {
            lock: self,
            hold: Some(hold),
            _not_sync: PhantomData,
        })
    }

    fn acquire(&self) -> Acquire<'_> {
        self.sem.acquire("sim::sync::Mutex::lock", 1, ACQUIRE)
    }

    fn try_hold(&self) -> Result<Hold, TryLockError> {
        self.sem
            .try_acquire("sim::sync::Mutex::try_lock", 1, ACQUIRE)
            .map_err(|_| TryLockError(()))
    }

    /// Waits for the lock, returning a guard that owns an `Arc` of the mutex.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let hold = self
            .acquire()
            .await
            .expect("sim internal error: a mutex semaphore is never closed");
        OwnedMutexGuard {
            lock: self,
            hold: Some(hold),
            _not_sync: PhantomData,
        }
    }

    /// Takes the lock if free, returning a guard that owns an `Arc` of the mutex.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let hold = self.try_hold()?;
        Ok(OwnedMutexGuard {
            lock: self,
            hold: Some(hold),
            _not_sync: PhantomData,
        })
    }

    /// Locks from synchronous code outside a run, blocking the calling thread until
    /// the lock is free, as `tokio::sync::Mutex::blocking_lock`; see [the module
    /// docs](crate::sync#blocking-operations).
    ///
    /// # Panics
    /// Inside a simulated run (it would block the simulator's only thread).
    ///
    /// ```
    /// use sim::sync::Mutex;
    /// let m = Mutex::new(1);
    /// *m.blocking_lock() += 1;
    /// assert_eq!(*m.blocking_lock(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block_on_outside_run("sim::sync::Mutex::blocking_lock", self.lock())
    }

    /// [`blocking_lock`](Self::blocking_lock) returning a guard that owns an `Arc` of
    /// the mutex.
    ///
    /// # Panics
    /// Inside a simulated run.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::block_on_outside_run("sim::sync::Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// The value, without locking (`&mut self` proves no guard exists).
    pub fn get_mut(&mut self) -> &mut T {
        self.cell.get_mut()
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.cell.into_inner()
    }

    fn unlock(&self, hold: Hold) {
        self.sem.release(hold, RELEASE);
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

/// `Mutex { data: <value> }`, or `Mutex { data: <locked> }` while it is held, as
/// tokio's. Peeking at the value records nothing (no event, no holder) and has no
/// scheduling point.
impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.sem.try_hold_quiet(1) {
            Some(hold) => {
                let shown = d.field("data", self.cell.read(hold.access())).finish();
                self.sem.release_quiet(hold);
                shown
            }
            None => d.field("data", &format_args!("<locked>")).finish(),
        }
    }
}

/// Proof of holding a [`Mutex`]; unlocks when dropped.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
    // Invariant: `Some` until dropped.
    hold: Option<Hold>,
    // `&T` through a shared guard: the guard is `Sync`/`Send` only if `T: Sync` too.
    _not_sync: PhantomData<&'a T>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard locks (used by [`Condvar`](super::Condvar)).
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }

    fn hold(&self) -> &Hold {
        self.hold
            .as_ref()
            .expect("sim internal error: guard without permit")
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.lock.cell.read(self.hold().access())
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        let hold = self
            .hold
            .as_mut()
            .expect("sim internal error: guard without permit");
        self.lock.cell.write(hold.access_mut())
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.lock.unlock(h);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Proof of holding a [`Mutex`] behind an `Arc`; unlocks when dropped.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
    // Invariant: `Some` until dropped.
    hold: Option<Hold>,
    // Shared `&T` across threads needs `T: Sync` (and moving needs `T: Send`).
    _not_sync: PhantomData<Arc<T>>,
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        let hold = self
            .hold
            .as_ref()
            .expect("sim internal error: guard without permit");
        self.lock.cell.read(hold.access())
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        let hold = self
            .hold
            .as_mut()
            .expect("sim internal error: guard without permit");
        self.lock.cell.write(hold.access_mut())
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.lock.unlock(h);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// [`Mutex::try_lock`] failed: the lock is held (or others wait for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}
