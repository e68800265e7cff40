//! The thread-local handle to the run in progress, and the narrow API through which
//! tasks, timers and primitives reach it: each gets its own [facet](super::facets)
//! ([`resources`], [`clock`], [`tasks`], [`user_rng`]), never the core.
//!
//! Architecture invariant: the core is borrowed only for short, non-reentrant
//! sections. No user code runs, no waker is called and no user value is dropped while
//! it is borrowed; such work is returned to the caller and done after the borrow ends.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;

use super::core::Core;
use super::facets::{Clock, Network, Resources, Tasks};
use super::wakeup::{self, Woken};
use crate::ids::TaskId;
use crate::rng::DetRng;

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
    /// The task whose output (or future) is being dropped outside its poll, if any.
    static DROPPING: Cell<Option<TaskId>> = const { Cell::new(None) };
}

/// Drops `value`, a cell of task `task` (its output, or its future), with
/// `sim::task::id()` answering `task` meanwhile, as tokio's does: an output's
/// destructor sees the id of the task that made it, wherever it is dropped (a
/// `JoinHandle` dropped after the task ended, a detached task ending).
pub(crate) fn drop_as<T>(task: TaskId, value: T) {
    struct Restore(Option<TaskId>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DROPPING.try_with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DROPPING.with(|d| d.replace(Some(task))));
    drop(value);
}

