//! [`Semaphore`], the permit accounting of fair semaphores (`Permits`), and the
//! crate-private semaphore (`Sem`) that [`Mutex`](super::Mutex) and
//! [`RwLock`](super::RwLock) are built on; a bounded [`mpsc`](super::mpsc) channel keeps
//! its free slots in a `Permits` of its own state.
//!
//! Owns permit accounting and the FIFO waiter list. Permits are
//! assigned to the waiter at the front directly as they come (never to a later
//! arrival; one that wants several collects them, and gives them back if it fails or
//! is dropped), so waiters are served strictly in order, as in tokio. Each operation locks the state once,
//! inside one core access that also records its events; it never calls a waker while
//! its state is locked.
//!
//! An acquisition is an operation of the common protocol (`wait::Op`): its scheduling
//! point comes when the permits are free at once (or the semaphore is closed).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, Wakers, lock};
use crate::ids::TaskId;
use crate::trace::ResourceOp;
use crate::unsafe_parts::cells::{Key, Ledger};

/// Permits held by a guard or permit, and the access to the lock's value lent with
/// them. Not `Clone`: exactly one owner releases it.
#[derive(Debug)]
pub(crate) struct Hold {
    n: usize,
    /// The task that acquired it (reports name the holder).
    task: Option<TaskId>,
    /// Access to the value of the lock built on the semaphore (`None` for a plain
    /// `Semaphore`, which guards no value).
    access: Option<Key>,
}

impl Hold {
    /// How many permits it holds.
    pub(crate) fn permits(&self) -> usize {
        self.n
    }

    /// The access lent with the permits (for a lock's guard).
    #[inline]
    pub(crate) fn access(&self) -> &Key {
        self.access
            .as_ref()
            .expect("sim internal error: a lock's permits without access")
    }

    /// The access lent with the permits, to write (for a lock's guard).
    #[inline]
    pub(crate) fn access_mut(&mut self) -> &mut Key {
        self.access
            .as_mut()
            .expect("sim internal error: a lock's permits without access")
    }
}

/// A parked acquisition: how many permits it wants, how many it has been assigned so
/// far (the front waiter takes free permits as they come, as tokio's does: they are
/// out, though not yet held), and whether it got all of them (a waiter released
/// without them was failed by a close, and gives back what it was assigned when its
/// operation takes the failure up or is dropped).
pub(crate) struct SemWait {
    n: usize,
    assigned: usize,
    granted: bool,
}

/// An acquisition failed: the permits are closed.
pub(crate) struct Closed;

/// The permit accounting of a fair semaphore: free permits, FIFO waiters, whether
/// closed. It lives under its owner's lock (a [`Sem`], a bounded channel's state).
pub(crate) struct Permits {
    free: usize,
    /// Invariant: the permits assigned to waiters that have not got all they want
    /// (the front waiter, and released ones a close failed).
    partial: usize,
    closed: bool,
    waiters: WaitQueue<SemWait>,
}

impl Permits {
    /// `permits` free permits, open, nobody waiting.
    pub(crate) const fn new(permits: usize) -> Self {
        Permits {
            free: permits,
            partial: 0,
            closed: false,
            waiters: WaitQueue::new(),
        }
    }

    /// Permits free now (not those assigned to a waiter, as tokio's).
    pub(crate) fn available(&self) -> usize {
        self.free
    }

