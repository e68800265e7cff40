//! Crate-private plumbing shared by every primitive: [`Res`], a primitive's identity in
//! the trace of the current run, [`Ctx`], what one operation records through it,
//! [`WaitQueue`], a FIFO list of parked waiters, and [`Wakers`], the wakers an
//! operation collects.
//!
//! An operation reaches the run's core once: [`Res::update`] locks the primitive's
//! state inside one core access, so the state change, its trace events and the
//! detectors' bookkeeping happen together. Nothing here calls a waker while a lock or
//! the core is held: operations collect [`Wakers`], woken after both are released (a
//! waker may run arbitrary code).

use crate::unsafe_parts::{StateGuard, StateLock};
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::task::TaskId;
use crate::trace::{ResourceId, ResourceOp};

/// Locks a primitive's state (no poisoning: state is kept consistent before any panic
/// can happen, and no user code runs under these locks).
#[inline]
pub(crate) fn lock<T>(m: &StateLock<T>) -> StateGuard<'_, T> {
    m.lock()
}

/// A primitive's identity in traces: registered with the run at first use, again in
/// each later run that uses it.
pub(crate) struct Res {
    kind: &'static str,
    created_at: &'static Location<'static>,
    /// Whether tasks hold it (a lock, a semaphore): the deadlock detector then knows
    /// who can end a wait on it.
    owned: bool,
    // Invariant: 0, or `pack(run, id)`: the id is valid in that run only. One atomic
    // word, so the pair is read and written together without a lock.
    reg: AtomicU64,
}

/// Bits of the packed registration that hold the resource id (+1, so 0 means none).
const ID_BITS: u32 = 24;

fn pack(run: u64, id: ResourceId) -> u64 {
    let id = u64::from(id.as_u32()) + 1;
    assert!(
        id < (1 << ID_BITS) && run < (1 << (64 - ID_BITS)),
        "sim: more than {} synchronisation resources in one run (or 2^40 runs in one process)",
        (1u64 << ID_BITS) - 2
    );
    (run << ID_BITS) | id
}

fn unpack(reg: u64) -> Option<(u64, ResourceId)> {
    (reg != 0).then(|| {
        (
            reg >> ID_BITS,
            ResourceId((reg & ((1 << ID_BITS) - 1)) as u32 - 1),
        )
    })
}

impl Res {
    /// A resource without owners (a channel, a `Notify`): anyone may end a wait on it.
    #[track_caller]
    pub(crate) const fn new(kind: &'static str) -> Self {
        Res {
            kind,
            created_at: Location::caller(),
            owned: false,
            reg: AtomicU64::new(0),
        }
    }

    /// A resource that tasks hold (a lock, a semaphore).
    #[track_caller]
    pub(crate) const fn owned(kind: &'static str) -> Self {
        Res {
            kind,
            created_at: Location::caller(),
            owned: true,
            reg: AtomicU64::new(0),
        }
    }

    /// This resource's id in the current run, registering it there at first use.
    #[inline]
    fn id(&self, core: &mut Core) -> ResourceId {
        let run = core.sync.run_id;
        match unpack(self.reg.load(Ordering::Relaxed)) {
            Some((r, id)) if r == run => id,
            _ => self.register(core, run),
        }
    }

    /// Registers this resource in run `run` (first use in that run).
    #[cold]
    fn register(&self, core: &mut Core, run: u64) -> ResourceId {
        let id = core.register_resource(self.kind, None, self.created_at);
        if self.owned {
            core.track_holders(id);
        }
        self.reg.store(pack(run, id), Ordering::Relaxed);
        id
    }

    /// Runs `f` on the current run's core with this resource's id.
    ///
    /// # Panics
    /// Outside a run (the message names `what`).
    pub(crate) fn with<R>(&self, what: &str, f: impl FnOnce(&mut Core, ResourceId) -> R) -> R {
        context::with_core(what, |core| {
            let id = self.id(core);
            f(core, id)
        })
    }

    /// Runs `f` with a context attached to the current run (registering this resource
    /// in it if needed).
    ///
    /// # Panics
    /// Outside a run (the message names `what`), before `f` runs.
    #[inline]
    pub(crate) fn enter<R>(&self, what: &str, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        context::with_core(what, |core| {
            let id = self.id(core);
            f(&mut Ctx {
                at: Some((core, id)),
                owned: self.owned,
            })
        })
    }

    /// Runs `f` with a context attached to the run that last used this resource if it
    /// is still current, or else with a detached one that records nothing: the state
    /// change happens either way (for drop paths, which must not panic).
    #[inline]
    pub(crate) fn enter_lenient<R>(&self, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        let owned = self.owned;
        let mut f = Some(f);
        if let Some((run, id)) = unpack(self.reg.load(Ordering::Relaxed)) {
            let attached = context::with_run(run, |core| {
                let f = f.take().expect("sim internal error: operation ran twice");
                f(&mut Ctx {
                    at: Some((core, id)),
                    owned,
                })
            });
            if let Some(r) = attached {
                return r;
            }
        }
        let f = f.take().expect("sim internal error: operation ran twice");
        f(&mut Ctx { at: None, owned })
    }

