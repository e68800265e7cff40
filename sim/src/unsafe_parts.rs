//! All of the crate's `unsafe` code, in four parts with one soundness argument each:
//! the vtable of the task waker, which carries its task and run in the pointer word
//! instead of an allocation, so a task needs no `Arc` for its waker and cloning one is
//! a copy; [`pin_pair`], the pinning projection of a pair that lets `join!` and
//! `select!` keep their futures in one pinned tuple (one pointer for all of them, as
//! tokio's); [`StateLock`], the lock around each primitive's state; and [`cells`], the
//! values of `Mutex` and `RwLock` with the [`Ledger`](cells::Ledger) that lends access
//! to them.
//!
//! The contract: every function of this module that is not `unsafe fn` is sound for
//! any arguments safe code can make; nothing here trusts a caller to pass the right
//! lock, permit or key (what it relies on is checked, or is a type only this module
//! can make). The module imports nothing from the crate but the one function the
//! waker calls, so nothing above it can change what its soundness rests on.
//!
//! Waker soundness argument: the data word is a plain integer made with
//! [`std::ptr::without_provenance`] and is never dereferenced; `clone` copies it, `drop`
//! does nothing, and `wake` passes the integer to safe code. There is nothing to free,
//! nothing to share and nothing thread-bound, so every `RawWaker` contract holds (a
//! wake from any thread is handled by the safe code: it is reported, not obeyed).
//!
//! Under `--cfg loom`, the test `sim/tests/loom.rs` compiles this very file with
//! loom's atomics and cells (see `prim`) and model-checks the lock and the cells; the
//! crate itself always uses std's (its constructors stay `const`).
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

/// A pinned pair's two fields, each pinned (structural pinning): `join!` and
/// `select!` pin their futures as nested pairs `(f0, (f1, f2))` and reach each one
/// through this.
///
/// Sound for any `A` and `B` because a tuple meets every condition of structural
/// pinning (`std::pin`'s module docs): it is `Unpin` only when both fields are (an
/// auto trait, no manual impl can exist), it has no `Drop` of its own that could move a
/// field, it is not `repr(packed)`, and no safe operation on a `Pin<&mut (A, B)>` moves
/// a field out (`Pin::set` drops the old pair in place; `get_mut` needs `Unpin`).
pub fn pin_pair<A, B>(
    pair: std::pin::Pin<&mut (A, B)>,
) -> (std::pin::Pin<&mut A>, std::pin::Pin<&mut B>) {
    // SAFETY: the fields are never moved through these references (the pins only
    // hand out what `Pin` allows), and the pair itself stays pinned for as long as they
    // live: the projection is structural, sound for tuples as argued above.
    unsafe {
        let (a, b) = pair.get_unchecked_mut();
        (
            std::pin::Pin::new_unchecked(a),
            std::pin::Pin::new_unchecked(b),
        )
    }
}

/// The atomics and the cell the lock and the cells are made of: std's in the crate,
/// loom's when `sim/tests/loom.rs` model-checks this file.
#[cfg(not(all(loom, test)))]
mod prim {
    pub(super) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// std's `UnsafeCell` with loom's closure API (so one body serves both).
    pub(super) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(super) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(super) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        pub(super) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }

        pub(super) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    /// What a waiter for a taken flag does between tries.
    pub(super) fn spin() {
        std::thread::yield_now();
    }
}

/// The loom versions (see the other `prim`).
#[cfg(all(loom, test))]
mod prim {
    pub(super) use loom::sync::atomic::{AtomicBool, AtomicU64};
    pub(super) use std::sync::atomic::Ordering;

    pub(super) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(super) fn new(value: T) -> Self {
            UnsafeCell(loom::cell::UnsafeCell::new(value))
        }

