//! [`RwLock`]: an async readers-writer lock, as `tokio::sync::RwLock`.
//!
//! Owns the lock protocol: a fair semaphore of `MAX_READS` permits, one per reader, all
//! of them for a writer. Because waiters are served FIFO, the lock is writer-preferring
//! like tokio's: once a writer waits, later readers queue behind it. The value lives in
//! a cell of the `cell` module, the only place with `unsafe`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::TryLockError;
use super::cell::SharedCell;
use super::semaphore::{Acquire, Hold, Sem};
use super::wait::Res;
use crate::trace::ResourceOp;

/// The most readers at once (tokio's bound).
const MAX_READS: usize = (u32::MAX >> 3) as usize;

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
    res: Res,
    sem: Sem,
    cell: SharedCell<T>,
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RwLock {
            res: Res::owned("rwlock"),
            sem: Sem::new(MAX_READS),
            cell: SharedCell::new(value),
        }
    }

    fn readers(&self) -> usize {
        MAX_READS - self.sem.available()
    }

    /// Waits for shared access. Cancellation safe.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let what = "sim::sync::RwLock::read";
        let hold = Acquire::new(&self.sem, &self.res, what, 1, true)
            .await
            .expect("sim internal error: an rwlock semaphore is never closed");
        self.res
            .event(what, ResourceOp::AcquireShared, self.readers());
        RwLockReadGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        }
    }

    /// Waits for exclusive access. Cancellation safe.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let what = "sim::sync::RwLock::write";
        let hold = Acquire::new(&self.sem, &self.res, what, MAX_READS, true)
            .await
            .expect("sim internal error: an rwlock semaphore is never closed");
        self.res.event(what, ResourceOp::Acquire, 1);
        RwLockWriteGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        }
    }

    /// Takes shared access if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let what = "sim::sync::RwLock::try_read";
        self.res.with(what, |_, _| ());
        let hold = self.sem.try_acquire(1).map_err(|_| TryLockError(()))?;
        self.res.hold(hold.task());
        self.res
            .event(what, ResourceOp::AcquireShared, self.readers());
        Ok(RwLockReadGuard {
            lock: self,
            hold: Some(hold),
            _ref: PhantomData,
        })
    }

    /// Takes exclusive access if the lock is free and no one waits.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let what = "sim::sync::RwLock::try_write";
        self.res.with(what, |_, _| ());
        let hold = self
            .sem
            .try_acquire(MAX_READS)
            .map_err(|_| TryLockError(()))?;
        self.res.hold(hold.task());
        self.res.event(what, ResourceOp::Acquire, 1);
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
        self.lock.cell.get(
            self.hold
                .as_ref()
                .expect("sim internal error: guard without permit"),
        )
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            // Readers left, counted before waiters are served.
            let readers = self.lock.readers() - 1;
            self.lock.res.release(h.task());
            self.lock.sem.release(h);
            self.lock
                .res
                .event_lenient(ResourceOp::ReleaseShared, readers);
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

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.lock.cell.get(
            self.hold
                .as_ref()
                .expect("sim internal error: guard without permit"),
        )
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        let hold = self
            .hold
            .as_mut()
            .expect("sim internal error: guard without permit");
        self.lock.cell.get_mut_held(hold)
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.lock.res.release(h.task());
            self.lock.sem.release(h);
            self.lock.res.event_lenient(ResourceOp::Release, 1);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