    /// One whole operation: runs `f` on `state` (locked) inside [`enter`](Self::enter),
    /// then wakes the wakers `f` collected, once the lock and the core are released.
    ///
    /// # Panics
    /// Outside a run (the message names `what`), before any state change.
    #[inline]
    pub(crate) fn update<S, R>(
        &self,
        what: &str,
        state: &StateLock<S>,
        f: impl FnOnce(&mut S, &mut Ctx<'_>, &mut Wakers) -> R,
    ) -> R {
        let mut wakers = Wakers::default();
        let r = self.enter(what, |cx| f(&mut lock(state), cx, &mut wakers));
        wakers.wake();
        r
    }

    /// Like [`update`](Self::update) inside [`enter_lenient`](Self::enter_lenient):
    /// never panics for want of a run (for drop paths).
    #[inline]
    pub(crate) fn update_lenient<S, R>(
        &self,
        state: &StateLock<S>,
        f: impl FnOnce(&mut S, &mut Ctx<'_>, &mut Wakers) -> R,
    ) -> R {
        let mut wakers = Wakers::default();
        let r = self.enter_lenient(|cx| f(&mut lock(state), cx, &mut wakers));
        wakers.wake();
        r
    }

    /// Records `op` for the current task. Panics outside a run.
    pub(crate) fn event(&self, what: &str, op: ResourceOp, value: usize) {
        self.enter(what, |cx| cx.event(op, value));
    }

    /// Records `op` if the run that last used this resource is still current; does
    /// nothing otherwise (for drop paths, which must not panic).
    pub(crate) fn event_lenient(&self, op: ResourceOp, value: usize) {
        self.enter_lenient(|cx| cx.event(op, value));
    }

    /// The current task starts waiting on this resource.
    pub(crate) fn begin_wait(&self, what: &str) {
        self.enter(what, |cx| cx.begin_wait());
    }

    /// The current task stopped waiting: it got the resource (`cancelled == false`) or
    /// gave up (a dropped future).
    pub(crate) fn end_wait(&self, cancelled: bool) {
        self.enter_lenient(|cx| cx.end_wait(cancelled));
    }
}

/// Whether an async operation has passed its scheduling point: the moment, when the
/// operation is about to complete at once (take a free lock, a buffered message, fail
/// on a closed channel), before it takes effect, where the scheduler may run another
/// task first (see `Core::point`). An operation that must wait has no point: waiting
/// already lets the others run. Every async operation of every primitive asks through
/// [`Ctx::point`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Point {
    passed: bool,
}

impl Point {
    /// A point not passed yet.
    pub(crate) const fn new() -> Self {
        Point { passed: false }
    }

    /// Makes the next operation ask again (for state reused across operations, like
    /// a receiver's).
    pub(crate) fn reset(&mut self) {
        self.passed = false;
    }
}

/// What one operation on a resource records: its trace events and the deadlock
/// detector's bookkeeping, in the run it is attached to. A detached context (a lenient
/// operation outside the run that last used the resource) records nothing.
pub(crate) struct Ctx<'a> {
    at: Option<(&'a mut Core, ResourceId)>,
    owned: bool,
}

impl Ctx<'_> {
    /// Whether this context records into a run.
    pub(crate) fn is_attached(&self) -> bool {
        self.at.is_some()
    }

    /// The task being polled, if any (holders are recorded for reports).
    pub(crate) fn task(&self) -> Option<TaskId> {
        match &self.at {
            Some((core, _)) => core.current,
            None => context::try_current_task(),
        }
    }

    /// The operation's scheduling point (call it when the operation is about to
    /// complete at once), the first time it is asked for `point`:
    /// `true` when the task must yield before the operation takes effect. The task is
    /// then already woken (its waker in `wakers` unless queued directly): return
    /// `Pending` without touching the state; the operation happens at a later poll.
    /// Detached, or once passed: `false`.
    #[inline]
    pub(crate) fn point(&mut self, point: &mut Point, waker: &Waker, wakers: &mut Wakers) -> bool {
        if std::mem::replace(&mut point.passed, true) {
            return false;
        }
        let Some((core, _)) = &mut self.at else {
            return false;
        };
        let (yields, wake) = core.point_waking(waker);
        if wake {
            wakers.push(waker.clone());
        }
        yields
    }

    /// Records `op` for the current task.
    pub(crate) fn event(&mut self, op: ResourceOp, value: usize) {
        if let Some((core, id)) = &mut self.at {
            core.resource_event(*id, op, value as u64);
        }
    }

    /// The current task starts waiting on the resource (see [`super::begin_wait`]).
    pub(crate) fn begin_wait(&mut self) {
        if let Some((core, id)) = &mut self.at {
            super::begin_wait(core, *id);
        }
    }

    /// The current task stopped waiting: it got the resource (`cancelled == false`) or
    /// gave up (see [`super::end_wait`]).
    pub(crate) fn end_wait(&mut self, cancelled: bool) {
        if let Some((core, id)) = &mut self.at {
            super::end_wait(core, *id, cancelled);
        }
    }

