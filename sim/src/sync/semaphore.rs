//! [`Semaphore`], and the crate-private fair semaphore (`Sem`) that [`Mutex`](super::Mutex),
//! [`RwLock`](super::RwLock) and bounded [`mpsc`](super::mpsc) channels are built on.
//!
//! Owns permit accounting, the FIFO waiter list and the list of holders. Permits are
//! handed to the waiter at the front directly (never to a later arrival), so waiters
//! are served strictly in order, as in tokio. It must not call a waker while its state
//! is locked.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Waker};

use super::wait::{Removed, Res, WaitQueue, current_task, lock, wake_all};
use crate::task::TaskId;
use crate::trace::ResourceOp;

/// Permits held by a guard or permit; proof of ownership for the lock cells. Not
/// `Clone`: exactly one owner releases it.
#[derive(Debug)]
pub(crate) struct Hold {
    key: u64,
    n: usize,
    /// The task that acquired it (reports name the holder).
    task: Option<TaskId>,
}

impl Hold {
    pub(crate) fn permits(&self) -> usize {
        self.n
    }

    pub(crate) fn task(&self) -> Option<TaskId> {
        self.task
    }
}

struct SemWait {
    n: usize,
    granted: bool,
}

struct SemState {
    permits: usize,
    closed: bool,
    waiters: WaitQueue<SemWait>,
    /// Who holds permits, for reports: (hold key, task that acquired, permits).
    holders: Vec<(u64, Option<TaskId>, usize)>,
    next_key: u64,
}

impl SemState {
    fn grant(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(w) = self.waiters.front_mut() {
            if w.n > self.permits {
                break;
            }
            self.permits -= w.n;
            w.granted = true;
            wakers.extend(self.waiters.release_front());
        }
    }

    fn hold(&mut self, n: usize) -> Hold {
        let key = self.next_key;
        self.next_key += 1;
        let task = current_task();
        self.holders.push((key, task, n));
        Hold { key, n, task }
    }

    fn unhold(&mut self, key: u64) {
        if let Some(i) = self.holders.iter().position(|h| h.0 == key) {
            self.holders.swap_remove(i);
        }
    }
}

/// A fair counting semaphore without a public face.
pub(crate) struct Sem {
    state: StdMutex<SemState>,
}

impl Sem {
    pub(crate) const fn new(permits: usize) -> Self {
        Sem {
            state: StdMutex::new(SemState {
                permits,
                closed: false,
                waiters: WaitQueue::new(),
                holders: Vec::new(),
                next_key: 0,
            }),
        }
    }

    pub(crate) fn available(&self) -> usize {
        lock(&self.state).permits
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Tasks holding permits, in acquisition order (for reports).
    #[allow(dead_code)]
    pub(crate) fn holders(&self) -> Vec<Option<TaskId>> {
        lock(&self.state).holders.iter().map(|h| h.1).collect()
    }

    /// Takes `n` permits at once if no one waits and enough are free.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<Hold, TryAcquireError> {
        let mut st = lock(&self.state);
        if st.closed {
            return Err(TryAcquireError::Closed);
        }
        if st.waiters.is_empty() && st.permits >= n {
            st.permits -= n;
            Ok(st.hold(n))
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Gives `hold`'s permits back (to the front waiters first).
    pub(crate) fn release(&self, hold: Hold) {
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.state);
            st.unhold(hold.key);
            st.permits += hold.n;
            st.grant(&mut wakers);
        }
        wake_all(wakers);
    }

    /// Adds `n` permits that no hold owns.
    pub(crate) fn add(&self, n: usize) {
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.state);
            st.permits = st
                .permits
                .checked_add(n)
                .expect("sim: semaphore permit count overflowed");
            st.grant(&mut wakers);
        }
        wake_all(wakers);
    }

    /// Forgets `hold` without returning its permits.
    pub(crate) fn forget(&self, hold: Hold) {
        lock(&self.state).unhold(hold.key);
    }

    /// Closes: every waiter fails, later acquires fail. Returns whether it was open.
    pub(crate) fn close(&self) -> bool {
        let mut wakers = Vec::new();
        let was_open = {
            let mut st = lock(&self.state);
            let was_open = !st.closed;
            st.closed = true;
            st.waiters.iter_mut().for_each(|w| w.granted = false);
            st.waiters.release_all(&mut wakers);
            was_open
        };
        wake_all(wakers);
        was_open
    }
}

