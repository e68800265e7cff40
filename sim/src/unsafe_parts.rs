//! All of the crate's `unsafe` code, in three parts with one soundness argument each:
//! the vtable of the task waker, which carries its task and run in the pointer word
//! instead of an allocation, so a task needs no `Arc` for its waker and cloning one is
//! a copy; [`StateLock`], the lock around each primitive's state; and [`cells`], the
//! values of `Mutex` and `RwLock`.
//!
//! Waker soundness argument: the data word is a plain integer made with
//! [`std::ptr::without_provenance`] and is never dereferenced; `clone` copies it, `drop`
//! does nothing, and `wake` passes the integer to safe code. There is nothing to free,
//! nothing to share and nothing thread-bound, so every `RawWaker` contract holds (a
//! wake from any thread is handled by the safe code: it is reported, not obeyed).
//!
//! This module must not grow: anything that does not need `unsafe` belongs elsewhere.
#![allow(unsafe_code)]

use std::task::{RawWaker, RawWakerVTable, Waker};

/// A waker whose wake calls `crate::runtime::wakeup::wake(data)`.
pub(crate) fn word_waker(data: usize) -> Waker {
    // SAFETY: `VTABLE` upholds the `RawWaker` contract for any data word (see the module
    // docs): its functions never dereference the pointer and own nothing.
    unsafe { Waker::from_raw(raw(data)) }
}

/// The data word of `waker` if it is one made by [`word_waker`].
pub(crate) fn word_of(waker: &Waker) -> Option<usize> {
    std::ptr::eq(waker.vtable(), &VTABLE).then(|| waker.data().addr())
}

fn raw(data: usize) -> RawWaker {
    RawWaker::new(std::ptr::without_provenance(data), &VTABLE)
}

// A `static`, not a `const`: one address, so `Waker::will_wake` sees equal wakers.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

/// # Safety
/// Any pointer word is accepted; it is only read as an integer.
unsafe fn clone(data: *const ()) -> RawWaker {
    raw(data.addr())
}

/// # Safety
/// Any pointer word is accepted; it is only read as an integer.
unsafe fn wake(data: *const ()) {
    crate::runtime::wakeup::wake(data.addr());
}

/// # Safety
/// Nothing to free.
unsafe fn drop_waker(_: *const ()) {}

pub(crate) mod cells {
    //! The cells holding the values of [`Mutex`](crate::sync::Mutex) and
    //! [`RwLock`](crate::sync::RwLock).
    //!
    //! Soundness argument (the same as tokio's): a cell is only reached through a guard,
    //! and a guard exists only while it holds permits of the lock's semaphore
    //! ([`Hold`](crate::sync::Hold)). A mutex has one permit, so at most one guard
    //! (one `&mut T`) exists at a time. An `RwLock` has `MAX_READS` permits: a read guard
    //! holds one (many `&T` together), a write guard holds all of them (one `&mut T`, no
    //! reader). The accessors take the guard's `Hold` by reference, so the returned
    //! reference cannot outlive the permits. Callers (only the lock modules of this crate)
    //! must pass the `Hold` acquired from the lock that owns the cell; that is the one
    //! invariant this module relies on.

    use std::cell::UnsafeCell;

    use crate::sync::Hold;

    /// A value protected by an exclusive lock: `Sync` when `T: Send`, like `std::sync::Mutex`.
    pub(crate) struct ExclusiveCell<T>(UnsafeCell<T>);

    /// A value protected by a readers-writer lock: `Sync` when `T: Send + Sync`.
    pub(crate) struct SharedCell<T>(UnsafeCell<T>);

    // SAFETY: the cell owns a `T`; moving it to another thread moves the `T`.
    unsafe impl<T: Send> Send for ExclusiveCell<T> {}
    // SAFETY: shared references only reach the value through a guard of the exclusive
    // lock, so at most one thread touches the `T` at a time: `T: Send` suffices (as for
    // `std::sync::Mutex`).
    unsafe impl<T: Send> Sync for ExclusiveCell<T> {}
    // SAFETY: the cell owns a `T`; moving it to another thread moves the `T`.
    unsafe impl<T: Send> Send for SharedCell<T> {}
    // SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer gets
    // `&mut T` and may move values across threads (needs `T: Send`).
    unsafe impl<T: Send + Sync> Sync for SharedCell<T> {}

