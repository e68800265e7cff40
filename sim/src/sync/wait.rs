//! Crate-private plumbing shared by every primitive: [`Res`], a primitive's identity in
//! the trace of the run that owns it (or none: outside a run an operation is detached),
//! [`Ctx`], what one operation records through it, the
//! operation protocol ([`Op`], [`Waiter`], [`Place`]), the places a waiting operation
//! parks in ([`WaitQueue`], a FIFO list, and [`WakerSlot`], one waiter), and
//! [`Wakers`], the wakers an operation collects.
//!
//! An operation reaches the run's core once: [`Res::update`] locks the primitive's
//! state inside one core access, so the state change, its trace events, the
//! detectors' bookkeeping and its scheduling point happen together. Every async
//! operation of every primitive runs the same protocol, [`Res::poll_op`] (and
//! [`Res::cancel_op`] when its future is dropped): this is the one place where an
//! operation meets the scheduler. A primitive only says, through [`Op`], what
//! completing at once means, what to do with what a waiter was handed, and what to
//! pass on when a waiter gives up.
//!
//! Nothing here calls or drops a waker while a lock or the core is held: operations
//! collect [`Wakers`] (to wake, or only to drop), handled after both are released (a
//! waker may run arbitrary code, in its wake or in its drop).

use crate::unsafe_parts::{StateGuard, StateLock};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use std::thread::Thread;

use crate::ids::TaskId;
use crate::runtime::context;
use crate::runtime::facets::{Resources, RunRef};
use crate::trace::{ResourceId, ResourceOp};

/// Locks a primitive's state (no poisoning: state is kept consistent before any panic
/// can happen, and no user code runs under these locks).
#[inline]
pub(crate) fn lock<T>(m: &StateLock<T>) -> StateGuard<'_, T> {
    m.lock()
}

/// A primitive's identity in traces, and its claim on the run using it.
///
/// Outside a run an operation is *detached*: it changes the state and records nothing
/// (tokio's semantics: no scheduling point, real wakers). In a run, the first operation
/// registers the primitive there and *claims* it for that run: the run then owns it
/// until it ends (its `block_on` returns), and a use from another run meanwhile (a
/// primitive shared by tests on parallel threads) panics with a message saying so,
/// before touching the state, instead of mixing the two runs' waiters, holders and
/// trace ids. A detached operation while a run on another thread owns the primitive
/// panics the same way. Drop paths (`*_lenient`) never panic: they record in the owning
/// run if it is the current one, and are detached otherwise.
pub(crate) struct Res {
    kind: &'static str,
    created_at: &'static Location<'static>,
    /// Whether tasks hold it (a lock, a semaphore): the deadlock detector then knows
    /// who can end a wait on it.
    owned: bool,
    // Invariant: 0, or `pack(run, id)` of the run in `claim`: the id is valid in that
    // run only. One atomic word, so the fast path reads the pair without a lock;
    // written only under `claim`'s lock, and never while the run it names is live.
    reg: AtomicU64,
    /// The run that registered the primitive last (its owner while it is live).
    claim: StateLock<Option<Claim>>,
}

/// The run that registered a primitive, and its thread (for the report of a use from
/// another run).
struct Claim {
    run: RunRef,
    thread: Thread,
}