    /// Permits nobody holds: free, or assigned to a waiter that has not got all it
    /// wants (what traces count as not held).
    #[inline]
    pub(crate) fn unheld(&self) -> usize {
        self.free + self.partial
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether `n` permits can be taken at once (no one waits and enough are free).
    #[inline]
    fn can_take(&self, n: usize) -> bool {
        self.waiters.is_empty() && self.free >= n
    }

    /// Takes `n` permits at once if no one waits and enough are free.
    #[inline]
    pub(crate) fn try_take(&mut self, n: usize) -> bool {
        let ok = self.can_take(n);
        if ok {
            self.free -= n;
        }
        ok
    }

    /// Whether an acquisition of `n` permits not yet parked would complete at once
    /// (taking them, or failing on a close): then it has a scheduling point first.
    #[inline]
    pub(crate) fn completes_at_once(&self, n: usize) -> bool {
        self.closed || self.can_take(n)
    }

    /// Adds `n` permits, serving the front waiters (their wakers go to `wakers`).
    #[inline]
    pub(crate) fn give(&mut self, n: usize, wakers: &mut Wakers) {
        self.free = self
            .free
            .checked_add(n)
            .expect("sim: semaphore permit count overflowed");
        self.grant(wakers);
    }

    /// Assigns free permits to the front waiters, in order: each front waiter takes
    /// what is free up to what it wants, and is released once it has all of it.
    #[inline]
    fn grant(&mut self, wakers: &mut Wakers) {
        while let Some(w) = self.waiters.front_mut() {
            let want = w.n - w.assigned;
            if want > self.free {
                // It collects what is free, and waits for the rest.
                w.assigned += self.free;
                self.partial += self.free;
                self.free = 0;
                break;
            }
            self.free -= want;
            self.partial -= w.assigned;
            w.assigned = w.n;
            w.granted = true;
            wakers.extend(self.waiters.release_front());
        }
    }

    /// Removes up to `n` free permits; returns how many it removed.
    pub(crate) fn forget(&mut self, n: usize) -> usize {
        let k = n.min(self.free);
        self.free -= k;
        k
    }

    /// Permits assigned to waiters: to released ones that have not taken them up yet
    /// (their task has not polled since), and to the front waiter still collecting
    /// them. Still out, as tokio's assigned permits are.
    pub(crate) fn handed(&self) -> usize {
        self.waiters.front().map_or(0, |w| w.assigned)
            + self
                .waiters
                .released_data()
                .map(|w| w.assigned)
                .sum::<usize>()
    }

    /// Closes: every waiter fails, later acquisitions fail. Returns whether it was open.
    pub(crate) fn close(&mut self, wakers: &mut Wakers) -> bool {
        let was_open = !self.closed;
        self.closed = true;
        self.waiters.iter_mut().for_each(|w| w.granted = false);
        self.waiters.release_all(wakers);
        was_open
    }

    /// The waiters, the place of a parked acquisition.
    pub(crate) fn waiters(&mut self) -> &mut WaitQueue<SemWait> {
        &mut self.waiters
    }

    /// An acquisition of `n` permits that must wait parks with this: at the front (no
    /// one waits), it is assigned what is free at once.
    pub(crate) fn park(&mut self, n: usize) -> SemWait {
        let assigned = if self.waiters.is_empty() {
            self.free.min(n)
        } else {
            0
        };
        self.free -= assigned;
        self.partial += assigned;
        SemWait {
            n,
            assigned,
            granted: false,
        }
    }

    /// A released acquisition takes up what it got: `Ok` with all its permits, or the
    /// close that failed it, giving back what it had been assigned.
    #[inline]
    pub(crate) fn take_up(&mut self, w: SemWait, wakers: &mut Wakers) -> Result<(), Closed> {
        if w.granted {
            return Ok(());
        }
        self.failed(w.assigned, wakers);
        Err(Closed)
    }

    /// A waiter a close failed gives back the `assigned` permits it had collected.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, assigned: usize, wakers: &mut Wakers) {
        self.partial -= assigned;
        self.give(assigned, wakers);
    }

    /// Completes an acquisition of `n` permits at once (after
    /// [`completes_at_once`](Self::completes_at_once)): takes them, or fails if closed.
    #[inline]
    pub(crate) fn take_at_once(&mut self, n: usize) -> Result<(), Closed> {
        if self.closed {
            return Err(Closed);
        }
        let took = self.try_take(n);
        debug_assert!(took, "sim internal error: permits taken without being free");
        Ok(())
    }