    macro_rules! cell_impl {
        ($cell:ident) => {
            impl<T> $cell<T> {
                pub(crate) const fn new(value: T) -> Self {
                    $cell(UnsafeCell::new(value))
                }

                pub(crate) fn into_inner(self) -> T {
                    self.0.into_inner()
                }

                pub(crate) fn get_mut(&mut self) -> &mut T {
                    self.0.get_mut()
                }

                /// Shared access for the holder of `hold` (permits of this cell's lock).
                pub(crate) fn get<'a>(&'a self, hold: &'a Hold) -> &'a T {
                    debug_assert!(
                        hold.permits() > 0,
                        "sim internal error: a guard without permits"
                    );
                    // SAFETY: `hold` holds permits of the lock owning this cell (module
                    // invariant), so no `&mut T` exists while the returned `&T` lives.
                    unsafe { &*self.0.get() }
                }

                /// Exclusive access for the holder of `hold` (all permits of this cell's lock).
                pub(crate) fn get_mut_held<'a>(&'a self, hold: &'a mut Hold) -> &'a mut T {
                    debug_assert!(
                        hold.permits() > 0,
                        "sim internal error: a guard without permits"
                    );
                    // SAFETY: `hold` holds every permit of the lock owning this cell (module
                    // invariant), so no other reference to the `T` exists while this one
                    // lives; `&mut Hold` keeps it unique among this guard's own borrows.
                    unsafe { &mut *self.0.get() }
                }
            }
        };
    }

    cell_impl!(ExclusiveCell);
    cell_impl!(SharedCell);
}

pub(crate) use state_lock::{StateGuard, StateLock};

mod state_lock {
    //! The lock around a primitive's state: a flag taken with one compare-exchange and
    //! released with one store (a `std::sync::Mutex` pays a second atomic
    //! read-modify-write to release, about twice the cost per operation, and every
    //! channel send and receive takes one).
    //!
    //! Soundness argument: the value is reached only through a [`StateGuard`], and a
    //! guard exists only between winning the flag (`false` to `true`, `Acquire`) and
    //! its drop (`false`, `Release`), so at most one `&mut T` exists at a time and each
    //! holder sees the writes of the one before. Inside a run only the run's thread
    //! touches a primitive and never twice at once (no user code runs under the lock),
    //! so the flag is always free; a primitive shared by runs on several threads may
    //! find it taken and then yields until it is free. There is no poisoning: the state
    //! is kept consistent before any code that could panic.

    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A value behind a spin-and-yield lock: `Sync` when `T: Send`, like a mutex.
    pub(crate) struct StateLock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock owns a `T`; moving it to another thread moves the `T`.
    unsafe impl<T: Send> Send for StateLock<T> {}
    // SAFETY: the value is reached only through a guard, and the flag admits one guard
    // at a time (module docs), so one thread at a time touches the `T`: `T: Send`
    // suffices, as for `std::sync::Mutex`.
    unsafe impl<T: Send> Sync for StateLock<T> {}

    /// Exclusive access to a [`StateLock`]'s value until dropped.
    pub(crate) struct StateGuard<'a, T> {
        lock: &'a StateLock<T>,
    }

    impl<T> StateLock<T> {
        pub(crate) const fn new(value: T) -> Self {
            StateLock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        /// Takes the lock (at once unless another thread holds it).
        #[inline]
        pub(crate) fn lock(&self) -> StateGuard<'_, T> {
            while self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                std::thread::yield_now();
            }
            StateGuard { lock: self }
        }
    }

    impl<T> Deref for StateGuard<'_, T> {
        type Target = T;

        #[inline]
        fn deref(&self) -> &T {
            // SAFETY: this guard holds the flag, so no other reference to the value
            // exists (module docs); the `&T` borrows the guard and cannot outlive it.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for StateGuard<'_, T> {
        #[inline]
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the guard's only borrow.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for StateGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}