/// A use of a primitive that another live run owns.
struct Conflict {
    /// The owner's thread.
    thread: Thread,
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
        Self::with_owned(kind, false)
    }

    /// A resource made on behalf of user code at `created_at` (a socket, made inside
    /// an async function that cannot take its caller's location itself).
    pub(crate) fn new_at(kind: &'static str, created_at: &'static Location<'static>) -> Self {
        Res {
            created_at,
            ..Self::new(kind)
        }
    }

    /// A resource that tasks hold (a lock, a semaphore).
    #[track_caller]
    pub(crate) const fn owned(kind: &'static str) -> Self {
        Self::with_owned(kind, true)
    }

    #[track_caller]
    const fn with_owned(kind: &'static str, owned: bool) -> Self {
        Res {
            kind,
            created_at: Location::caller(),
            owned,
            reg: AtomicU64::new(0),
            claim: StateLock::new(None),
        }
    }

    /// Runs `f` with a context attached to the current run if this resource is
    /// registered there (the fast path of every operation); gives `f` back otherwise.
    #[inline(always)]
    fn attached<R, F: FnOnce(&mut Ctx<'_>) -> R>(&self, f: F) -> Result<R, F> {
        let Some((run, id)) = unpack(self.reg.load(Ordering::Relaxed)) else {
            return Err(f);
        };
        let owned = self.owned;
        let mut f = Some(f);
        let done = context::resources_of_run(run, |res| {
            // Handles compare the low 32 bits of run ids; the registration has more.
            if res.run_id() != run {
                return None;
            }
            let f = f.take()?;
            Some(f(&mut Ctx {
                at: Some((res, id)),
                owned,
            }))
        });
        match (done, f) {
            (Some(Some(r)), _) => Ok(r),
            (_, Some(f)) => Err(f),
            (_, None) => unreachable!("sim internal error: an operation ran without a result"),
        }
    }

    /// Registers this resource in the current run and claims it for the run, unless
    /// another live run owns it.
    #[cold]
    fn claim(&self, res: &mut Resources<'_>) -> Result<ResourceId, Conflict> {
        let run = res.run_id();
        let mut claim = self.claim.lock();
        if let Some(c) = claim.as_ref().filter(|c| c.run.is_live()) {
            return Err(Conflict {
                thread: c.thread.clone(),
            });
        }
        let id = res.register(self.kind, None, self.created_at, self.owned);
        *claim = Some(Claim {
            run: res.run_ref(),
            thread: std::thread::current(),
        });
        self.reg.store(pack(run, id), Ordering::Relaxed);
        Ok(id)
    }

    /// Before a detached operation: whether a live run on another thread owns this
    /// resource (a claim of a run that is over is dropped).
    fn owned_elsewhere(&self) -> Option<Conflict> {
        if self.reg.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut claim = self.claim.lock();
        match claim.as_ref() {
            Some(c) if c.run.is_live() => {
                // A run ending on this thread (its core being dropped) is not another's.
                (c.thread.id() != std::thread::current().id()).then(|| Conflict {
                    thread: c.thread.clone(),
                })
            }
            _ => {
                *claim = None;
                self.reg.store(0, Ordering::Relaxed);
                None
            }
        }
    }

    /// Panics for `conflict`: the use `what` of this resource while another live run
    /// owns it (from a run if `in_run`, else from outside any run).
    #[cold]
    #[inline(never)]
    fn shared_across_runs(&self, what: &str, conflict: &Conflict, in_run: bool) -> ! {
        let name = |t: &Thread| match t.name() {
            Some(name) => format!("`{name}`"),
            None => format!("{:?}", t.id()),
        };
        let here = std::thread::current();
        let who = if in_run {
            "two simulated runs at once"
        } else {
            "a simulated run and code outside any run at once"
        };
        let message = format!(
            "sim: the {kind} created at {at} is used by {who} (on threads {owner} and \
             {here}, by `{what}` on the latter): a primitive serves one run at a time, so \
             each run needs its own (create it inside the test body rather than in a \
             static), or run these tests one at a time (`cargo test -- --test-threads=1`). \
             This depends on which tests run at the same time: a reproduce command may \
             pass alone.",
            kind = self.kind,
            at = self.created_at,
            owner = name(&conflict.thread),
            here = name(&here),
        );
        if in_run {
            // The run fails as non-deterministic (its environment, not its schedule).
            std::panic::panic_any(crate::runtime::SharedAcrossRuns(message))
        }
        panic!("{message}")
    }

    /// Runs `f` with the current run's [`Resources`] and this resource's id there
    /// (claiming it for the run at its first use): for resources that exist only
    /// inside a run (the network's sockets).
    ///
    /// # Panics
    /// Outside a run (the message names `what`), or if another live run owns it.
    pub(crate) fn with<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Resources<'_>, ResourceId) -> R,
    ) -> R {
        if context::try_current_task().is_none() {
            // The run's own check, with its message naming `what`.
            return context::resources(what, |_| unreachable!("outside a run"));
        }
        self.enter(what, |cx| match cx.at.as_mut() {
            Some((res, id)) => f(res, *id),
            None => unreachable!("sim internal error: an attached context without a run"),
        })
    }

    /// Runs `f` with a context for one operation: attached to the current run
    /// (registering and claiming this resource there at its first use), or detached
    /// outside any run.
    ///
    /// # Panics
    /// Before `f` runs, if another live run owns the resource (the message names
    /// `what`).
    #[inline]
    pub(crate) fn enter<R>(&self, what: &str, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        match self.attached(f) {
            Ok(r) => r,
            Err(f) => self.enter_cold(what, f),
        }
    }

    /// [`enter`](Self::enter) when the resource is not registered in the current run.
    #[cold]
    #[inline(never)]
    fn enter_cold<R>(&self, what: &str, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        let owned = self.owned;
        if context::try_current_task().is_some() {
            let claimed = context::resources(what, |mut res| match self.claim(&mut res) {
                Ok(id) => Ok(f(&mut Ctx {
                    at: Some((res, id)),
                    owned,
                })),
                // `f` may own a user value (a message): dropped outside the core.
                Err(conflict) => Err((conflict, f)),
            });
            return match claimed {
                Ok(r) => r,
                Err((conflict, f)) => {
                    drop(f);
                    self.shared_across_runs(what, &conflict, true)
                }
            };
        }
        if let Some(c) = self.owned_elsewhere() {
            self.shared_across_runs(what, &c, false);
        }
        f(&mut Ctx { at: None, owned })
    }

    /// Runs `f` with a context attached to the current run if this resource is
    /// registered there, or else with a detached one that records nothing: the state
    /// change happens either way (for drop paths, which must not panic).
    #[inline]
    pub(crate) fn enter_lenient<R>(&self, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        let owned = self.owned;
        match self.attached(f) {
            Ok(r) => r,
            Err(f) => f(&mut Ctx { at: None, owned }),
        }
    }

    /// One whole operation: runs `f` on `state` (locked) inside [`enter`](Self::enter),
    /// then wakes the wakers `f` collected, once the lock and the core are released.
    ///
    /// # Panics
    /// If another live run owns the resource (see [`enter`](Self::enter)), before any
    /// state change.
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

    /// One poll of the async operation `op` on `state`: the protocol of [`Waiter::poll`]
    /// in one core access ([`update`](Self::update)), waking what it served afterwards.
    ///
    /// # Panics
    /// If another live run owns the resource (see [`enter`](Self::enter)), before any
    /// state change.
    #[inline]
    pub(crate) fn poll_op<S, O: Op<S>>(
        &self,
        what: &str,
        state: &StateLock<S>,
        waiter: &mut Waiter,
        op: &mut O,
        waker: &Waker,
    ) -> Poll<O::Output> {
        let mut wakers = Wakers::default();
        // Two closures with the same body, so the fast path's has one call site and is
        // inlined there (a closure called from the cold paths too would not be).
        let polled =
            match self.attached(|cx| waiter.poll(op, &mut lock(state), cx, waker, &mut wakers)) {
                Ok(polled) => polled,
                Err(_fast) => {
                    // `_fast` holds only borrows: they end here.
                    self.enter_cold(what, |cx| {
                        waiter.poll(op, &mut lock(state), cx, waker, &mut wakers)
                    })
                }
            };
        wakers.wake();
        polled
    }

    /// The future of `op` is dropped: [`Waiter::cancel`] in one lenient core access
    /// (none if it is not parked).
    #[inline]
    pub(crate) fn cancel_op<S, O: Op<S>>(
        &self,
        state: &StateLock<S>,
        waiter: &mut Waiter,
        op: &mut O,
    ) {
        waiter.point.reset();
        if waiter.is_parked() {
            self.update_lenient(state, |st, cx, wakers| waiter.cancel(op, st, cx, wakers));
        }
    }

    /// The scheduling point of an operation that completes at once on a condition the
    /// caller checked outside the core (user code: a predicate on a guarded value). The
    /// future resolves to whether the task yielded first: then check again, the others
    /// ran meanwhile. Once `point` is passed it resolves to `false` at once (and
    /// always outside a run).
    ///
    /// # Panics
    /// If another live run owns the resource (see [`enter`](Self::enter)).
    pub(crate) fn point<'a>(&'a self, what: &'static str, point: &'a mut Point) -> AtPoint<'a> {
        AtPoint {
            res: self,
            what,
            point,
            yielded: false,
        }
    }
}