    /// A parked acquisition is dropped: permits it was already assigned go to the next
    /// waiters (and its leaving may let the new front through).
    #[inline]
    pub(crate) fn cancelled(&mut self, removed: Removed<SemWait>, wakers: &mut Wakers) {
        if let Removed::Waiting(w) | Removed::Released(w) = removed {
            if !w.granted {
                self.partial -= w.assigned;
            }
            self.free += w.assigned;
        }
        self.grant(wakers);
    }
}

/// The event an operation of a [`Sem`] records.
#[derive(Clone, Copy)]
pub(crate) enum Report {
    /// `op` with this value.
    Op(ResourceOp, usize),
    /// `op` with the number of one-permit holders once the operation is done (before
    /// any waiter is served), out of this many permits (an `RwLock`'s readers).
    Holders(ResourceOp, usize),
}

/// A [`Sem`]'s state: its permits and who holds them.
struct SemState {
    permits: Permits,
    /// For a lock's semaphore, how many permits make exclusive access to its value (all
    /// of them); `None` for a plain semaphore.
    exclusive: Option<usize>,
    /// Lends access to the lock's value with the permits (see `unsafe_parts::cells`).
    ledger: Ledger,
}

impl SemState {
    /// `n` permits, just taken, now belong to the current task: records the holder
    /// and `report`.
    #[inline]
    fn hold(&mut self, n: usize, report: Report, cx: &mut Ctx<'_>) -> Hold {
        let task = cx.task();
        cx.hold(task);
        cx.event(report.op(), report.value(self.permits.unheld()));
        let access = self.exclusive.map(|all| {
            if n == all {
                self.ledger.lend_exclusive()
            } else {
                self.ledger.lend_shared()
            }
        });
        Hold { n, task, access }
    }

    /// `hold` is gone (released or forgotten); the access lent with it comes back.
    #[inline]
    fn unhold(&mut self, hold: Hold) {
        if let Some(access) = hold.access {
            self.ledger.take_back(access);
        }
    }
}

impl Report {
    /// The operation recorded.
    fn op(self) -> ResourceOp {
        match self {
            Report::Op(op, _) | Report::Holders(op, _) => op,
        }
    }

    /// The value, given the permits free once the operation is done.
    fn value(self, free: usize) -> usize {
        match self {
            Report::Op(_, value) => value,
            Report::Holders(_, all) => all - free,
        }
    }
}

/// A fair counting semaphore without a public face, with the resource it is in traces
/// (always an owned one: tasks hold its permits).
pub(crate) struct Sem {
    res: Res,
    state: StateLock<SemState>,
}

impl Sem {
    /// `permits` permits of a resource of kind `kind` created by the caller's caller.
    #[track_caller]
    pub(crate) const fn new(kind: &'static str, permits: usize) -> Self {
        Self::with(kind, permits, None)
    }

    /// The `permits` permits of a lock whose value they guard: holding all of them is
    /// exclusive access, fewer shared access (each hold carries its access).
    #[track_caller]
    pub(crate) const fn guarding(kind: &'static str, permits: usize) -> Self {
        Self::with(kind, permits, Some(permits))
    }

    #[track_caller]
    const fn with(kind: &'static str, permits: usize, exclusive: Option<usize>) -> Self {
        Sem {
            res: Res::owned(kind),
            state: StateLock::new(SemState {
                permits: Permits::new(permits),
                exclusive,
                ledger: Ledger::new(),
            }),
        }
    }

