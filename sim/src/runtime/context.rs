//! The thread-local handle to the run in progress, and the narrow API through which
//! tasks, timers and primitives reach it.
//!
//! Architecture invariant: the core is borrowed only for short, non-reentrant
//! sections. No user code runs, no waker is called and no user value is dropped while
//! it is borrowed; such work is returned to the caller and done after the borrow ends.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

use super::core::Core;
use super::wakeup::{self, Woken};
use crate::ids::TaskId;

/// Everything a run shares with the code it runs.
pub(crate) struct Shared {
    pub(crate) run_id: u64,
    pub(crate) core: RefCell<Core>,
    /// Tasks woken since the executor last looked, in wake order (shared with the
    /// core, which queues its own tasks' wakes directly, and with this thread's
    /// wakers). Kept apart from the core so a waker can fire while the core is
    /// borrowed.
    pub(crate) woken: Woken,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// Makes `shared` the current run on this thread until dropped.
pub(crate) struct EnterGuard(());

pub(crate) fn enter(shared: Rc<Shared>) -> EnterGuard {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        assert!(
            c.is_none(),
            "sim: Runtime::block_on called inside a simulated run; runs cannot nest \
             (spawn a task or await the future instead)"
        );
        shared.core.borrow().sync.register();
        wakeup::set_current(shared.run_id, shared.woken.clone());
        *c = Some(shared);
    });
    super::panic::set_in_run(true);
    EnterGuard(())
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        super::panic::set_in_run(false);
        wakeup::clear_current();
        if let Ok(Some(shared)) = CURRENT.try_with(|c| c.borrow_mut().take()) {
            shared.core.borrow().sync.unregister();
        }
    }
}

fn outside(what: &str) -> ! {
    panic!(
        "{what} was used outside a sim runtime: call it from code running inside \
         `sim::Runtime::block_on`, `sim::check` or a `#[sim::test]`"
    )
}

/// Runs `f` on the current run's core. `what` names the API for the error message.
///
/// # Panics
/// Outside a run, or when the core is already borrowed (an internal bug).
pub(crate) fn with_core<R>(what: &str, f: impl FnOnce(&mut Core) -> R) -> R {
    with_core_checked(what, None, f)
}

/// Like [`with_core`], and first checks that the handle of run `run_id` belongs to the
/// current run (one thread-local access for both).
///
/// # Panics
/// Outside a run, in a different run than the one that made the handle, or when the
/// core is already borrowed (an internal bug).
pub(crate) fn with_core_of<R>(what: &str, run_id: u64, f: impl FnOnce(&mut Core) -> R) -> R {
    with_core_checked(what, Some(run_id), f)
}

fn with_core_checked<R>(what: &str, run_id: Option<u64>, f: impl FnOnce(&mut Core) -> R) -> R {
    CURRENT.with(|c| {
        let c = c.borrow();
        let Some(shared) = c.as_ref() else {
            outside(what)
        };
        if run_id.is_some_and(|r| !same_run(r, shared.run_id)) {
            panic!(
                "{what} belongs to another simulated run: handles cannot cross from one run \
                 (seed) to the next"
            );
        }
        let mut core = shared
            .core
            .try_borrow_mut()
            .unwrap_or_else(|_| panic!("sim internal error: the core was re-entered by {what}"));
        f(&mut core)
    })
}

/// The current task yields: records it and wakes `waker`, queueing the task directly
/// when `waker` is a task waker of this run (one thread-local access instead of two,
/// and the same queue order as a wake through the waker).
///
/// # Panics
/// Outside a run.
pub(crate) fn yield_current(waker: &Waker) {
    let queued = with_core("sim::task::yield_now", |core| {
        core.yield_current();
        core.wake_own(std::iter::once(waker))
    });
    if !queued {
        waker.wake_by_ref();
    }
}

/// A scheduling point of the current task, before an async operation takes effect
/// (see `Core::point`): whether the task must yield first (it is then woken, to run
/// again later). Outside a run there is no point: `false`.
pub(crate) fn point(waker: &Waker) -> bool {
    let (yields, wake) = CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let shared = c.as_ref()?;
            let mut core = shared.core.try_borrow_mut().ok()?;
            Some(core.point_waking(waker))
        })
        .ok()
        .flatten()
        .unwrap_or((false, false));
    if wake {
        waker.wake_by_ref();
    }
    yields
}

/// Whether a handle's `run_id` names the run `current`: handles may keep only the low
/// 32 bits of a run id (wakers and join handles do), so only those are compared.
fn same_run(run_id: u64, current: u64) -> bool {
    run_id as u32 == current as u32
}

/// Like [`with_core`] but for run `run_id` only: `None` outside a run, in another run,
/// or while the thread-local is being torn down.
pub(crate) fn with_run<R>(run_id: u64, f: impl FnOnce(&mut Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let shared = c.as_ref().filter(|s| same_run(run_id, s.run_id))?;
            let mut core = shared.core.try_borrow_mut().ok()?;
            Some(f(&mut core))
        })
        .ok()
        .flatten()
}

/// The task being polled, if inside a run.
pub(crate) fn try_current_task() -> Option<TaskId> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let core = c.as_ref()?.core.try_borrow().ok()?;
            core.current
        })
        .ok()
        .flatten()
}

/// The virtual time and the current task's label, for log lines; `None` outside a run.
pub(crate) fn log_stamp() -> Option<(std::time::Duration, String)> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let core = c.as_ref()?.core.try_borrow().ok()?;
            let label = match core.current {
                Some(id) => match core.task_name(id) {
                    Some(name) => format!("{name}#{id}"),
                    None => format!("#{id}"),
                },
                None => "runtime".to_string(),
            };
            Some((core.now, label))
        })
        .ok()
        .flatten()
}