/// The future of [`Res::point`].
pub(crate) struct AtPoint<'a> {
    res: &'a Res,
    what: &'static str,
    point: &'a mut Point,
    yielded: bool,
}

impl Future for AtPoint<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        if this.yielded {
            return Poll::Ready(true);
        }
        if this.point.passed {
            return Poll::Ready(false);
        }
        let mut wakers = Wakers::default();
        let point = &mut *this.point;
        let yields = this
            .res
            .enter(this.what, |ctx| ctx.point(point, cx.waker(), &mut wakers));
        wakers.wake();
        this.yielded = yields;
        if yields {
            Poll::Pending
        } else {
            Poll::Ready(false)
        }
    }
}

/// Whether an async operation has passed its scheduling point: the moment, when the
/// operation is about to complete at once (take a free lock, a buffered message, fail
/// on a closed channel), before it takes effect, where the scheduler may run another
/// task first (see `Core::point`). An operation that must wait has no point: waiting
/// already lets the others run. Only the protocol asks it ([`Waiter::poll`],
/// [`Res::point`]).
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

    /// Marks the point passed without asking: the operation waits (waiting already
    /// lets the others run), or it is part of a larger one that has its own point.
    pub(crate) fn pass(&mut self) {
        self.passed = true;
    }
}

/// What one operation on a resource records: its trace events and the deadlock
/// detector's bookkeeping, in the run it is attached to. A detached context (a lenient
/// operation outside the run that last used the resource) records nothing.
pub(crate) struct Ctx<'a> {
    at: Option<(Resources<'a>, ResourceId)>,
    owned: bool,
}