    /// Permits free now.
    pub(crate) fn available(&self) -> usize {
        lock(&self.state).permits.available()
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.state).permits.is_closed()
    }

    /// Waits for `n` permits; records `report` once they are taken. `what` names the
    /// operation for the panic when another live run owns the semaphore.
    pub(crate) fn acquire(&self, what: &'static str, n: usize, report: Report) -> Acquire<'_> {
        Acquire {
            sem: self,
            what,
            waiter: Waiter::new(),
            op: AcquireOp { n, report },
        }
    }

    /// Takes `n` permits at once if no one waits and enough are free; records
    /// `report` if it does.
    ///
    /// # Panics
    /// If another live run owns the semaphore (the message names `what`).
    pub(crate) fn try_acquire(
        &self,
        what: &str,
        n: usize,
        report: Report,
    ) -> Result<Hold, TryAcquireError> {
        self.res.update(what, &self.state, |st, cx, _| {
            if st.permits.is_closed() {
                Err(TryAcquireError::Closed)
            } else if st.permits.try_take(n) {
                Ok(st.hold(n, report, cx))
            } else {
                Err(TryAcquireError::NoPermits)
            }
        })
    }

    /// Takes `n` permits for a moment if they are free and no one waits, recording
    /// nothing (a `Debug` peek at a lock's value; give them back with
    /// [`release_quiet`](Self::release_quiet)).
    pub(crate) fn try_hold_quiet(&self, n: usize) -> Option<Hold> {
        let mut st = lock(&self.state);
        if st.permits.is_closed() || !st.permits.try_take(n) {
            return None;
        }
        let exclusive = st.exclusive;
        let access = exclusive.map(|all| {
            if n == all {
                st.ledger.lend_exclusive()
            } else {
                st.ledger.lend_shared()
            }
        });
        Some(Hold {
            n,
            task: None,
            access,
        })
    }

    /// Gives back permits taken by [`try_hold_quiet`](Self::try_hold_quiet).
    pub(crate) fn release_quiet(&self, hold: Hold) {
        let mut wakers = Wakers::default();
        {
            let mut st = lock(&self.state);
            let n = hold.n;
            st.unhold(hold);
            st.permits.give(n, &mut wakers);
        }
        wakers.wake();
    }

    /// Gives `hold`'s permits back (to the front waiters first); records `report`.
    pub(crate) fn release(&self, hold: Hold, report: Report) {
        self.res.update_lenient(&self.state, |st, cx, wakers| {
            let (n, task) = (hold.n, hold.task);
            let value = report.value(st.permits.unheld() + n);
            st.unhold(hold);
            cx.release(task);
            st.permits.give(n, wakers);
            cx.event(report.op(), value);
        });
    }

    /// Turns `hold`, all the permits of a lock (its exclusive access), into one permit
    /// (shared access) without letting anyone take the lock exclusively in between:
    /// records `release` then `acquire` as given, then serves the waiters with the
    /// permits given back (readers queued first get in).
    pub(crate) fn downgrade(&self, mut hold: Hold, release: Report, acquire: Report) -> Hold {
        self.res.update_lenient(&self.state, |st, cx, wakers| {
            let extra = hold.n - 1;
            if let Some(key) = hold.access.take() {
                st.ledger.take_back(key);
            }
            hold.access = Some(st.ledger.lend_shared());
            hold.n = 1;
            cx.event(release.op(), release.value(st.permits.unheld() + extra));
            cx.event(acquire.op(), acquire.value(st.permits.unheld() + extra));
            st.permits.give(extra, wakers);
            hold
        })
    }

    /// Adds `n` permits that no hold owns; records `release`.
    ///
    /// # Panics
    /// If another live run owns the semaphore (the message names `what`).
    pub(crate) fn add(&self, what: &str, n: usize) {
        self.res.update(what, &self.state, |st, cx, wakers| {
            st.permits.give(n, wakers);
            cx.event(ResourceOp::Release, n);
        });
    }

    /// Removes up to `n` free permits for good; returns how many it removed.
    ///
    /// # Panics
    /// If another live run owns the semaphore (the message names `what`).
    pub(crate) fn forget_free(&self, what: &str, n: usize) -> usize {
        self.res
            .update(what, &self.state, |st, _, _| st.permits.forget(n))
    }

    /// Splits `n` permits off `hold` into a hold of their own (of the same task, which
    /// now holds the semaphore once more for the detector). `None` if `hold` has fewer.
    pub(crate) fn split(&self, hold: &mut Hold, n: usize) -> Option<Hold> {
        debug_assert!(
            hold.access.is_none(),
            "sim internal error: split a lock's hold"
        );
        if n > hold.n {
            return None;
        }
        hold.n -= n;
        let task = hold.task;
        self.res.enter_lenient(|cx| cx.hold(task));
        Some(Hold {
            n,
            task,
            access: None,
        })
    }

    /// Moves `other`'s permits into `hold` (one hold fewer for the detector).
    pub(crate) fn merge(&self, hold: &mut Hold, other: Hold) {
        debug_assert!(
            hold.access.is_none(),
            "sim internal error: merged a lock's hold"
        );
        hold.n += other.n;
        self.res.enter_lenient(|cx| cx.release(other.task));
    }

    /// Forgets `hold` without returning its permits.
    pub(crate) fn forget(&self, hold: Hold) {
        self.res.enter_lenient(|cx| {
            cx.release(hold.task);
            lock(&self.state).unhold(hold);
        });
    }

    /// Closes: every waiter fails, later acquires fail; records `close` if it was open.
    pub(crate) fn close(&self) {
        self.res.update_lenient(&self.state, |st, cx, wakers| {
            if st.permits.close(wakers) {
                cx.event(ResourceOp::Close, 0);
            }
        });
    }
}

