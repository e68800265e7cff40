//! Model checks of the crate's hand-written synchronisation (`src/unsafe_parts.rs`)
//! under loom, which runs every interleaving (and every weak-memory outcome it models)
//! of a few threads and fails on a data race on a cell or a broken lock.
//!
//! Run it as CI does (a separate target directory keeps the normal build's artifacts):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sim --test loom
//! ```
//!
//! The test compiles `src/unsafe_parts.rs` itself, with loom's atomics and cells
//! (`cfg(all(loom, test))` there); without `--cfg loom` it is empty.
#![cfg(loom)]

/// What the waker vtable of `unsafe_parts` calls (the models make no wakers).
mod runtime {
    pub(crate) mod wakeup {
        pub(crate) fn wake(_: usize) {}
    }
}

#[path = "../src/unsafe_parts.rs"]
#[allow(dead_code, unused_imports)] // The models use part of it.
mod unsafe_parts;

use loom::model::Builder;
use loom::sync::Arc;
use loom::thread;
use unsafe_parts::StateLock;
use unsafe_parts::cells::{ExclusiveCell, Key, Ledger, SharedCell};

/// Two threads incrementing a value under the spin lock (twice each) never lose an
/// update, and loom sees no unordered access to the value (its cell tracks every
/// access); the main thread reads it after joining them.
///
/// Two contending threads per model: with three spinning ones, loom's search exceeds
/// its branch limit even with a preemption bound.
/// Runs `f` under loom, every interleaving with at most `PREEMPTIONS` preemptions
/// (`LOOM_MAX_PREEMPTIONS` overrides). Spinning waits need a bound: without one,
/// loom explores schedules that preempt the lock's holder for ever while the others
/// spin.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    builder.check(f);
}

/// The default preemption bound (tokio's CI runs its models with 2).
const PREEMPTIONS: usize = 3;

#[test]
fn the_state_lock_excludes_and_orders() {
    model(|| {
        let lock = Arc::new(StateLock::new(0u32));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let lock = lock.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        let mut g = lock.lock();
                        let seen = *g;
                        *g = seen + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 4);
    });
}

/// A mutex as `sync::Mutex` builds it: the state lock protects whether the lock is
/// free and the ledger; a thread that wins it takes the exclusive key and works on the
/// value without the state lock held, then gives the key back.
struct ModelMutex {
    state: StateLock<(bool, Ledger)>,
    cell: ExclusiveCell<u32>,
}

impl ModelMutex {
    fn lock(&self) -> Key {
        loop {
            let mut st = self.state.lock();
            if !st.0 {
                st.0 = true;
                return st.1.lend_exclusive();
            }
            drop(st);
            thread::yield_now();
        }
    }

    fn unlock(&self, key: Key) {
        let mut st = self.state.lock();
        st.1.take_back(key);
        st.0 = false;
    }
}

#[test]
fn an_exclusive_cell_is_reached_by_one_key_at_a_time() {
    model(|| {
        let m = Arc::new(ModelMutex {
            state: StateLock::new((false, Ledger::new())),
            cell: ExclusiveCell::new(0),
        });
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    let mut key = m.lock();
                    let seen = *m.cell.read(&key);
                    *m.cell.write(&mut key) = seen + 1;
                    m.unlock(key);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let key = m.lock();
        assert_eq!(*m.cell.read(&key), 2);
        m.unlock(key);
    });
}

/// A readers-writer lock as `sync::RwLock` builds it: readers share the value through
/// shared keys while a writer waits for all of them to be given back.
struct ModelRwLock {
    /// (readers, writer) and the ledger.
    state: StateLock<(u32, bool, Ledger)>,
    cell: SharedCell<u32>,
}

impl ModelRwLock {
    fn read(&self) -> Key {
        loop {
            let mut st = self.state.lock();
            if !st.1 {
                st.0 += 1;
                return st.2.lend_shared();
            }
            drop(st);
            thread::yield_now();
        }
    }

    fn write(&self) -> Key {
        loop {
            let mut st = self.state.lock();
            if !st.1 && st.0 == 0 {
                st.1 = true;
                return st.2.lend_exclusive();
            }
            drop(st);
            thread::yield_now();
        }
    }

    fn release(&self, key: Key) {
        let mut st = self.state.lock();
        st.2.take_back(key);
        if st.1 {
            st.1 = false;
        } else {
            st.0 -= 1;
        }
    }
}

#[test]
fn a_shared_cell_has_readers_or_one_writer() {
    model(|| {
        let l = Arc::new(ModelRwLock {
            state: StateLock::new((0, false, Ledger::new())),
            cell: SharedCell::new(1),
        });
        let reader = {
            let l = l.clone();
            thread::spawn(move || {
                let key = l.read();
                let v = *l.cell.read(&key);
                l.release(key);
                assert!(v == 1 || v == 2);
            })
        };
        let writer = {
            let l = l.clone();
            thread::spawn(move || {
                let mut key = l.write();
                *l.cell.write(&mut key) += 1;
                l.release(key);
            })
        };
        reader.join().unwrap();
        writer.join().unwrap();
        let key = l.read();
        assert_eq!(*l.cell.read(&key), 2);
        l.release(key);
    });
}