impl Ctx<'_> {
    /// The task being polled, if any (holders are recorded for reports).
    #[inline]
    pub(crate) fn task(&self) -> Option<TaskId> {
        match &self.at {
            Some((res, _)) => res.current(),
            None => context::try_current_task(),
        }
    }

    /// The operation's scheduling point (asked only by the protocol, when the operation
    /// is about to complete at once), the first time it is asked for `point`:
    /// `true` when the task must yield before the operation takes effect. The task is
    /// then already woken (its waker in `wakers` unless queued directly): return
    /// `Pending` without touching the state; the operation happens at a later poll.
    /// Detached, or once passed: `false`.
    #[inline(always)] // Its fast path is a few compares; a call would double it.
    fn point(&mut self, point: &mut Point, waker: &Waker, wakers: &mut Wakers) -> bool {
        if std::mem::replace(&mut point.passed, true) {
            return false;
        }
        let Some((res, _)) = &mut self.at else {
            return false;
        };
        let (yields, wake) = res.point(waker);
        if wake {
            wakers.push(waker.clone());
        }
        yields
    }

    /// Records `op` for the current task.
    pub(crate) fn event(&mut self, op: ResourceOp, value: usize) {
        if let Some((res, id)) = &mut self.at {
            res.event(*id, op, value as u64);
        }
    }

    /// The current task starts waiting on the resource: records `wait` and feeds the
    /// deadlock detector's wait-for graph. Every wait of every primitive comes here.
    #[inline]
    fn begin_wait(&mut self) {
        if let Some((res, id)) = &mut self.at {
            res.begin_wait(*id);
        }
    }

    /// The current task stopped waiting: it got the resource (`cancelled == false`) or
    /// gave up (its waiting future was dropped: records `wait-cancelled`).
    #[inline]
    fn end_wait(&mut self, cancelled: bool) {
        if let Some((res, id)) = &mut self.at {
            res.end_wait(*id, cancelled);
        }
    }

    /// `task` now holds the resource (once more), if it is an owned one.
    #[inline]
    pub(crate) fn hold(&mut self, task: Option<TaskId>) {
        if let (true, Some((res, id)), Some(task)) = (self.owned, &mut self.at, task) {
            res.hold(*id, task);
        }
    }

    /// `task` released one hold of the resource, if it is an owned one.
    #[inline]
    pub(crate) fn release(&mut self, task: Option<TaskId>) {
        if let (true, Some((res, id)), Some(task)) = (self.owned, &mut self.at, task) {
            res.release(*id, task);
        }
    }
}

