//! Task wakers without allocation: a waker is the pair (run, task) packed into the
//! waker's data word (the vtable is in `unsafe_parts`), so spawning allocates no
//! waker, and cloning, comparing and dropping one is a copy.
//!
//! A wake on the run's thread queues the task id in this thread's queue of woken
//! tasks, which the executor drains. A wake for a run that is over is ignored (a stale
//! waker). A wake from another OS thread cannot touch the run (it is single-threaded);
//! it raises a flag, found through the registry of live runs, that fails the run with
//! a non-determinism report instead of being lost.
//!
//! A leaf of the engine: it knows ids and the waker vtable, not the core, so the vtable
//! can call [`wake`] without an import circle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;

use std::cell::RefCell;
use std::rc::Rc;

use crate::ids::TaskId;

const _: () = assert!(
    usize::BITS == 64,
    "sim packs a run and a task id into a waker's pointer word: 64-bit targets only"
);

/// Per-run state that wakers on other threads may touch (hence atomics).
pub(crate) struct RunSync {
    pub(crate) run_id: u64,
    pub(crate) thread: ThreadId,
    foreign: AtomicBool,
    foreign_report: Mutex<Option<String>>,
}

/// The live runs of the process (one per thread running one); only searched by wakes
/// that miss the current thread's run, and short, so a list beats a map.
static LIVE: Mutex<Vec<Arc<RunSync>>> = Mutex::new(Vec::new());

impl RunSync {
    pub(crate) fn new(run_id: u64) -> Arc<Self> {
        Arc::new(RunSync {
            run_id,
            thread: std::thread::current().id(),
            foreign: AtomicBool::new(false),
            foreign_report: Mutex::new(None),
        })
    }

    /// Makes the run findable by wakes from other threads until [`unregister`](Self::unregister).
    pub(crate) fn register(self: &Arc<Self>) {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.push(self.clone());
    }

    pub(crate) fn unregister(&self) {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = live.iter().position(|r| r.run_id == self.run_id) {
            live.swap_remove(i);
        }
    }

    /// The report of the first wake from another thread, if any happened.
    #[inline]
    pub(crate) fn take_foreign(&self) -> Option<String> {
        if !self.foreign.load(Ordering::Relaxed) {
            return None;
        }
        self.take_foreign_report()
    }

    #[cold]
    fn take_foreign_report(&self) -> Option<String> {
        self.foreign_report
            .lock()
            .map(|mut r| r.take())
            .unwrap_or(None)
    }

    /// Whether a task of the run was woken from another thread (the flag stays up
    /// after [`take_foreign`](Self::take_foreign)).
    pub(crate) fn was_woken_from_elsewhere(&self) -> bool {
        self.foreign.load(Ordering::Relaxed)
    }

    fn woken_from_elsewhere(&self, task: TaskId) {
        if let Ok(mut report) = self.foreign_report.lock() {
            report.get_or_insert_with(|| {
                format!(
                    "task {task} was woken from another OS thread ({:?}); a simulated run is \
                     single-threaded, so a real thread, timer or I/O source reached into it",
                    std::thread::current().id()
                )
            });
        }
        self.foreign.store(true, Ordering::Relaxed);
    }
}

/// The queue of tasks woken since the executor last looked, in wake order. Shared by
/// the run's core and this thread's wakers.
pub(crate) type Woken = Rc<RefCell<Vec<TaskId>>>;

thread_local! {
    /// The run in progress on this thread (the low 32 bits of its id) and its queue.
    static CURRENT: RefCell<Option<(u32, Woken)>> = const { RefCell::new(None) };
}

/// Makes `woken` the queue of run `run_id` on this thread (until [`clear_current`]).
pub(crate) fn set_current(run_id: u64, woken: Woken) {
    CURRENT.with(|c| *c.borrow_mut() = Some((run_id as u32, woken)));
}

/// No run is in progress on this thread any more.
pub(crate) fn clear_current() {
    let _ = CURRENT.try_with(|c| c.borrow_mut().take());
}

/// Queues `task` if run `run` (the low 32 bits of its id) is in progress on this
/// thread; `false` otherwise.
fn wake_here(run: u32, task: TaskId) -> bool {
    CURRENT
        .try_with(|c| match c.borrow().as_ref() {
            Some((r, woken)) if *r == run => {
                woken.borrow_mut().push(task);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// The data word of the waker of `task` in run `run_id`: the run's low 32 bits, then
/// the task.
pub(crate) fn pack(run_id: u64, task: TaskId) -> usize {
    ((run_id as u32 as usize) << 32) | task.0 as usize
}

/// The (low 32 bits of the run id, task) packed into a waker's data word by [`pack`].
pub(crate) fn unpack(data: usize) -> (u32, TaskId) {
    ((data >> 32) as u32, TaskId(data as u32))
}

/// Wakes the task packed in `data` (called by the waker's vtable).
pub(crate) fn wake(data: usize) {
    let (run, task) = unpack(data);
    if wake_here(run, task) {
        return;
    }
    let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    match live.iter().find(|r| r.run_id as u32 == run) {
        Some(sync) if sync.thread != std::thread::current().id() => {
            sync.woken_from_elsewhere(task);
        }
        _ => {} // The run is over: a stale waker.
    }
}
