//! The run loop: poll what the scheduler picks, advance the clock when nothing is
//! runnable, stop when main returns or a bound, a panic or a deadlock ends the run.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::Stop;
use super::context::Shared;
use super::core::{Next, Turn};
use super::panic;
use super::task_table::Outcome;
use crate::config::UnhandledPanic;
use crate::ids::TaskId;

/// Runs `main` to completion or failure. Every other task lives in the core.
pub(crate) fn run<F: Future>(shared: &Shared, mut main: Pin<&mut F>) -> Result<F::Output, Stop> {
    let mut fired = Vec::new();
    loop {
        let next = shared.core.borrow_mut().next(&mut fired)?;
        match next {
            Next::Fire => fired.drain(..).for_each(Waker::wake),
            Next::Poll(turn) if turn.id == TaskId::MAIN => {
                if let Poll::Ready(out) = poll_main(shared, turn, main.as_mut())? {
                    return Ok(out);
                }
            }
            Next::Poll(turn) => poll_task(shared, turn)?,
        }
    }
}

fn poll_main<F: Future>(
    shared: &Shared,
    turn: Turn,
    main: Pin<&mut F>,
) -> Result<Poll<F::Output>, Stop> {
    let entered = turn.span.as_ref().map(tracing::Span::enter);
    let polled = catch_unwind(AssertUnwindSafe(|| {
        main.poll(&mut Context::from_waker(&turn.waker))
    }));
    drop(entered);
    let mut core = shared.core.borrow_mut();
    core.end_poll(TaskId::MAIN, None);
    match polled {
        Ok(Poll::Ready(out)) => {
            core.finish(TaskId::MAIN, Outcome::Returned, None).finish();
            Ok(Poll::Ready(out))
        }
        Ok(Poll::Pending) => Ok(Poll::Pending),
        Err(payload) => {
            let left = core.finish(TaskId::MAIN, Outcome::Cancelled, None);
            drop(core);
            left.finish();
            Err(panic::stop(TaskId::MAIN, payload))
        }
    }
}

fn poll_task(shared: &Shared, turn: Turn) -> Result<(), Stop> {
    let id = turn.id;
    let mut future = turn
        .future
        .expect("sim internal error: a live task has no future");
    if turn.abort {
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(future)));
        let policy = shared.core.borrow().config.unhandled_panic;
        return match dropped {
            // A destructor that panics while the task is cancelled: under `Ignore`, as
            // tokio's, the panic goes to the JoinHandle (`JoinError::Panic`).
            Err(payload)
                if policy == UnhandledPanic::Ignore && !payload.is::<panic::SharedAcrossRuns>() =>
            {
                panic::take_report(&*payload);
                let left = shared.core.borrow_mut().finish_panicked(id, payload);
                left.finish();
                Ok(())
            }
            dropped => {
                let left = shared
                    .core
                    .borrow_mut()
                    .finish(id, Outcome::Cancelled, None);
                left.finish();
                dropped.map_err(|payload| panic::stop(id, payload))
            }
        };
    }
    let entered = turn.span.as_ref().map(tracing::Span::enter);
    let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&turn.waker)));
    drop(entered);
    let mut core = shared.core.borrow_mut();
    match polled {
        Ok(Poll::Pending) => core.end_poll(id, Some(future)),
        Ok(Poll::Ready(())) => {
            let left = core.finish(id, Outcome::Returned, Some(future));
            drop(core);
            // A detached task's output is dropped here; its destructor may panic.
            catch_unwind(AssertUnwindSafe(|| left.finish()))
                .map_err(|payload| panic::stop(id, payload))?;
        }
        Err(payload) => {
            // A use of another run's primitive fails the run under any policy.
            let shared_across = payload.is::<panic::SharedAcrossRuns>();
            if core.config.unhandled_panic == UnhandledPanic::ShutdownRuntime || shared_across {
                core.end_poll(id, None);
                drop(core);
                let stop = panic::stop(id, payload);
                drop_reporting(shared, id, future);
                return Err(stop);
            }
            panic::take_report(&*payload); // Delivered to the JoinHandle instead.
            let left = core.finish_panicked(id, payload);
            drop(core);
            drop_reporting(shared, id, future);
            left.finish();
        }
    }
    Ok(())
}

/// Drops task `id`'s future (or output); a panic in a destructor is kept for the
/// report (after the failure that ended the run, if any), never lost and never
/// instead of that failure.
pub(crate) fn drop_reporting<T>(shared: &Shared, id: TaskId, value: T) {
    let dropped = catch_unwind(AssertUnwindSafe(move || super::context::drop_as(id, value)));
    if let Err(payload) = dropped {
        shared.core.borrow_mut().drop_panicked(id, &*payload);
    }
}