/// The async operation protocol: what one kind of operation on a primitive whose
/// state is `S` decides for itself. [`Waiter::poll`] and [`Waiter::cancel`] run the
/// rest, the same way for every primitive:
///
/// - an operation that completes at once ([`now`](Self::now)) first passes its
///   scheduling point ([`Ctx::point`]), then [`complete`](Self::complete)s; if the
///   scheduler runs another task first, nothing has changed and the operation happens
///   at a later poll;
/// - an operation that must wait [`park`](Self::park)s in its [`Place`] and records
///   `wait` (`begin_wait`, the deadlock detector's hook); it has no point (waiting
///   already lets the others run);
/// - a parked operation polled again takes what it was [`released`](Self::released)
///   with (or refreshes its waker) and ends its wait;
/// - a parked operation dropped is removed, records `wait-cancelled`, and passes on
///   what it had been handed ([`cancelled`](Self::cancelled)).
///
/// Every hook runs inside the operation's one core access, under the primitive's lock:
/// none may call user code, wake or drop a waker (collect it in [`Wakers`]).
pub(crate) trait Op<S> {
    /// Where the operation waits.
    type Place: Place;
    /// What the operation returns.
    type Output;

    /// Its place in `st`.
    fn place(st: &mut S) -> &mut Self::Place;

    /// Whether it completes at once (changing nothing: its point comes first).
    fn now(&self, st: &S) -> bool;

    /// Completes at once (called only right after [`now`](Self::now) said so), with
    /// its events.
    fn complete(&mut self, st: &mut S, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Self::Output;

    /// It must wait: the data it parks with, after any state change and event that
    /// parking makes (recorded before `wait`).
    fn park(&mut self, st: &mut S, cx: &mut Ctx<'_>) -> PlaceData<Self::Place>;

    /// It was released with `data`: its result, or `None` to look again (asyncio's
    /// queues, a receiver whose message another operation may have taken): it then
    /// completes (without a point: it waited) or parks again. The default looks again.
    fn released(
        &mut self,
        _st: &mut S,
        _data: PlaceData<Self::Place>,
        _cx: &mut Ctx<'_>,
        _wakers: &mut Wakers,
    ) -> Option<Self::Output> {
        None
    }

    /// It is dropped while parked (`Waiting`) or released but not polled since
    /// (`Released`, with what it was handed): undo what parking did, pass on what it
    /// was handed. The default does nothing.
    fn cancelled(
        &mut self,
        _st: &mut S,
        _removed: Removed<PlaceData<Self::Place>>,
        _cx: &mut Ctx<'_>,
        _wakers: &mut Wakers,
    ) {
    }
}

/// The data a waiter parks with in place `P`.
pub(crate) type PlaceData<P> = <P as Place>::Data;

/// Where a waiting operation parks: a [`WaitQueue`] (FIFO, releasers hand data over) or
/// a [`WakerSlot`] (one waiter). A released waiter is woken; its next poll finds it
/// released.
pub(crate) trait Place {
    /// What a waiter carries.
    type Data;

    /// Parks a waiter with `data`; returns its key.
    fn park(&mut self, waker: &Waker, data: Self::Data, wakers: &mut Wakers) -> u64;

    /// Takes the waiter `key`'s data if it was released; otherwise refreshes its waker
    /// (an old one goes to `wakers` to be dropped) and returns `None`.
    fn released(&mut self, key: u64, waker: &Waker, wakers: &mut Wakers) -> Option<Self::Data>;

    /// Removes the waiter `key` wherever it is (its waker goes to `wakers`).
    fn remove(&mut self, key: u64, wakers: &mut Wakers) -> Removed<Self::Data>;
}

/// One async operation's progress through the [`Op`] protocol: its scheduling point
/// and its place while parked. A future holds one per operation; a receiver reused
/// for many receives holds one that starts afresh after each completed receive.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    point: Point,
    /// Its key in its place while parked (a `wait` is then recorded and not ended).
    key: Option<u64>,
}

impl Waiter {
    /// A waiter that has not started.
    pub(crate) const fn new() -> Self {
        Waiter {
            point: Point::new(),
            key: None,
        }
    }

