//! Blocking sections: [`spawn_blocking`], [`block_in_place`], and the driving of a
//! future inside one (`Handle::block_on`).
//!
//! A run is one thread and starts none, so blocking code cannot run beside the tasks
//! as it does on tokio's blocking pool. Instead a *blocking section* runs the closure
//! to its end inside one poll of one task: no other task runs meanwhile, its
//! scheduling points decide nothing, and it takes no virtual time, unless it sleeps
//! through [`Handle::block_on`](crate::runtime::Handle::block_on), which then moves the
//! clock from timer to timer (firing other tasks' timers on the way, whose tasks run
//! after the section) until the future it drives is done. What the wall clock does
//! (`std::thread::sleep`, real I/O) is invisible to the run.

use std::future::Future;
use std::panic::Location;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::{JoinHandle, spawn_inner};
use crate::runtime::context;

/// Runs `f` as a task of its own (named `blocking`) in a blocking section, and returns
/// its handle (mirrors `tokio::task::spawn_blocking`).
///
/// The task starts runnable, like any; when the scheduler first picks it, `f` runs to
/// its end in one step: no other task runs until it returns, and the virtual clock
/// stands still unless `f` sleeps through
/// [`Handle::block_on`](crate::runtime::Handle::block_on). So what `f` does is atomic
/// for the run, and when it happens relative to the other tasks is the scheduler's
/// choice, as the moment a pool thread gets to it is on tokio. `f` need not be `Send`.
///
/// ```
/// use sim::time::{Duration, Instant, sleep};
/// let mut rt = sim::Builder::new().seed(4).build();
/// rt.block_on(async {
///     let handle = sim::runtime::Handle::current();
///     let start = Instant::now();
///     let sum = sim::task::spawn_blocking(move || {
///         let sum: u64 = (1..=100).sum(); // CPU work: no virtual time
///         handle.block_on(sleep(Duration::from_millis(30))); // a sleep takes its time
///         sum
///     });
///     assert_eq!(sum.await.unwrap(), 5050);
///     assert_eq!(start.elapsed(), Duration::from_millis(30));
/// }).unwrap();
/// ```
///
/// # Panics
/// Outside a simulated run.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + 'static,
    R: 'static,
{
    spawn_blocking_at(f, Location::caller())
}

pub(crate) fn spawn_blocking_at<F, R>(f: F, location: &'static Location<'static>) -> JoinHandle<R>
where
    F: FnOnce() -> R + 'static,
    R: 'static,
{
    spawn_blocking_named(f, Arc::from("blocking"), location)
}

pub(super) fn spawn_blocking_named<F, R>(
    f: F,
    name: Arc<str>,
    location: &'static Location<'static>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + 'static,
    R: 'static,
{
    spawn_inner(Blocking(Some(f)), Some(name), location)
}

/// Runs `f` in a blocking section of the current task, at once, and returns its
/// output (mirrors `tokio::task::block_in_place`): no other task runs until it
/// returns, its scheduling points decide nothing, and the virtual clock moves only if
/// it sleeps through [`Handle::block_on`](crate::runtime::Handle::block_on). Unlike
/// tokio's, it is accepted on the (single-threaded) simulated runtime; outside a run it
/// just calls `f`.
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let n = sim::task::block_in_place(|| {
///         let handle = sim::runtime::Handle::current();
///         handle.block_on(async { sim::task::yield_now().await; 3 })
///     });
///     assert_eq!(n, 3);
/// }).unwrap();
/// ```
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let _section = Section::enter();
    f()
}

/// The future of a `spawn_blocking` task: the closure, run in a section at the first
/// poll.
struct Blocking<F>(Option<F>);

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for Blocking<F> {}

impl<F: FnOnce() -> R, R> Future for Blocking<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("sim internal error: a blocking task polled after it returned");
        Poll::Ready(block_in_place(f))
    }
}

/// The current task is inside a blocking section until this is dropped (sections
/// nest); nothing outside a task.
struct Section {
    /// The run, and whether the task was in a section already.
    entered: Option<(u64, bool)>,
}

impl Section {
    fn enter() -> Section {
        if context::try_current_task().is_none() {
            return Section { entered: None };
        }
        let entered = context::tasks("sim::task::block_in_place", |tasks| {
            (tasks.run_id(), tasks.set_blocking(true))
        });
        Section {
            entered: Some(entered),
        }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if let Some((run_id, was)) = self.entered {
            context::tasks_of_run(run_id, |tasks| tasks.set_blocking(was));
        }
    }
}

/// Whether the current task is inside a blocking section of run `run_id`.
pub(crate) fn in_section(what: &str, run_id: u64) -> bool {
    context::tasks_of(what, run_id, |tasks| tasks.is_blocking())
}

/// Set when the future driven in a section is woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Drives `future` to its end inside a blocking section of run `run_id`: polled
/// whenever woken; when it waits and nothing woke it, the clock jumps to the next
/// timer (nothing else can happen while the section blocks the run).
///
/// # Panics
/// When `future` waits for something only another task could do (no timer is
/// armed), or sleeps past the run's `max_time`.
pub(crate) fn drive<F: Future>(run_id: u64, future: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        flag.0.store(false, Ordering::Relaxed);
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        if flag.0.load(Ordering::Relaxed) {
            continue;
        }
        let (next, fired) = context::clock_of("Handle::block_on", run_id, |clock| {
            let next = clock.next_timer();
            let fired = next.map(|t| clock.jump_to(t)).unwrap_or_default();
            (next.map(|t| (t, clock.now() >= t)), fired)
        });
        fired.into_iter().for_each(Waker::wake); // After the borrow.
        match next {
            Some((_, true)) => {}
            Some((t, false)) => panic!(
                "sim: a blocking section sleeps past the run's max_time (its next timer is at \
                 {})",
                crate::trace::fmt_time(t)
            ),
            None => panic!(
                "sim: Handle::block_on in a blocking section waits for another task, but \
                 a blocking section runs alone in a simulated run (nothing else runs until \
                 it returns; only timers can wake it)"
            ),
        }
    }
}