    /// `task` now holds the resource (once more), if it is an owned one.
    pub(crate) fn hold(&mut self, task: Option<TaskId>) {
        if let (true, Some((core, id)), Some(task)) = (self.owned, &mut self.at, task) {
            core.hold(*id, task);
        }
    }

    /// `task` released one hold of the resource, if it is an owned one.
    pub(crate) fn release(&mut self, task: Option<TaskId>) {
        if let (true, Some((core, id)), Some(task)) = (self.owned, &mut self.at, task) {
            core.release(*id, task);
        }
    }
}

/// Wakers collected under a lock or the core borrow, to wake in collection order once
/// both are released. Serving no waiter or one allocates nothing.
#[derive(Default)]
#[must_use = "collected wakers must be woken"]
pub(crate) enum Wakers {
    #[default]
    None,
    One(Waker),
    Many(Vec<Waker>),
}

impl Wakers {
    /// Adds a waker after those collected so far.
    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) {
        match self {
            Wakers::None => *self = Wakers::One(waker),
            _ => self.push_more(waker),
        }
    }

    /// [`push`](Self::push) when a waker is already collected (rare: a release that
    /// serves several waiters).
    #[cold]
    fn push_more(&mut self, waker: Waker) {
        *self = match std::mem::take(self) {
            Wakers::None => Wakers::One(waker),
            Wakers::One(first) => Wakers::Many(vec![first, waker]),
            Wakers::Many(mut all) => {
                all.push(waker);
                Wakers::Many(all)
            }
        };
    }

    /// Wakes every waker, in order (call only after releasing every lock and the core).
    #[inline]
    pub(crate) fn wake(self) {
        match self {
            Wakers::None => {}
            Wakers::One(w) => w.wake(),
            Wakers::Many(all) => wake_all(all),
        }
    }
}

impl Extend<Waker> for Wakers {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, wakers: I) {
        for w in wakers {
            self.push(w);
        }
    }
}

/// Wakes every waker (call only after releasing every lock).
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// A FIFO list of parked waiters, each with some data `D`, and the waiters released
/// but not yet polled (their future takes its entry back with [`take_released`]).
///
/// [`take_released`]: WaitQueue::take_released
pub(crate) struct WaitQueue<D> {
    next_id: u64,
    waiting: VecDeque<(u64, Waker, D)>,
    released: Vec<(u64, D)>,
}

/// Where a removed waiter was.
pub(crate) enum Removed<D> {
    Waiting(D),
    Released(D),
    Gone,
}

impl<D> WaitQueue<D> {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            next_id: 0,
            waiting: VecDeque::new(),
            released: Vec::new(),
        }
    }

    /// Parks a waiter at the back; returns its id.
    pub(crate) fn push(&mut self, waker: &Waker, data: D) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push_back((id, waker.clone(), data));
        id
    }

    /// Refreshes a parked waiter's waker.
    pub(crate) fn set_waker(&mut self, id: u64, waker: &Waker) {
        if let Some(w) = self.waiting.iter_mut().find(|w| w.0 == id) {
            if !w.1.will_wake(waker) {
                w.1 = waker.clone();
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut D> {
        self.waiting.front_mut().map(|w| &mut w.2)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut D> {
        self.waiting.iter_mut().map(|w| &mut w.2)
    }

    /// Releases the front waiter; returns its waker.
    pub(crate) fn release_front(&mut self) -> Option<Waker> {
        let (id, waker, data) = self.waiting.pop_front()?;
        self.released.push((id, data));
        Some(waker)
    }

    /// Releases every parked waiter, adding their wakers to `wakers`.
    pub(crate) fn release_all(&mut self, wakers: &mut impl Extend<Waker>) {
        while let Some(w) = self.release_front() {
            wakers.extend([w]);
        }
    }

    /// Takes a released waiter's entry, if it was released.
    pub(crate) fn take_released(&mut self, id: u64) -> Option<D> {
        let i = self.released.iter().position(|r| r.0 == id)?;
        Some(self.released.swap_remove(i).1)
    }

    /// Removes a waiter wherever it is.
    pub(crate) fn remove(&mut self, id: u64) -> Removed<D> {
        if let Some(i) = self.waiting.iter().position(|w| w.0 == id) {
            return Removed::Waiting(self.waiting.remove(i).expect("index in range").2);
        }
        match self.take_released(id) {
            Some(d) => Removed::Released(d),
            None => Removed::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_release_and_remove() {
        let mut q = WaitQueue::new();
        let w = Waker::noop();
        let a = q.push(w, 'a');
        let b = q.push(w, 'b');
        let c = q.push(w, 'c');
        assert!(q.release_front().is_some());
        assert_eq!(q.take_released(a), Some('a'));
        assert_eq!(q.take_released(a), None);
        assert!(matches!(q.remove(c), Removed::Waiting('c')));
        assert!(q.release_front().is_some());
        assert!(matches!(q.remove(b), Removed::Released('b')));
        assert!(matches!(q.remove(b), Removed::Gone));
        assert!(q.is_empty());
    }
}