    /// Whether it is parked (released or not): dropping it must cancel.
    pub(crate) fn is_parked(&self) -> bool {
        self.key.is_some()
    }

    /// Marks the next completion's point passed (an operation that is part of a larger
    /// one with its own point).
    pub(crate) fn pass_point(&mut self) {
        self.point.pass();
    }

    /// One poll of `op` (inside one core access, under the lock of `st`); see [`Op`].
    /// Always inlined: [`Res::poll_op`] calls it from its fast path and its cold one.
    #[inline(always)]
    pub(crate) fn poll<S, O: Op<S>>(
        &mut self,
        op: &mut O,
        st: &mut S,
        cx: &mut Ctx<'_>,
        waker: &Waker,
        wakers: &mut Wakers,
    ) -> Poll<O::Output> {
        let waited = match self.key {
            None => false,
            Some(key) => {
                let data = match O::place(st).released(key, waker, wakers) {
                    Some(data) => data,
                    None => return Poll::Pending,
                };
                self.key = None;
                if let Some(out) = op.released(st, data, cx, wakers) {
                    return self.done(cx, true, out);
                }
                true
            }
        };
        if op.now(st) {
            if !waited && cx.point(&mut self.point, waker, wakers) {
                return Poll::Pending;
            }
            let out = op.complete(st, cx, wakers);
            return self.done(cx, waited, out);
        }
        let data = op.park(st, cx);
        self.key = Some(O::place(st).park(waker, data, wakers));
        self.point.pass();
        if !waited {
            cx.begin_wait();
        }
        Poll::Pending
    }

    /// The operation completed: its wait (if any) ends, and the next one starts afresh.
    #[inline]
    fn done<T>(&mut self, cx: &mut Ctx<'_>, waited: bool, out: T) -> Poll<T> {
        if waited {
            cx.end_wait(false);
        }
        self.point.reset();
        Poll::Ready(out)
    }

    /// The operation is dropped (inside one core access, under the lock of `st`): if
    /// parked, it leaves its place, passes on what it was handed and records
    /// `wait-cancelled`. The next operation starts afresh.
    pub(crate) fn cancel<S, O: Op<S>>(
        &mut self,
        op: &mut O,
        st: &mut S,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        self.point.reset();
        let Some(key) = self.key.take() else { return };
        let removed = O::place(st).remove(key, wakers);
        op.cancelled(st, removed, cx, wakers);
        cx.end_wait(true);
    }
}

/// Wakers collected under a lock or the core borrow, to wake in collection order once
/// both are released, and wakers only to drop then (replaced or removed ones: a
/// waker's drop may run code too). Serving no waiter or one allocates nothing.
#[derive(Default)]
#[must_use = "collected wakers must be woken"]
pub(crate) struct Wakers {
    wake: List,
    drop: List,
}

impl Wakers {
    /// Adds a waker to wake after those collected so far.
    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) {
        self.wake.push(waker);
    }

    /// Adds a waker to drop (without waking it) once the lock and the core are released.
    #[inline]
    pub(crate) fn dispose(&mut self, waker: Waker) {
        self.drop.push(waker);
    }