/// The future of a fair acquisition of `n` permits of a [`Sem`] (crate-private).
///
/// Records `wait` when it parks, then `report` once it holds the permits.
pub(crate) struct Acquire<'a> {
    sem: &'a Sem,
    what: &'static str,
    waiter: Waiter,
    op: AcquireOp,
}

impl Acquire<'_> {
    /// Without a scheduling point: the acquisition is part of an operation that
    /// already waited (a condition variable's re-lock).
    pub(crate) fn after_wait(mut self) -> Self {
        self.waiter.pass_point();
        self
    }
}

/// An acquisition of `n` permits of a [`Sem`], as an operation of the protocol.
struct AcquireOp {
    n: usize,
    report: Report,
}

impl Op<SemState> for AcquireOp {
    type Place = WaitQueue<SemWait>;
    type Output = Result<Hold, AcquireError>;

    fn place(st: &mut SemState) -> &mut WaitQueue<SemWait> {
        st.permits.waiters()
    }

    fn now(&self, st: &SemState) -> bool {
        st.permits.completes_at_once(self.n)
    }

    fn complete(&mut self, st: &mut SemState, cx: &mut Ctx<'_>, _: &mut Wakers) -> Self::Output {
        st.permits
            .take_at_once(self.n)
            .map_err(|Closed| AcquireError(()))?;
        Ok(st.hold(self.n, self.report, cx))
    }

    fn park(&mut self, st: &mut SemState, _: &mut Ctx<'_>) -> SemWait {
        st.permits.park(self.n)
    }

    #[inline]
    fn released(
        &mut self,
        st: &mut SemState,
        w: SemWait,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Option<Self::Output> {
        Some(match st.permits.take_up(w, wakers) {
            Ok(()) => Ok(st.hold(self.n, self.report, cx)),
            Err(Closed) => Err(AcquireError(())),
        })
    }

    fn cancelled(
        &mut self,
        st: &mut SemState,
        removed: Removed<SemWait>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        st.permits.cancelled(removed, wakers);
    }
}

impl Future for Acquire<'_> {
    type Output = Result<Hold, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        sem.res.poll_op(
            this.what,
            &sem.state,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let sem = self.sem;
        sem.res
            .cancel_op(&sem.state, &mut self.waiter, &mut self.op);
    }
}