        pub(super) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }

        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }

        pub(super) fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self` proves no other reference to the value exists.
            self.0.with_mut(|p| unsafe { &mut *p })
        }

        pub(super) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    pub(super) fn spin() {
        loom::thread::yield_now();
    }
}

pub(crate) mod cells {
    //! The cells holding the values of [`Mutex`](crate::sync::Mutex) and
    //! [`RwLock`](crate::sync::RwLock), and the [`Ledger`] that lends access to them.
    //!
    //! Soundness argument: a cell hands out `&T` or `&mut T` only for a [`Key`], and
    //! only a [`Ledger`] makes keys: at most one exclusive key, or any number of shared
    //! ones, at a time (it counts them, and takes a key back only by value). A cell is
    //! bound, at its first access, to the ledger of the first key shown to it (a
    //! write-once atomic word), and from then on accepts only keys of that ledger, so
    //! the references it hands out are the ones one ledger allows: `&mut T` for the
    //! exclusive key, borrowed mutably (so the holder cannot have a `&T` from it at the
    //! same time), `&T` for a shared key (a [`SharedCell`] only, which is `Sync` only
    //! for `T: Sync`; an [`ExclusiveCell`] wants the exclusive key even to read). Each
    //! reference borrows its key, so it cannot outlive it. Ledger ids come from a
    //! process-wide counter and are never reused, so a key of a dropped lock fits no
    //! other cell. All of this is checked on every access (a relaxed load and a compare
    //! of two words: no read-modify-write on the lock path); a failed check is an
    //! internal error and panics, it never hands out a reference.
    //!
    //! The rest is the callers' correctness, not their soundness: a lock's semaphore
    //! lends a key with the permits it grants and takes it back with them, so a lock
    //! that miscounted would panic here, never alias.

    use std::num::NonZeroU64;
    use std::sync::atomic::AtomicU64 as IdCounter;

    use super::prim::{AtomicU64, Ordering, UnsafeCell};

    /// Where ledger ids come from (0 means "none yet"; 2^63 ids are never used up).
    static NEXT_LEDGER: IdCounter = IdCounter::new(1);

    /// `Ledger::lent` while the exclusive key is out.
    const EXCLUSIVE: usize = usize::MAX;

    /// Lends access to the cells bound to it: one exclusive [`Key`] or many shared ones
    /// at a time. It lives in the state of the lock that owns the cell (under that
    /// lock's [`StateLock`](super::StateLock)).
    #[derive(Debug)]
    pub(crate) struct Ledger {
        /// This ledger's id shifted left by one (a shared key's word), drawn at the
        /// first lend.
        word: Option<NonZeroU64>,
        /// Shared keys out, or [`EXCLUSIVE`].
        lent: usize,
    }

    impl Ledger {
        /// A ledger with nothing lent.
        pub(crate) const fn new() -> Self {
            Ledger {
                word: None,
                lent: 0,
            }
        }

        /// A shared key's word (its id drawn if needed).
        #[inline]
        fn word(&mut self) -> NonZeroU64 {
            *self.word.get_or_insert_with(fresh_word)
        }

        /// Lends the exclusive key.
        ///
        /// # Panics
        /// If any key is out (the lock granted what it holds: an internal error).
        #[inline]
        pub(crate) fn lend_exclusive(&mut self) -> Key {
            if self.lent != 0 {
                refused("exclusive access lent while access is out");
            }
            self.lent = EXCLUSIVE;
            Key(self.word() | 1)
        }

        /// Lends a shared key.
        ///
        /// # Panics
        /// If the exclusive key is out (an internal error).
        #[inline]
        pub(crate) fn lend_shared(&mut self) -> Key {
            if self.lent >= EXCLUSIVE - 1 {
                refused("shared access lent while exclusive access is out");
            }
            self.lent += 1;
            Key(self.word())
        }

        /// Takes back a key it lent.
        ///
        /// # Panics
        /// If `key` is another ledger's (an internal error).
        #[inline]
        pub(crate) fn take_back(&mut self, key: Key) {
            if Some(key.shared_word()) != self.word.map(NonZeroU64::get) {
                refused("a key given back to another ledger");
            }
            // Only this ledger made keys with its id: one exclusive, or counted shared.
            if key.is_exclusive() {
                self.lent = 0;
            } else {
                self.lent -= 1;
            }
        }
    }

    /// A fresh ledger's word: its id (never 0, never reused) shifted left by one.
    #[cold]
    fn fresh_word() -> NonZeroU64 {
        let id = NEXT_LEDGER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(id < 1 << 63, "sim: ledger ids exhausted");
        NonZeroU64::new(id << 1).expect("ids start at 1")
    }

    /// A check failed: an internal error, never a reference handed out.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn refused(what: &str) -> ! {
        panic!("sim internal error: {what}")
    }

    /// Access lent by a [`Ledger`]: shared, or its one exclusive access. Not `Clone`;
    /// made only by a ledger, given back only by value. One word: the ledger's id, then
    /// whether it is the exclusive key.
    #[derive(Debug)]
    pub(crate) struct Key(NonZeroU64);

    impl Key {
        /// The ledger's id.
        #[inline]
        fn ledger(&self) -> u64 {
            self.0.get() >> 1
        }

        /// The word of a shared key of the same ledger.
        #[inline]
        fn shared_word(&self) -> u64 {
            self.0.get() & !1
        }

        #[inline]
        fn is_exclusive(&self) -> bool {
            self.0.get() & 1 == 1
        }
    }

    /// Checks that `key` belongs to the ledger `bound` names, binding an unbound cell to
    /// it.
    #[inline]
    fn check(bound: &AtomicU64, key: &Key) {
        if bound.load(Ordering::Relaxed) != key.ledger() {
            bind(bound, key);
        }
    }

    /// Checks that `key` is the exclusive key of the ledger `bound` names, binding an
    /// unbound cell to it.
    #[inline]
    fn check_exclusive(bound: &AtomicU64, key: &Key) {
        if key.0.get() != bound.load(Ordering::Relaxed) << 1 | 1 {
            if !key.is_exclusive() {
                refused("a cell written (or an exclusive cell read) with a shared key");
            }
            bind(bound, key);
        }
    }

    /// The first access binds the cell (a write-once word: `Relaxed` suffices, the value
    /// itself is ordered by the lock that lends the keys); any later access with a key
    /// of another ledger is refused.
    #[cold]
    #[inline(never)]
    fn bind(bound: &AtomicU64, key: &Key) {
        if let Err(other) =
            bound.compare_exchange(0, key.ledger(), Ordering::Relaxed, Ordering::Relaxed)
        {
            if other != key.ledger() {
                refused("a cell accessed with another lock's key");
            }
        }
    }

    /// A value for exclusive access only (a mutex's): `Sync` when `T: Send`, like
    /// `std::sync::Mutex`.
    pub(crate) struct ExclusiveCell<T> {
        /// The id of the ledger it is bound to (0: none yet).
        ledger: AtomicU64,
        value: UnsafeCell<T>,
    }

    /// A value for shared or exclusive access (a readers-writer lock's): `Sync` when
    /// `T: Send + Sync`.
    pub(crate) struct SharedCell<T> {
        /// The id of the ledger it is bound to (0: none yet).
        ledger: AtomicU64,
        value: UnsafeCell<T>,
    }

    // SAFETY: the cell owns a `T`; moving it to another thread moves the `T`.
    unsafe impl<T: Send> Send for ExclusiveCell<T> {}
    // SAFETY: shared references reach the value only with the one exclusive key of its
    // ledger, so one thread at a time touches the `T`: `T: Send` suffices (as for
    // `std::sync::Mutex`).
    unsafe impl<T: Send> Sync for ExclusiveCell<T> {}
    // SAFETY: the cell owns a `T`; moving it to another thread moves the `T`.
    unsafe impl<T: Send> Send for SharedCell<T> {}
    // SAFETY: holders of shared keys on several threads share `&T` (needs `T: Sync`);
    // the exclusive key's holder gets `&mut T` and may move values across threads
    // (needs `T: Send`).
    unsafe impl<T: Send + Sync> Sync for SharedCell<T> {}

    macro_rules! cell_impl {
        ($cell:ident) => {
            impl<T> $cell<T> {
                /// A cell bound to no ledger yet.
                #[cfg(not(all(loom, test)))]
                pub(crate) const fn new(value: T) -> Self {
                    $cell {
                        ledger: AtomicU64::new(0),
                        value: UnsafeCell::new(value),
                    }
                }

                /// A cell bound to no ledger yet.
                #[cfg(all(loom, test))]
                pub(crate) fn new(value: T) -> Self {
                    $cell {
                        ledger: AtomicU64::new(0),
                        value: UnsafeCell::new(value),
                    }
                }

                pub(crate) fn into_inner(self) -> T {
                    self.value.into_inner()
                }

                /// The value, for the cell's owner (`&mut self`: no key is in use).
                pub(crate) fn get_mut(&mut self) -> &mut T {
                    self.value.get_mut()
                }

                /// Exclusive access, for the exclusive key of the cell's ledger.
                ///
                /// # Panics
                /// For another key (an internal error).
                #[inline]
                pub(crate) fn write<'a>(&'a self, key: &'a mut Key) -> &'a mut T {
                    check_exclusive(&self.ledger, key);
                    // SAFETY: `key` is the one exclusive key of the ledger this cell is
                    // bound to (checked), so no other reference to the value exists; the
                    // `&mut T` borrows the key mutably, so it is the key's only use.
                    self.value.with_mut(|p| unsafe { &mut *p })
                }
            }
        };
    }

    cell_impl!(ExclusiveCell);
    cell_impl!(SharedCell);

    impl<T> ExclusiveCell<T> {
        /// Shared access, for the exclusive key of the cell's ledger (a mutex has no
        /// other).
        ///
        /// # Panics
        /// For another key (an internal error).
        #[inline]
        pub(crate) fn read<'a>(&'a self, key: &'a Key) -> &'a T {
            check_exclusive(&self.ledger, key);
            // SAFETY: `key` is the one exclusive key of this cell's ledger (checked): no
            // `&mut T` exists while the `&T`, which borrows the key, lives.
            self.value.with(|p| unsafe { &*p })
        }
    }

    impl<T> SharedCell<T> {
        /// Shared access, for any key of the cell's ledger.
        ///
        /// # Panics
        /// For another ledger's key (an internal error).
        #[inline]
        pub(crate) fn read<'a>(&'a self, key: &'a Key) -> &'a T {
            check(&self.ledger, key);
            // SAFETY: `key` is a key of this cell's ledger (checked); while it is out,
            // the exclusive key is not (or it is this one, borrowed shared here), so no
            // `&mut T` exists while the `&T`, which borrows the key, lives.
            self.value.with(|p| unsafe { &*p })
        }
    }

    #[cfg(all(test, not(loom)))]
    mod tests {
        use super::*;

        fn panics(f: impl FnOnce()) -> bool {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
        }

        #[test]
        fn a_ledger_lends_one_exclusive_key_or_shared_ones() {
            let mut ledger = Ledger::new();
            let a = ledger.lend_shared();
            let _b = ledger.lend_shared();
            assert!(panics(|| {
                ledger.lend_exclusive();
            }));
            ledger.take_back(a);
            let mut other = Ledger::new();
            let _w = other.lend_exclusive();
            assert!(panics(|| {
                other.lend_shared();
            }));
            let foreign = Ledger::new().lend_shared();
            assert!(panics(|| ledger.take_back(foreign)));
        }

        #[test]
        fn a_cell_takes_only_keys_of_its_ledger() {
            let mut mine = Ledger::new();
            let mut other = Ledger::new();
            let cell = SharedCell::new(5);
            let mut w = mine.lend_exclusive();
            *cell.write(&mut w) += 1;
            assert_eq!(*cell.read(&w), 6);
            let mut foreign = other.lend_exclusive();
            assert!(panics(|| {
                cell.write(&mut foreign);
            }));
            assert!(panics(|| {
                cell.read(&foreign);
            }));
            mine.take_back(w);
            let r = mine.lend_shared();
            assert_eq!(*cell.read(&r), 6);
            let mut r2 = mine.lend_shared();
            assert!(
                panics(|| {
                    cell.write(&mut r2);
                }),
                "a shared key writes"
            );
            let mut only = Ledger::new();
            let ex = ExclusiveCell::new(1);
            let shared = only.lend_shared();
            assert!(
                panics(|| {
                    ex.read(&shared);
                }),
                "a shared key reads an exclusive cell"
            );
        }

        #[test]
        fn a_key_of_a_dropped_lock_fits_no_new_cell() {
            let mut key = Ledger::new().lend_exclusive(); // Its ledger is gone.
            let mut fresh = Ledger::new();
            let cell = ExclusiveCell::new(0);
            let mut k = fresh.lend_exclusive();
            *cell.write(&mut k) = 1;
            assert!(panics(|| {
                cell.write(&mut key);
            }));
        }
    }
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
    //! its drop (`false`, `Release`), so at most one guard exists at a time and each
    //! holder sees the writes of the one before; a `&T` or `&mut T` borrows its guard,
    //! so it cannot outlive the flag. The guard is `Sync` only when `T: Sync` (shared
    //! guards hand out `&T` on several threads) and `Send` when `T: Send` (the flag has
    //! no owner thread). Inside a run only the run's thread touches a primitive and
    //! never twice at once (no user code runs under the lock), so the flag is always
    //! free; a primitive shared by several threads may find it taken and then yields
    //! until it is free. There is no poisoning: the state is kept consistent before any
    //! code that could panic.

    use std::marker::PhantomData;
    use std::ops::{Deref, DerefMut};

    use super::prim::{self, AtomicBool, Ordering, UnsafeCell};

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
        /// Auto traits as for `&mut T`: `Sync` only when `T: Sync`.
        _value: PhantomData<&'a mut T>,
    }

    impl<T> StateLock<T> {
        #[cfg(not(all(loom, test)))]
        pub(crate) const fn new(value: T) -> Self {
            StateLock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[cfg(all(loom, test))]
        pub(crate) fn new(value: T) -> Self {
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
                prim::spin();
            }
            StateGuard {
                lock: self,
                _value: PhantomData,
            }
        }
    }

    impl<T> Deref for StateGuard<'_, T> {
        type Target = T;

        #[inline]
        fn deref(&self) -> &T {
            // SAFETY: this guard holds the flag, so no other guard, hence no other
            // reference to the value, exists (module docs); the `&T` borrows the guard.
            self.lock.value.with(|p| unsafe { &*p })
        }
    }

    impl<T> DerefMut for StateGuard<'_, T> {
        #[inline]
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the guard's only borrow.
            self.lock.value.with_mut(|p| unsafe { &mut *p })
        }
    }

    impl<T> Drop for StateGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }

    #[cfg(all(test, not(loom)))]
    mod tests {
        use super::*;

        /// A guard shared by reference hands out `&T` on every thread that has it, so
        /// it must be `Sync` only when `T` is.
        #[test]
        fn a_guard_is_sync_only_when_the_value_is() {
            trait NotSync {
                fn sync() -> bool {
                    false
                }
            }
            struct Probe<T>(T);
            impl<T> NotSync for Probe<T> {}
            impl<T: Sync> Probe<T> {
                fn sync() -> bool {
                    true
                }
            }
            assert!(!Probe::<StateGuard<'static, std::cell::Cell<u64>>>::sync());
            assert!(Probe::<StateGuard<'static, u64>>::sync());
        }
    }
}
