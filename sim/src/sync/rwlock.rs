//! [`RwLock`]: an async readers-writer lock, as `tokio::sync::RwLock`.
//!
//! Owns the lock protocol: a fair semaphore of `MAX_READS` permits, one per reader, all
//! of them for a writer. Because waiters are served FIFO, the lock is writer-preferring
//! like tokio's: once a writer waits, later readers queue behind it. The value lives in
//! a cell of `crate::unsafe_parts::cells`, the only place with `unsafe`; a read guard
//! reaches it with the shared access its permit carries, a write guard with the
//! exclusive access its permits carry (checked there). `read` and `write` are
//! acquisitions of the semaphore, with their scheduling points.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::TryLockError;
use super::semaphore::{Hold, Report, Sem};
use crate::trace::ResourceOp;
use crate::unsafe_parts::cells::SharedCell;

/// The most readers at once (tokio's bound).
const MAX_READS: usize = (u32::MAX >> 3) as usize;

/// What a write acquisition records.
const WRITE: Report = Report::Op(ResourceOp::Acquire, 1);

/// What a write release records.
const WRITE_DONE: Report = Report::Op(ResourceOp::Release, 1);

/// An async readers-writer lock: many [`read`](Self::read) guards or one
/// [`write`](Self::write) guard at a time.
///
/// Writer-preferring and fair: requests are served in arrival order, so a waiting
/// writer is never starved by a stream of readers. Reads record `acquire-shared` /
/// `release-shared` (with the reader count after), writes `acquire` / `release`.
///
/// ```
/// use sim::sync::RwLock;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // readers share
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// }).unwrap();
/// ```
pub struct RwLock<T> {
    sem: Sem,
    /// The most readers at once: the semaphore's permits (a writer takes them all).
    max_reads: usize,
    cell: SharedCell<T>,
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RwLock {
            sem: Sem::guarding("rwlock", MAX_READS),
            max_reads: MAX_READS,
            cell: SharedCell::new(value),
        }
    }

    /// An unlocked lock holding `value` that lets at most `max_reads` readers in at
    /// once (a `read` beyond them waits), as `tokio::sync::RwLock::with_max_readers`.
    ///
    /// ```
    /// use sim::sync::RwLock;
    /// let lock = RwLock::with_max_readers(0, 2);
    /// let _a = lock.try_read().unwrap();
    /// let _b = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_err()); // a third reader would wait
    /// ```
    ///
    /// # Panics
    /// If `max_reads` is zero or more than `u32::MAX >> 3`.
    #[track_caller]
    pub const fn with_max_readers(value: T, max_reads: u32) -> Self {
        let max_reads = max_reads as usize;
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        assert!(max_reads > 0, "a RwLock may not be created with 0 readers");
        RwLock {
            sem: Sem::guarding("rwlock", max_reads),
            max_reads,
            cell: SharedCell::new(value),
        }
    }

    /// An unlocked lock holding `value`, usable in a `static`, as
    /// `tokio::sync::RwLock::const_new` ([`new`](Self::new) is `const` too).
    ///
    /// ```
    /// use sim::sync::RwLock;
    /// static CONFIG: RwLock<u32> = RwLock::const_new(7);
    /// assert_eq!(*CONFIG.try_read().unwrap(), 7);
    /// ```
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        Self::new(value)
    }

    /// [`with_max_readers`](Self::with_max_readers) usable in a `static`, as
    /// `tokio::sync::RwLock::const_with_max_readers`.
    ///
    /// # Panics
    /// If `max_reads` is zero or more than `u32::MAX >> 3`.
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> Self {
        Self::with_max_readers(value, max_reads)
    }

    /// What a read acquisition records: the readers once it holds the lock.
    fn read_report(&self) -> Report {
        Report::Holders(ResourceOp::AcquireShared, self.max_reads)
    }

    /// What a read release records: the readers left.
    fn read_done(&self) -> Report {
        Report::Holders(ResourceOp::ReleaseShared, self.max_reads)
    }

    /// Shared access from synchronous code outside a run, blocking the calling thread
    /// until it is granted, as `tokio::sync::RwLock::blocking_read`; see [the module
    /// docs](crate::sync#blocking-operations).
    ///
    /// # Panics
    /// Inside a simulated run (it would block the simulator's only thread).
    ///
    /// ```
    /// use sim::sync::RwLock;
    /// let lock = RwLock::new(1);
    /// assert_eq!(*lock.blocking_read(), 1);
    /// ```
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block_on_outside_run("sim::sync::RwLock::blocking_read", self.read())
    }

    /// Exclusive access from synchronous code outside a run, blocking the calling
    /// thread until it is granted, as `tokio::sync::RwLock::blocking_write`; see [the
    /// module docs](crate::sync#blocking-operations).
    ///
    /// # Panics
    /// Inside a simulated run (it would block the simulator's only thread).
    ///
    /// ```
    /// use sim::sync::RwLock;
    /// let lock = RwLock::new(1);
    /// *lock.blocking_write() += 1;
    /// assert_eq!(*lock.blocking_read(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block_on_outside_run("sim::sync::RwLock::blocking_write", self.write())
    }

    /// Waits for shared access. Cancellation safe. Another task may run first when
    /// access is free (its [scheduling point](crate::sync#scheduling-rules)).
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let hold = self
            .sem
            .acquire("sim::sync::RwLock::read", 1, self.read_report())
            .await
            .expect("sim internal error: an rwlock semaphore is never closed");
        RwLockReadGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        }
    }

    /// Waits for exclusive access. Cancellation safe. Another task may run first when
    /// the lock is free (its [scheduling point](crate::sync#scheduling-rules)).
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let hold = self
            .sem
            .acquire("sim::sync::RwLock::write", self.max_reads, WRITE)
            .await
            .expect("sim internal error: an rwlock semaphore is never closed");
        RwLockWriteGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        }
    }

    /// Takes shared access if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let hold = self
            .sem
            .try_acquire("sim::sync::RwLock::try_read", 1, self.read_report())
            .map_err(|_| TryLockError(()))?;
        Ok(RwLockReadGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        })
    }

    /// Takes exclusive access if the lock is free and no one waits.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let hold = self
            .sem
            .try_acquire("sim::sync::RwLock::try_write", self.max_reads, WRITE)
            .map_err(|_| TryLockError(()))?;
        Ok(RwLockWriteGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        })
    }

    /// The value, without locking (`&mut self` proves no guard exists).
    pub fn get_mut(&mut self) -> &mut T {
        self.cell.get_mut()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.cell.into_inner()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]; released when dropped.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
    // Invariant: `Some` until dropped.
    hold: Option<Hold>,
    _ref: PhantomData<&'a T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        let hold = self
            .hold
            .as_ref()
            .expect("sim internal error: guard without permit");
        self.lock.cell.read(hold.access())
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.lock.sem.release(h, self.lock.read_done());
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]; released when dropped.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    // Invariant: `Some` until dropped.
    hold: Option<Hold>,
    _ref: PhantomData<&'a T>,
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// Turns exclusive access into shared access without releasing the lock in
    /// between (no writer can get in first), as
    /// `tokio::sync::RwLockWriteGuard::downgrade`. Readers waiting at the front of
    /// the queue get in with it. Records `release` then `acquire-shared`.
    ///
    /// ```
    /// use sim::sync::RwLock;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let lock = RwLock::new(1);
    ///     let mut w = lock.write().await;
    ///     *w += 1;
    ///     let r = w.downgrade();
    ///     assert_eq!(*r, 2);
    ///     assert!(lock.try_read().is_ok()); // other readers share it now
    ///     assert!(lock.try_write().is_err());
    /// }).unwrap();
    /// ```
    pub fn downgrade(mut self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        let hold = self
            .hold
            .take()
            .expect("sim internal error: guard without permit");
        let hold = lock.sem.downgrade(hold, WRITE_DONE, lock.read_report());
        RwLockReadGuard {
            lock,
            hold: Some(hold),
            _ref: PhantomData,
        }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        let hold = self
            .hold
            .as_ref()
            .expect("sim internal error: guard without permit");
        self.lock.cell.read(hold.access())
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        let hold = self
            .hold
            .as_mut()
            .expect("sim internal error: guard without permit");
        self.lock.cell.write(hold.access_mut())
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.lock.sem.release(h, WRITE_DONE);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
