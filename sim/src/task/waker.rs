//! Task wakers: one `Arc` per task, made at spawn, so waking allocates nothing.
//!
//! A wake on the run's thread queues the task id for the executor. A wake from another
//! OS thread cannot touch the run (it is single-threaded); it raises a flag that fails
//! the run with a non-determinism report instead of being lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::thread::ThreadId;

use crate::runtime::context::{self, Wake as Outcome};
use crate::task::TaskId;

/// Per-run state that wakers on other threads may touch (hence atomics).
pub(crate) struct RunSync {
    pub(crate) run_id: u64,
    pub(crate) thread: ThreadId,
    foreign: AtomicBool,
    foreign_report: Mutex<Option<String>>,
}

impl RunSync {
    pub(crate) fn new(run_id: u64) -> Arc<Self> {
        Arc::new(RunSync {
            run_id,
            thread: std::thread::current().id(),
            foreign: AtomicBool::new(false),
            foreign_report: Mutex::new(None),
        })
    }

    /// The report of the first wake from another thread, if any happened.
    pub(crate) fn take_foreign(&self) -> Option<String> {
        if !self.foreign.load(Ordering::Relaxed) {
            return None;
        }
        self.foreign_report
            .lock()
            .map(|mut r| r.take())
            .unwrap_or(None)
    }
}

pub(crate) struct TaskWaker {
    pub(crate) task: TaskId,
    pub(crate) run: Arc<RunSync>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Outcome::Foreign = context::wake(self.run.run_id, self.task, self.run.thread) {
            if let Ok(mut report) = self.run.foreign_report.lock() {
                report.get_or_insert_with(|| {
                    format!(
                        "task {} was woken from another OS thread ({:?}); a simulated run is \
                         single-threaded, so a real thread, timer or I/O source reached into it",
                        self.task,
                        std::thread::current().id()
                    )
                });
            }
            self.run.foreign.store(true, Ordering::Relaxed);
        }
    }
}