/// The task of [`drop_as`] in progress, if any.
pub(crate) fn dropping_task() -> Option<TaskId> {
    DROPPING.try_with(Cell::get).ok().flatten()
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

#[track_caller]
fn outside(what: &str) -> ! {
    panic!(
        "{what} was used outside a sim runtime: call it from code running inside \
         `sim::Runtime::block_on`, `sim::check` or a `#[sim::test]`"
    )
}

/// Runs `f` with the current run's [`Resources`]. `what` names the API for the error
/// message.
///
/// # Panics
/// Outside a run, or when the core is already borrowed (an internal bug).
#[inline]
#[track_caller]
pub(crate) fn resources<R>(what: &str, f: impl FnOnce(Resources<'_>) -> R) -> R {
    with_core_checked(what, None, |core| f(Resources(core)))
}

/// Runs `f` with the [`Resources`] of run `run_id`, which must be the current run.
///
/// # Panics
/// Outside a run, or in another run than `run_id`.
#[track_caller]
pub(crate) fn resources_of<R>(what: &str, run_id: u64, f: impl FnOnce(Resources<'_>) -> R) -> R {
    with_core_checked(what, Some(run_id), |core| f(Resources(core)))
}

/// Runs `f` with the [`Resources`] of run `run_id` if it is the current run: `None`
/// outside a run, in another run, or while the thread-local is torn down (for drop
/// paths, which must not panic).
pub(crate) fn resources_of_run<R>(run_id: u64, f: impl FnOnce(Resources<'_>) -> R) -> Option<R> {
    with_run(run_id, |core| f(Resources(core)))
}

/// Runs `f` with the current run's [`Clock`].
///
/// # Panics
/// Outside a run.
#[track_caller]
pub(crate) fn clock<R>(what: &str, f: impl FnOnce(&mut Clock<'_>) -> R) -> R {
    with_core_checked(what, None, |core| f(&mut Clock(core)))
}

/// Runs `f` with the [`Clock`] of run `run_id`, which must be the current run.
///
/// # Panics
/// Outside a run, or in another run than `run_id`.
#[track_caller]
pub(crate) fn clock_of<R>(what: &str, run_id: u64, f: impl FnOnce(&mut Clock<'_>) -> R) -> R {
    with_core_checked(what, Some(run_id), |core| f(&mut Clock(core)))
}

/// Runs `f` with the [`Clock`] of run `run_id` if it is the current run (for drops).
pub(crate) fn clock_of_run<R>(run_id: u64, f: impl FnOnce(&mut Clock<'_>) -> R) -> Option<R> {
    with_run(run_id, |core| f(&mut Clock(core)))
}

/// Runs `f` with the current run's [`Tasks`].
///
/// # Panics
/// Outside a run.
#[track_caller]
pub(crate) fn tasks<R>(what: &str, f: impl FnOnce(&mut Tasks<'_>) -> R) -> R {
    with_core_checked(what, None, |core| f(&mut Tasks(core)))
}

/// Runs `f` with the [`Tasks`] of run `run_id`, which must be the current run.
///
/// # Panics
/// Outside a run, or in another run than `run_id`.
#[track_caller]
pub(crate) fn tasks_of<R>(what: &str, run_id: u64, f: impl FnOnce(&mut Tasks<'_>) -> R) -> R {
    with_core_checked(what, Some(run_id), |core| f(&mut Tasks(core)))
}

/// Runs `f` with the [`Tasks`] of run `run_id` if it is the current run (for drops).
pub(crate) fn tasks_of_run<R>(run_id: u64, f: impl FnOnce(&mut Tasks<'_>) -> R) -> Option<R> {
    with_run(run_id, |core| f(&mut Tasks(core)))
}

/// Runs `f` with the current run's [`Network`] facet.
///
/// # Panics
/// Outside a run.
#[track_caller]
pub(crate) fn network<R>(what: &str, f: impl FnOnce(&mut Network<'_>) -> R) -> R {
    with_core_checked(what, None, |core| f(&mut Network(core)))
}

/// Runs `f` with the [`Network`] facet of run `run_id` if it is the current run: `None`
/// otherwise (for drop paths, which must not panic).
pub(crate) fn network_of_run<R>(run_id: u64, f: impl FnOnce(&mut Network<'_>) -> R) -> Option<R> {
    with_run(run_id, |core| f(&mut Network(core)))
}

/// Runs `f` with the current run's [`Network`] facet, or returns `None` outside a run
/// (BUGGIFY sites are `false` there).
pub(crate) fn try_network<R>(f: impl FnOnce(&mut Network<'_>) -> R) -> Option<R> {
    with_current(|core| f(&mut Network(core)))
}

/// Runs `f` with the current run's [`Tasks`] facet, or returns `None` outside a run.
pub(crate) fn try_tasks<R>(f: impl FnOnce(&mut Tasks<'_>) -> R) -> Option<R> {
    with_current(|core| f(&mut Tasks(core)))
}

/// Runs `f` with the current run's generator for user code (`sim::rand`).
///
/// # Panics
/// Outside a run.
#[track_caller]
pub(crate) fn user_rng<R>(what: &str, f: impl FnOnce(&mut DetRng) -> R) -> R {
    with_core_checked(what, None, |core| f(core.user_rng()))
}

/// Why [`with_core_checked`] could not run its closure.
enum Refused {
    Outside,
    OtherRun,
}

/// Runs `f` with the current run's core; panics (at the caller of the public API, for
/// a misuse) outside a run or in another run than `run_id`.
#[track_caller]
fn with_core_checked<R>(what: &str, run_id: Option<u64>, f: impl FnOnce(&mut Core) -> R) -> R {
    let ran = CURRENT.with(|c| {
        let c = c.borrow();
        let Some(shared) = c.as_ref() else {
            return Err(Refused::Outside);
        };
        if run_id.is_some_and(|r| !same_run(r, shared.run_id)) {
            return Err(Refused::OtherRun);
        }
        let mut core = shared
            .core
            .try_borrow_mut()
            .unwrap_or_else(|_| panic!("sim internal error: the core was re-entered by {what}"));
        Ok(f(&mut core))
    });
    // The misuse panics here, outside the closure, so that `#[track_caller]` names the
    // user's line (as tokio's panics do).
    match ran {
        Ok(out) => out,
        Err(Refused::Outside) => outside(what),
        Err(Refused::OtherRun) => panic!(
            "{what} belongs to another simulated run: handles cannot cross from one run \
             (seed) to the next"
        ),
    }
}

/// A scheduling point of the current task, before an async operation takes effect
/// (see `Core::point`): whether the task must yield first (it is then woken, to run
/// again later). Outside a run there is no point: `false`.
pub(crate) fn point(waker: &Waker) -> bool {
    let (yields, wake) =
        with_current(|core| core.point_waking(waker, true)).unwrap_or((false, false));
    if wake {
        waker.wake_by_ref();
    }
    yields
}

/// The point of an operation whose `passed` flag this is: asked once, when the
/// operation starts (the flag is then set), not again when it is polled after waiting
/// or yielding. Whether it must yield first.
pub(crate) fn point_once(passed: &mut bool, waker: &Waker) -> bool {
    !std::mem::replace(passed, true) && point(waker)
}

/// Whether a handle's `run_id` names the run `current`: handles may keep only the low
/// 32 bits of a run id (wakers and join handles do), so only those are compared.
fn same_run(run_id: u64, current: u64) -> bool {
    run_id as u32 == current as u32
}

/// `f` on the current run's core: `None` outside a run, while the core is borrowed,
/// or while the thread-local is being torn down.
#[inline]
fn with_current<R>(f: impl FnOnce(&mut Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let mut core = c.as_ref()?.core.try_borrow_mut().ok()?;
            Some(f(&mut core))
        })
        .ok()
        .flatten()
}

/// `f` on the core of run `run_id` only: `None` outside a run, in another run, or
/// while the thread-local is being torn down.
fn with_run<R>(run_id: u64, f: impl FnOnce(&mut Core) -> R) -> Option<R> {
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

/// The id of the run in progress on this thread, if any.
pub(crate) fn current_run_id() -> Option<u64> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|s| s.run_id))
        .ok()
        .flatten()
}

/// The id and the runtime name of the run in progress on this thread, if any.
pub(crate) fn current_run() -> Option<(u64, Option<std::sync::Arc<str>>)> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let shared = c.as_ref()?;
            // The core may be borrowed (a destructor run by the executor): the run is
            // still current, its name unknown there.
            let name = shared
                .core
                .try_borrow()
                .ok()
                .and_then(|core| core.config.name.clone());
            Some((shared.run_id, name))
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
            Some((core.now(), label))
        })
        .ok()
        .flatten()
}