/// A counting semaphore, as `tokio::sync::Semaphore`: [`acquire`](Self::acquire)
/// waits for permits, dropping the returned permit gives them back.
///
/// Waiters are served in FIFO order: a request for many permits at the front makes
/// later small requests wait too. Every operation also works outside a run (see
/// [the module docs](crate::sync#outside-a-run)).
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::Semaphore;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.try_acquire().unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// }).unwrap();
/// ```
pub struct Semaphore {
    sem: Sem,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` is more than [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub const fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "sim: too many permits for a Semaphore"
        );
        Semaphore {
            sem: Sem::new("semaphore", permits),
        }
    }

    /// A semaphore with `permits` permits, usable in a `static`, as
    /// `tokio::sync::Semaphore::const_new` ([`new`](Self::new) is `const` too).
    ///
    /// ```
    /// use sim::sync::Semaphore;
    /// static LIMIT: Semaphore = Semaphore::const_new(2);
    /// assert_eq!(LIMIT.available_permits(), 2);
    /// ```
    ///
    /// # Panics
    /// If `permits` is more than [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub const fn const_new(permits: usize) -> Self {
        Self::new(permits)
    }

    /// Permits free now.
    pub fn available_permits(&self) -> usize {
        self.sem.available()
    }

    /// Adds `n` permits, serving waiters in order.
    ///
    /// # Panics
    /// If the free permits would then be more than [`MAX_PERMITS`](Self::MAX_PERMITS)
    /// (as tokio).
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        let free = self.sem.available();
        assert!(
            free.checked_add(n)
                .is_some_and(|all| all <= Self::MAX_PERMITS),
            "number of added permits ({n}) would overflow MAX_PERMITS ({})",
            Self::MAX_PERMITS
        );
        self.sem.add("sim::sync::Semaphore::add_permits", n);
    }

    /// Removes up to `n` free permits for good (held ones are not touched); returns
    /// how many it removed, as `tokio::sync::Semaphore::forget_permits`.
    ///
    /// ```
    /// use sim::sync::Semaphore;
    /// let sem = Semaphore::new(3);
    /// let _held = sem.try_acquire().unwrap();
    /// assert_eq!(sem.forget_permits(5), 2); // only the free ones
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.sem
            .forget_free("sim::sync::Semaphore::forget_permits", n)
    }

    /// Closes the semaphore: pending and future acquires fail with [`AcquireError`];
    /// permits already held are unaffected.
    pub fn close(&self) {
        self.sem.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    /// Waits for one permit.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits, taken together. Another task may run first when they are
    /// free (its [scheduling point](crate::sync#scheduling-rules)).
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        let hold = self.acquire_hold(n as usize).await?;
        Ok(SemaphorePermit {
            sem: self,
            hold: Some(hold),
        })
    }

    /// Takes one permit if one is free and no one waits.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and no one waits.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let hold = self.try_hold(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            hold: Some(hold),
        })
    }

    fn acquire_hold(&self, n: usize) -> Acquire<'_> {
        let report = Report::Op(ResourceOp::Acquire, n);
        self.sem.acquire("sim::sync::Semaphore::acquire", n, report)
    }

    fn try_hold(&self, n: usize) -> Result<Hold, TryAcquireError> {
        let report = Report::Op(ResourceOp::Acquire, n);
        self.sem
            .try_acquire("sim::sync::Semaphore::try_acquire", n, report)
    }

    /// Waits for one permit owned by an `Arc` of the semaphore.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits owned by an `Arc` of the semaphore.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let hold = self.acquire_hold(n as usize).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            hold: Some(hold),
        })
    }

    /// Takes one permit owned by an `Arc` of the semaphore, if free.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let hold = self.try_hold(1)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            hold: Some(hold),
        })
    }

    /// Takes `n` permits owned by an `Arc` of the semaphore, if they are free and no
    /// one waits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sim::sync::Semaphore;
    /// let sem = Arc::new(Semaphore::new(3));
    /// let permit = sem.clone().try_acquire_many_owned(2).unwrap();
    /// assert_eq!(permit.num_permits(), 2);
    /// assert!(sem.clone().try_acquire_many_owned(2).is_err());
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let hold = self.try_hold(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            hold: Some(hold),
        })
    }

    /// Waits for one permit, blocking the calling thread, as
    /// `tokio::sync::Semaphore::blocking_acquire`: for synchronous code outside a run
    /// (see [blocking operations](crate::sync#blocking-operations)).
    ///
    /// ```
    /// use sim::sync::Semaphore;
    /// let sem = Semaphore::new(1);
    /// let permit = sem.blocking_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// ```
    ///
    /// # Errors
    /// When the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulated run.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on_outside_run("Semaphore::blocking_acquire", self.acquire())
    }

    /// Waits for `n` permits, blocking the calling thread (outside a run), as
    /// `tokio::sync::Semaphore::blocking_acquire_many`.
    ///
    /// # Errors
    /// When the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulated run.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on_outside_run("Semaphore::blocking_acquire_many", self.acquire_many(n))
    }

    /// Waits for one permit owned by an `Arc` of the semaphore, blocking the calling
    /// thread (outside a run), as `tokio::sync::Semaphore::blocking_acquire_owned`.
    ///
    /// # Errors
    /// When the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulated run.
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on_outside_run("Semaphore::blocking_acquire_owned", self.acquire_owned())
    }

    /// Waits for `n` permits owned by an `Arc` of the semaphore, blocking the calling
    /// thread (outside a run), as `tokio::sync::Semaphore::blocking_acquire_many_owned`.
    ///
    /// # Errors
    /// When the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulated run.
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on_outside_run(
            "Semaphore::blocking_acquire_many_owned",
            self.acquire_many_owned(n),
        )
    }

    fn give_back(&self, hold: Hold) {
        let n = hold.n;
        self.sem.release(hold, Report::Op(ResourceOp::Release, n));
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

/// Permits of a [`Semaphore`], given back when dropped.
#[must_use = "dropping the permit gives it back at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    hold: Option<Hold>,
}