    /// Wakes every waker to wake, in order, then drops the others (call only after
    /// releasing every lock and the core).
    #[inline(always)]
    pub(crate) fn wake(self) {
        let Wakers { wake, drop } = self;
        match wake {
            List::None => {}
            List::One(w) => w.wake(),
            List::Many(all) => wake_all(all),
        }
        if !matches!(drop, List::None) {
            dispose_all(drop);
        }
    }
}

/// Drops disposed wakers (cold: only user wakers replaced or removed).
#[cold]
fn dispose_all(list: List) {
    std::mem::drop(list);
}

impl Extend<Waker> for Wakers {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, wakers: I) {
        for w in wakers {
            self.push(w);
        }
    }
}

/// Zero, one or more wakers; zero or one allocates nothing.
#[derive(Default)]
enum List {
    #[default]
    None,
    One(Waker),
    Many(Vec<Waker>),
}

impl List {
    #[inline]
    fn push(&mut self, waker: Waker) {
        match self {
            List::None => *self = List::One(waker),
            _ => self.push_more(waker),
        }
    }

    /// [`push`](Self::push) when a waker is already collected (rare: a release that
    /// serves several waiters).
    #[cold]
    fn push_more(&mut self, waker: Waker) {
        *self = match std::mem::take(self) {
            List::None => List::One(waker),
            List::One(first) => List::Many(vec![first, waker]),
            List::Many(mut all) => {
                all.push(waker);
                List::Many(all)
            }
        };
    }
}

/// Wakes every waker (call only after releasing every lock).
fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// A FIFO list of parked waiters, each with some data `D`, and the waiters released
/// but not yet polled (their operation takes its entry back through [`Place`]).
pub(crate) struct WaitQueue<D> {
    next_id: u64,
    waiting: VecDeque<(u64, Waker, D)>,
    released: Vec<(u64, D)>,
}

