//! The only `unsafe` code of the primitives: the cells holding the values of
//! [`Mutex`](super::Mutex) and [`RwLock`](super::RwLock).
//!
//! Soundness argument (the same as tokio's): a cell is only reached through a guard,
//! and a guard exists only while it holds permits of the lock's semaphore
//! ([`Hold`](super::semaphore::Hold)). A mutex has one permit, so at most one guard
//! (one `&mut T`) exists at a time. An `RwLock` has `MAX_READS` permits: a read guard
//! holds one (many `&T` together), a write guard holds all of them (one `&mut T`, no
//! reader). The accessors take the guard's `Hold` by reference, so the returned
//! reference cannot outlive the permits. Callers (only the lock modules of this crate)
//! must pass the `Hold` acquired from the lock that owns the cell; that is the one
//! invariant this module relies on.
//!
//! This module must not grow: anything that does not need `unsafe` belongs elsewhere.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;

use super::semaphore::Hold;

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
