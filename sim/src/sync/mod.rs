//! Simulated synchronisation primitives and channels, with tokio's names and paths
//! (`sim::sync::Mutex`, `sim::sync::mpsc`, ...) plus asyncio's [`Event`].
//!
//! This module owns the primitives' state and their waiter lists. It reaches the run
//! only through the crate-private context API (record an event, register a resource),
//! once per operation: the state change, its events and the detectors' bookkeeping
//! happen in one core access (`wait::Res::update`). It never touches the run queue,
//! never calls a waker while a lock or the core is borrowed, and never decides who
//! runs next.
//!
//! # Scheduling rules
//!
//! - An operation that can complete at once (a free lock, a non-empty channel) returns
//!   `Ready` on its first poll, as in tokio; the surrounding task still reaches the
//!   scheduler at its next real wait. Operations that release or hand over (unlock,
//!   send, notify, set) wake the waiters they serve; the scheduler, not the primitive,
//!   chooses which woken task runs next.
//! - Waiters are served first come, first served (FIFO). Locks and semaphores hand
//!   permits directly to the waiter at the front, as tokio does, so a task that
//!   releases and re-acquires cannot barge ahead of a parked waiter.
//! - Every operation records its event (`acquire`/`release`, `send`/`recv`, `notify`,
//!   `set`/`clear`, `put`/`get`, `task-done`, `close`, `pass`); a wait served by a
//!   notification, a `set`, a barrier or a closed channel records `served`. The race
//!   detector derives happens-before edges from these events, so a release-like event
//!   is always recorded by the releasing task before the task it lets through runs.
//! - Every wait records a `wait` event and is announced through one function,
//!   `begin_wait`, the hook of the deadlock detector; a waiting future that is dropped
//!   records `wait-cancelled`. Locks and semaphores report which task holds them
//!   (the task that acquired a guard or permit stays its holder for the detector even
//!   if the guard is moved to another task), so a deadlock report names the holders.
//! - Every waiting future is cancellation safe: dropping it removes its waiter, and
//!   if it had already been handed a permit, a message slot or a notification, that is
//!   passed on to the next waiter.
//! - Using a primitive outside a run panics with a message naming the operation.
//!   Primitives may be created outside a run (`Mutex::new` and friends are `const`, so
//!   statics work) and used by several runs in turn: each run registers them afresh.
//!
//! # Differences from tokio
//!
//! - A semaphore never assigns part of a request: while a large request waits at the
//!   front, [`Semaphore::available_permits`] may count permits no one can take (tokio
//!   would already have assigned them to that waiter).
//! - A [`Barrier`] wait dropped while waiting withdraws its arrival.
//! - A [`broadcast`] channel keeps exactly `capacity` messages (tokio rounds up to a
//!   power of two), so `Lagged(n)` counts are exact for the capacity given.
//! - A [`watch::Receiver`] used as a `Stream` yields changes only, not the value it
//!   starts with.
//! - [`Condvar`] and [`Event`] come from asyncio (`Condition`, `Event`); tokio has no
//!   equivalent.

mod barrier;
mod condvar;
mod event;
mod mutex;
mod notify;
mod rwlock;
mod semaphore;
pub(crate) mod wait;

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use condvar::Condvar;
pub use event::{Event, EventWait};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub(crate) use semaphore::Hold;
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

use crate::detect::waits::Target;
use crate::runtime::core::Core;
use crate::trace::{ResourceId, ResourceOp};

/// The current task starts waiting on `resource`. Every wait of every primitive goes
/// through here: it records the `wait` event and feeds the deadlock detector's
/// wait-for graph. (Holders of owned resources are reported by `Res::hold` and
/// `Res::release`.)
pub(crate) fn begin_wait(core: &mut Core, resource: ResourceId) {
    core.begin_wait(Target::Resource(resource));
}

/// The current task stopped waiting on `resource`: it was served, or (`cancelled`) its
/// waiting future was dropped. A future is dropped by the task that polled it, except
/// at the end of a run (no current task), when only the event is recorded.
pub(crate) fn end_wait(core: &mut Core, resource: ResourceId, cancelled: bool) {
    match core.current {
        Some(task) => core.end_wait(task, Target::Resource(resource), cancelled),
        None if cancelled => core.resource_event(resource, ResourceOp::WaitCancelled, 0),
        None => {}
    }
}