/// Where a removed waiter was.
pub(crate) enum Removed<D> {
    /// Still waiting.
    Waiting(D),
    /// Released (woken) but not polled since: it had been handed something.
    Released(D),
    /// Nowhere (already taken).
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

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub(crate) fn front(&self) -> Option<&D> {
        self.waiting.front().map(|w| &w.2)
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut D> {
        self.waiting.front_mut().map(|w| &mut w.2)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut D> {
        self.waiting.iter_mut().map(|w| &mut w.2)
    }

    /// The data of the waiters released and not yet taken up by their operation.
    pub(crate) fn released_data(&self) -> impl Iterator<Item = &D> {
        self.released.iter().map(|w| &w.1)
    }

    /// Releases the front waiter; returns its waker.
    #[inline]
    pub(crate) fn release_front(&mut self) -> Option<Waker> {
        let (id, waker, data) = self.waiting.pop_front()?;
        self.released.push((id, data));
        Some(waker)
    }

    /// The data of the waiter parked last.
    pub(crate) fn back_mut(&mut self) -> Option<&mut D> {
        self.waiting.back_mut().map(|w| &mut w.2)
    }

    /// Releases the waiter parked last; returns its waker.
    pub(crate) fn release_back(&mut self) -> Option<Waker> {
        let (id, waker, data) = self.waiting.pop_back()?;
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
    #[inline]
    fn take_released(&mut self, id: u64) -> Option<D> {
        let i = self.released.iter().position(|r| r.0 == id)?;
        Some(self.released.swap_remove(i).1)
    }
}

impl<D> Place for WaitQueue<D> {
    type Data = D;

    /// Parks at the back.
    fn park(&mut self, waker: &Waker, data: D, _: &mut Wakers) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push_back((id, waker.clone(), data));
        id
    }

    #[inline(always)] // Called from both copies of `Waiter::poll` (see `Res::poll_op`).
    fn released(&mut self, id: u64, waker: &Waker, wakers: &mut Wakers) -> Option<D> {
        if let Some(d) = self.take_released(id) {
            return Some(d);
        }
        if let Some(w) = self.waiting.iter_mut().find(|w| w.0 == id) {
            if !w.1.will_wake(waker) {
                wakers.dispose(std::mem::replace(&mut w.1, waker.clone()));
            }
        }
        None
    }

    fn remove(&mut self, id: u64, wakers: &mut Wakers) -> Removed<D> {
        if let Some(i) = self.waiting.iter().position(|w| w.0 == id) {
            let (_, waker, data) = self.waiting.remove(i).expect("index in range");
            wakers.dispose(waker);
            return Removed::Waiting(data);
        }
        match self.take_released(id) {
            Some(d) => Removed::Released(d),
            None => Removed::Gone,
        }
    }
}

/// The place of a primitive's one possible waiter (a channel's receiver, a oneshot
/// sender waiting for `closed`): its waker while parked. Releasing takes the waker;
/// a released waiter re-checks the state (its [`Op::released`] says `None`).
#[derive(Debug, Default)]
pub(crate) struct WakerSlot(Option<Waker>);

impl WakerSlot {
    /// No waiter.
    pub(crate) const fn new() -> Self {
        WakerSlot(None)
    }

    /// Releases the waiter, if one is parked: its waker, to wake.
    pub(crate) fn release(&mut self) -> Option<Waker> {
        self.0.take()
    }
}

impl Place for WakerSlot {
    type Data = ();

    fn park(&mut self, waker: &Waker, (): (), wakers: &mut Wakers) -> u64 {
        if let Some(old) = self.0.replace(waker.clone()) {
            wakers.dispose(old);
        }
        0
    }

    fn released(&mut self, _: u64, waker: &Waker, wakers: &mut Wakers) -> Option<()> {
        match &mut self.0 {
            None => Some(()),
            Some(w) => {
                if !w.will_wake(waker) {
                    wakers.dispose(std::mem::replace(w, waker.clone()));
                }
                None
            }
        }
    }

    fn remove(&mut self, _: u64, wakers: &mut Wakers) -> Removed<()> {
        match self.0.take() {
            Some(w) => {
                wakers.dispose(w);
                Removed::Waiting(())
            }
            None => Removed::Released(()),
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
        let mut ws = Wakers::default();
        let a = q.park(w, 'a', &mut ws);
        let b = q.park(w, 'b', &mut ws);
        let c = q.park(w, 'c', &mut ws);
        assert_eq!(q.released(a, w, &mut ws), None);
        assert!(q.release_front().is_some());
        assert_eq!(q.released(a, w, &mut ws), Some('a'));
        assert_eq!(q.released(a, w, &mut ws), None);
        assert!(matches!(q.remove(c, &mut ws), Removed::Waiting('c')));
        assert!(q.release_front().is_some());
        assert!(matches!(q.remove(b, &mut ws), Removed::Released('b')));
        assert!(matches!(q.remove(b, &mut ws), Removed::Gone));
        assert!(q.is_empty());
        ws.wake();
    }

    #[test]
    fn a_slot_is_released_by_taking_its_waker() {
        let mut slot = WakerSlot::new();
        let w = Waker::noop();
        let mut ws = Wakers::default();
        let key = slot.park(w, (), &mut ws);
        assert_eq!(slot.released(key, w, &mut ws), None);
        assert!(slot.release().is_some());
        assert_eq!(slot.released(key, w, &mut ws), Some(()));
        slot.park(w, (), &mut ws);
        assert!(matches!(slot.remove(key, &mut ws), Removed::Waiting(())));
        assert!(matches!(slot.remove(key, &mut ws), Removed::Released(())));
        ws.wake();
    }

    #[test]
    fn replaced_and_removed_wakers_are_dropped_only_after_the_operation() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Counted(Arc<AtomicUsize>);
        impl std::task::Wake for Counted {
            fn wake(self: Arc<Self>) {}
        }
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let user = Waker::from(Arc::new(Counted(dropped.clone())));
        let mut q = WaitQueue::new();
        let mut ws = Wakers::default();
        let id = q.park(&user, (), &mut ws);
        drop(user);
        assert_eq!(q.released(id, Waker::noop(), &mut ws), None);
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "dropped under the lock");
        ws.wake();
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }
}
