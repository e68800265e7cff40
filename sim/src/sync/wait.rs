//! Crate-private plumbing shared by every primitive: [`Res`], a primitive's identity in
//! the trace of the current run, and [`WaitQueue`], a FIFO list of parked waiters.
//!
//! Nothing here calls a waker: release functions hand wakers back to the caller, which
//! wakes them after dropping every lock (a waker may re-enter the runtime).

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex as StdMutex, MutexGuard as StdGuard, PoisonError};
use std::task::Waker;

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::task::TaskId;
use crate::trace::{ResourceId, ResourceOp};

/// Locks a state mutex, ignoring poisoning (state is kept consistent before any panic
/// can happen: no user code runs under these locks).
pub(crate) fn lock<T>(m: &StdMutex<T>) -> StdGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

    fn id(&self, core: &mut Core) -> ResourceId {
        let run = core.sync.run_id;
        match unpack(self.reg.load(Ordering::Relaxed)) {
            Some((r, id)) if r == run => id,
            _ => {
                let id = core.register_resource(self.kind, None, self.created_at);
                if self.owned {
                    core.track_holders(id);
                }
                self.reg.store(pack(run, id), Ordering::Relaxed);
                id
            }
        }
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

    /// Records `op` for the current task. Panics outside a run.
    pub(crate) fn event(&self, what: &str, op: ResourceOp, value: usize) {
        self.with(what, |core, id| core.resource_event(id, op, value as u64));
    }

    /// Records `op` if the run that last used this resource is still current; does
    /// nothing otherwise (for drop paths, which must not panic).
    pub(crate) fn event_lenient(&self, op: ResourceOp, value: usize) {
        self.with_lenient(|core, id| core.resource_event(id, op, value as u64));
    }

    /// `task` now holds this resource (once more), if it is an owned one.
    pub(crate) fn hold(&self, task: Option<TaskId>) {
        if let (true, Some(task)) = (self.owned, task) {
            self.with_lenient(|core, id| core.hold(id, task));
        }
    }

    /// `task` released one hold of this resource, if it is an owned one.
    pub(crate) fn release(&self, task: Option<TaskId>) {
        if let (true, Some(task)) = (self.owned, task) {
            self.with_lenient(|core, id| core.release(id, task));
        }
    }

    /// Runs `f` if the run that last used this resource is still current (for drop
    /// paths, which must not panic).
    fn with_lenient(&self, f: impl FnOnce(&mut Core, ResourceId)) {
        if let Some((run, id)) = unpack(self.reg.load(Ordering::Relaxed)) {
            context::with_run(run, |core| f(core, id));
        }
    }

    /// The current task starts waiting on this resource.
    pub(crate) fn begin_wait(&self, what: &str) {
        self.with(what, super::begin_wait);
    }

    /// The current task stopped waiting: it got the resource (`cancelled == false`) or
    /// gave up (a dropped future).
    pub(crate) fn end_wait(&self, cancelled: bool) {
        self.with_lenient(|core, id| super::end_wait(core, id, cancelled));
    }
}

/// The task being polled, if any (holders are recorded for reports).
pub(crate) fn current_task() -> Option<TaskId> {
    context::try_current_task()
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
    pub(crate) fn release_all(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(w) = self.release_front() {
            wakers.push(w);
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
