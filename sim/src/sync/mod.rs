//! Simulated synchronisation primitives and channels, with tokio's names and paths
//! (`sim::sync::Mutex`, `sim::sync::mpsc`, ...) plus asyncio's [`Event`].
//!
//! This module owns the primitives' state and their waiter lists. It reaches the run
//! only through the crate-private context API (record an event, register a resource),
//! once per operation: the state change, its events, the detectors' bookkeeping and
//! the operation's scheduling point happen in one core access (`wait::Res::update`).
//! Every async operation of every primitive (and of the [`queue`](crate::queue)s)
//! runs one protocol, `wait::Op` driven by `wait::Waiter`: the single place where an
//! operation meets the scheduler. It never touches the run queue, never calls or drops
//! a waker while a lock or the core is borrowed, and never decides who runs next.
//!
//! # Scheduling rules
//!
//! - **Scheduling points.** An async operation that can complete at once (a free lock
//!   or permit, a buffered message or a free slot, a set flag or a stored permit, a
//!   closed channel, a finished task) stops at a *scheduling point* just before it
//!   takes effect: the scheduler chooses among the ready tasks and the running one,
//!   and if it chooses another task, the operation has changed nothing; it returns
//!   `Pending` and happens (or waits, if the state changed meanwhile) when its task is
//!   polled again. The choice is recorded in the schedule like any other, so it is
//!   replayed and shrunk. The points are: `lock`, `read`, `write`, `acquire` (and their
//!   `_owned`/`_many` forms), a bounded `send` and `reserve`, `recv` (mpsc, broadcast),
//!   awaiting a [`oneshot::Receiver`] and [`oneshot::Sender::closed`],
//!   [`watch::Receiver::changed`] (and its `Stream`), [`Notify::notified`],
//!   [`Event::wait`], [`Barrier::wait`] of the task that completes a group, the
//!   queues' `get`, `put` and `join`, and awaiting a [`JoinHandle`](crate::task::JoinHandle).
//!   [`watch::Receiver::wait_for`] and [`Condvar::wait_while`] whose condition holds
//!   at once have one point before they return.
//! - **Exactly one per operation, and none after a wait.** An operation that must wait
//!   has no point (waiting already lets the others run), nor has the rest of it once it
//!   is woken: [`Condvar::wait`] always waits, so neither it nor its re-lock has a point.
//!   A receiver used for many receives has one point per receive. Awaiting a
//!   `JoinHandle` follows the same rule: a point when the task is already finished,
//!   none after waiting for it.
//! - **Synchronous operations are not points.** `try_lock`, `try_acquire`, `try_send`,
//!   `try_recv`, an unbounded or a oneshot, broadcast or watch `send`, `notify_one`,
//!   `notify_waiters`, [`Event::set`], the queues' `_nowait` operations, `task_done`,
//!   `shutdown`, dropping a guard or a permit: they take effect at once, with no
//!   decision. The next async operation of the task (or its next wait) is where
//!   another task can run first; to let others in somewhere else, await
//!   [`scheduling_point`](crate::task::scheduling_point) or
//!   [`yield_now`](crate::task::yield_now).
//! - Operations that release or hand over (unlock, send, notify, set) wake the waiters
//!   they serve; the scheduler, not the primitive, chooses which woken task runs next.
//! - Waiters are served first come, first served (FIFO). Locks and semaphores hand
//!   permits directly to the waiter at the front, as tokio does, so a task that
//!   releases and re-acquires cannot barge ahead of a parked waiter.
//! - Every operation records its event (`acquire`/`release`, `send`/`recv`, `notify`,
//!   `set`/`clear`, `put`/`get`, `task-done`, `close`, `pass`); a wait served by a
//!   notification, a `set`, a barrier or a closed channel records `served`. The race
//!   detector derives happens-before edges from these events, so a release-like event
//!   is always recorded by the releasing task before the task it lets through runs.
//! - Every wait records a `wait` event and is announced through one function,
//!   `begin_wait` (called only by the protocol), the hook of the deadlock detector; a
//!   waiting future that is dropped records `wait-cancelled`. Locks and semaphores
//!   report which task holds them (the task that acquired a guard or permit stays its
//!   holder for the detector even if the guard is moved to another task), so a
//!   deadlock report names the holders.
//! - Every waiting future is cancellation safe: dropping it removes its waiter, and
//!   if it had already been handed a permit, a message slot or a notification, that is
//!   passed on to the next waiter.
//!
//! # Outside a run
//!
//! Every operation of every primitive (and of the [`queue`](crate::queue)s) also works
//! outside a run, with tokio's semantics and no bookkeeping: no scheduling point, no
//! event, nothing for the detectors, and real wakers, so a primitive works under
//! `futures::executor::block_on`, on plain threads or in a tokio runtime too. Build and
//! pre-fill channels in setup code or in statics (`Mutex::new` and friends are
//! `const`), then use them in a run: a primitive joins a run's bookkeeping at its first
//! operation there (a channel filled before `block_on` is drained inside it; its trace
//! starts at that first operation).
//!
//! A primitive serves one run at a time, on any thread: at its first operation in a run
//! the run registers it and owns it until the run ends, and the next run to use it
//! registers it afresh (waiters and holders never pass from one run to another, since
//! a run drops every waiting future and guard before it ends). A use from another run
//! while its owner is still running (a `static` primitive used by two tests that
//! `cargo test` runs on parallel threads) cannot be deterministic, so it fails that
//! run, before it touches the primitive, as
//! [`NonDeterminism`](crate::Failure::NonDeterminism) with cause
//! [`SharedAcrossRuns`](crate::NonDeterminismCause::SharedAcrossRuns), saying so and
//! how to fix it: give each run its own primitive (create it inside the test body), or
//! run such tests one at a time (`--test-threads=1`). A use from outside any run while
//! a run on another thread owns the primitive panics with that message. Drops never
//! panic.
//!
//! # Blocking operations
//!
//! The `blocking_*` methods ([`Mutex::blocking_lock`], [`RwLock::blocking_read`],
//! [`RwLock::blocking_write`], [`mpsc::Sender::blocking_send`],
//! [`mpsc::Receiver::blocking_recv`], [`oneshot::Receiver::blocking_recv`], ...) are for
//! synchronous code outside a run, as tokio's are for code outside a runtime: they drive
//! the operation with a small local executor (`futures::executor::block_on`), parking the
//! calling OS thread until the primitive wakes it. Inside a simulated run they never block
//! the simulator's thread: they panic at once with tokio's message ("Cannot block the
//! current thread from within a runtime..."), naming the method; await the async form
//! there.
//!
//! # Differences from tokio
//!
//! - A [`Barrier`] wait dropped while waiting withdraws its arrival.
//! - A [`watch::Receiver`] used as a `Stream` yields changes only, not the value it
//!   starts with.
//! - An operation that could complete at once may let another task run first (its
//!   scheduling point); tokio's yield only when the task's cooperative budget is spent.
//! - [`OnceCell`] and [`SetOnce`] have tokio's API and keep their value in a
//!   `std::sync::OnceLock` (no `unsafe`); a `static` one keeps its value across the seeds
//!   of a `#[sim::test]`.
//! - [`Condvar`] and [`Event`] come from asyncio (`Condition`, `Event`); tokio has no
//!   equivalent.
//! - No mapped guards: `MutexGuard::map`, `RwLockReadGuard::map`,
//!   `RwLockWriteGuard::{map, downgrade_map, try_downgrade_map, into_mapped}` and
//!   `RwLockMappedWriteGuard` are missing (as are `RwLock`'s owned guards). A guard
//!   reaches the value only through the access its permits carry (the cells of
//!   `unsafe_parts`, the one place with `unsafe`), so it cannot keep a projected
//!   reference; project inside the guard's scope instead.
//!   [`RwLockWriteGuard::downgrade`] is there.
//! - [`mpsc::Sender::send_timeout`] measures virtual time: outside a run it works while
//!   a slot is free, and panics if it would have to wait (there is no clock to time
//!   it out).
//! - A [`Notified`] given a place with [`Notified::enable`] in a run counts as a wait
//!   of its task for the deadlock detector until it completes or is dropped.
//! - A [`broadcast`] channel keeps messages every receiver has seen until they are
//!   overwritten or the last receiver is dropped (tokio drops each one once every
//!   receiver has seen it); [`broadcast::Sender::len`] counts as tokio's does.
//! - `Debug` of a [`Mutex`] shows the value or `<locked>`, like tokio's; the holder
//!   shows in deadlock reports, not there.

mod barrier;
mod condvar;
mod event;
mod mutex;
mod notify;
mod once_cell;
mod rwlock;
mod semaphore;
mod set_once;
pub(crate) mod wait;

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

/// Runs `fut` to completion on the calling thread for a `blocking_*` method: outside
/// a run only (with `futures`' local executor, parking the thread until a real waker
/// wakes it); inside a run it panics, as tokio's do inside a runtime.
#[track_caller]
pub(crate) fn block_on_outside_run<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    assert!(
        crate::runtime::context::current_run_id().is_none(),
        "Cannot block the current thread from within a runtime. This happens because a \
         function attempted to block the current thread while the thread is being used to \
         drive asynchronous tasks: {what} was called inside a simulated run (await the \
         async form instead)"
    );
    ::futures::executor::block_on(fut)
}

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use condvar::Condvar;
pub use event::{Event, EventWait};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

/// The named futures of this module, at tokio's path (`tokio::sync::futures`).
pub mod futures {
    pub use super::notify::{Notified, OwnedNotified};
}
