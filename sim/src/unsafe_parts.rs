//! All of the crate's `unsafe` code, in two parts with one soundness argument each:
//! [`cells`], the values of `Mutex` and `RwLock`, and the vtable of the task waker,
//! which carries its task and run in the pointer word instead of an allocation, so a
//! task needs no `Arc` for its waker and cloning one is a copy.
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

/// A waker whose wake calls `crate::task::waker::wake(data)`.
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
    crate::task::waker::wake(data.addr());
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