/// The future of a fair acquisition of `n` permits of a `Sem` (crate-private).
///
/// Records `wait` when it parks, `acquire` when it succeeds unless `quiet`.
pub(crate) struct Acquire<'a> {
    sem: &'a Sem,
    res: &'a Res,
    what: &'static str,
    n: usize,
    quiet: bool,
    waiter: Option<u64>,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(
        sem: &'a Sem,
        res: &'a Res,
        what: &'static str,
        n: usize,
        quiet: bool,
    ) -> Self {
        Acquire {
            sem,
            res,
            what,
            n,
            quiet,
            waiter: None,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<Hold, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.waiter.is_none() {
            this.res.with(this.what, |_, _| ()); // Outside a run: panic before any change.
        }
        let mut st = lock(&this.sem.state);
        let result = match this.waiter {
            Some(id) => match st.waiters.take_released(id) {
                Some(w) => {
                    this.waiter = None;
                    let r = if w.granted {
                        Ok(st.hold(w.n))
                    } else {
                        Err(AcquireError(()))
                    };
                    drop(st);
                    this.res.end_wait(false);
                    r
                }
                None => {
                    st.waiters.set_waker(id, cx.waker());
                    return Poll::Pending;
                }
            },
            None if st.closed => Err(AcquireError(())),
            None if st.waiters.is_empty() && st.permits >= this.n => {
                st.permits -= this.n;
                let hold = st.hold(this.n);
                drop(st);
                Ok(hold)
            }
            None => {
                this.waiter = Some(st.waiters.push(
                    cx.waker(),
                    SemWait {
                        n: this.n,
                        granted: false,
                    },
                ));
                drop(st);
                this.res.begin_wait(this.what);
                return Poll::Pending;
            }
        };
        if let Ok(hold) = &result {
            this.res.hold(hold.task);
            if !this.quiet {
                this.res.event(this.what, ResourceOp::Acquire, this.n);
            }
        }
        Poll::Ready(result)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiter.take() else { return };
        let mut wakers = Vec::new();
        {
            let mut st = lock(&self.sem.state);
            match st.waiters.remove(id) {
                Removed::Released(w) if w.granted => st.permits += w.n,
                Removed::Released(_) | Removed::Waiting(_) | Removed::Gone => {}
            }
            // The front may have changed (or permits come back): serve who can be.
            st.grant(&mut wakers);
        }
        wake_all(wakers);
        self.res.end_wait(true);
    }
}

/// A counting semaphore, as `tokio::sync::Semaphore`: [`acquire`](Self::acquire)
/// waits for permits, dropping the returned permit gives them back.
///
/// Waiters are served in FIFO order: a request for many permits at the front makes
/// later small requests wait too. Outside a run every operation panics except
/// [`available_permits`](Self::available_permits), [`is_closed`](Self::is_closed) and
/// [`close`](Self::close).
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
    res: Res,
    sem: Sem,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    #[track_caller]
    pub const fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "sim: too many permits for a Semaphore"
        );
        Semaphore {
            res: Res::owned("semaphore"),
            sem: Sem::new(permits),
        }
    }

    /// Permits free now.
    pub fn available_permits(&self) -> usize {
        self.sem.available()
    }

    /// Adds `n` permits, serving waiters in order.
    pub fn add_permits(&self, n: usize) {
        self.sem.add(n);
        self.res
            .event("sim::sync::Semaphore::add_permits", ResourceOp::Release, n);
    }

    /// Closes the semaphore: pending and future acquires fail with [`AcquireError`];
    /// permits already held are unaffected.
    pub fn close(&self) {
        if self.sem.close() {
            self.res.event_lenient(ResourceOp::Close, 0);
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    /// Waits for one permit.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits, taken together.
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        let hold = Acquire::new(
            &self.sem,
            &self.res,
            "sim::sync::Semaphore::acquire",
            n as usize,
            false,
        )
        .await?;
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

    fn try_hold(&self, n: usize) -> Result<Hold, TryAcquireError> {
        self.res
            .with("sim::sync::Semaphore::try_acquire", |_, _| ());
        let hold = self.sem.try_acquire(n)?;
        self.res.hold(hold.task);
        self.res
            .event("sim::sync::Semaphore::try_acquire", ResourceOp::Acquire, n);
        Ok(hold)
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
        let hold = Acquire::new(
            &self.sem,
            &self.res,
            "sim::sync::Semaphore::acquire",
            n as usize,
            false,
        )
        .await?;
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

    fn give_back(&self, hold: Hold) {
        let n = hold.n;
        self.res.release(hold.task);
        self.sem.release(hold);
        self.res.event_lenient(ResourceOp::Release, n);
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

impl SemaphorePermit<'_> {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.res.release(h.task);
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
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        if let Some(h) = self.hold.take() {
            self.sem.res.release(h.task);
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
