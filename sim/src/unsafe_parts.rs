//! The crate's only `unsafe` code outside the lock cells (`sync::cell`): the vtable of
//! the task waker, which carries its task and run in the pointer word instead of an
//! allocation, so a task needs no `Arc` for its waker and cloning one is a copy.
//!
//! Soundness argument: the data word is a plain integer made with
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