impl<'a> SemaphorePermit<'a> {
    /// The semaphore the permits came from, as
    /// `tokio::sync::SemaphorePermit::semaphore`.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }

    /// Splits `n` permits off into a permit of their own; `None` if this one holds
    /// fewer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sim::sync::Semaphore;
    /// let sem = Arc::new(Semaphore::new(3));
    /// let mut permit = sem.try_acquire_many(3).unwrap();
    /// let one = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), one.num_permits()), (2, 1));
    /// assert!(permit.split(5).is_none());
    /// permit.merge(one);
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let hold = self.hold.as_mut()?;
        let split = self.sem.sem.split(hold, n)?;
        Some(SemaphorePermit {
            sem: self.sem,
            hold: Some(split),
        })
    }

    /// Moves `other`'s permits into this permit.
    ///
    /// # Panics
    /// If the permits belong to different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        let (Some(hold), Some(more)) = (self.hold.as_mut(), other.hold.take()) else {
            return;
        };
        self.sem.sem.merge(hold, more);
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.sem.forget(h);
        }
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.hold.as_ref().map_or(0, Hold::permits)
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.give_back(h);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.num_permits())
            .finish()
    }
}

/// Permits of an `Arc<Semaphore>`, given back when dropped.
#[must_use = "dropping the permit gives it back at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    hold: Option<Hold>,
}

impl OwnedSemaphorePermit {
    /// Splits `n` permits off into a permit of their own; `None` if this one holds
    /// fewer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sim::sync::Semaphore;
    /// let sem = Arc::new(Semaphore::new(3));
    /// let mut permit = sem.clone().try_acquire_many_owned(3).unwrap();
    /// let one = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), one.num_permits()), (2, 1));
    /// assert!(permit.split(5).is_none());
    /// permit.merge(one);
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let hold = self.hold.as_mut()?;
        let split = self.sem.sem.split(hold, n)?;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            hold: Some(split),
        })
    }

    /// Moves `other`'s permits into this permit.
    ///
    /// # Panics
    /// If the permits belong to different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        let (Some(hold), Some(more)) = (self.hold.as_mut(), other.hold.take()) else {
            return;
        };
        self.sem.sem.merge(hold, more);
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.sem.forget(h);
        }
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.hold.as_ref().map_or(0, Hold::permits)
    }

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.give_back(h);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.num_permits())
            .finish()
    }
}

/// [`Semaphore::acquire`] failed: the semaphore is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free (or others wait for them first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "semaphore closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl std::error::Error for TryAcquireError {}
