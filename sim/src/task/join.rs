//! [`JoinHandle`], [`AbortHandle`] and [`JoinError`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::TaskId;
use crate::runtime::context;
use crate::runtime::facets::JoinPoll;

/// An owned permission to await a task's output (mirrors `tokio::task::JoinHandle`).
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task was cancelled or its
/// panic was delivered here ([`UnhandledPanic::Ignore`](crate::UnhandledPanic::Ignore)).
/// Dropping it detaches the task, which runs on.
pub struct JoinHandle<T> {
    id: TaskId,
    /// The low 32 bits of the run's id (the handle stays 8 bytes, as tokio's).
    run_id: u32,
    // The output lives in the run's core, never in the handle.
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(id: TaskId, run_id: u64) -> Self {
        JoinHandle {
            id,
            run_id: run_id as u32,
            _output: PhantomData,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Cancels the task at its next scheduling point: its future is dropped unfinished
    /// and awaiting this handle gives a cancelled [`JoinError`]. No effect on a task
    /// that already finished.
    pub fn abort(&self) {
        abort(self.id, self.run_id)
    }

    /// Whether the task has finished (returned, been cancelled, or panicked).
    pub fn is_finished(&self) -> bool {
        context::tasks_of_run(self.run_id.into(), |tasks| tasks.is_finished(self.id))
            .unwrap_or(true)
    }

    /// Aborts the task if this run is still current (no panic otherwise; for drops).
    pub(crate) fn abort_if_current_run(&self) {
        let id = self.id;
        context::tasks_of_run(self.run_id.into(), |tasks| tasks.abort(id));
    }

    /// A handle that can abort the task without owning its output.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            id: self.id,
            run_id: self.run_id,
        }
    }
}

fn abort(id: TaskId, run_id: u32) {
    context::tasks_of("JoinHandle::abort", run_id.into(), |tasks| tasks.abort(id));
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let polled = context::tasks_of("JoinHandle", self.run_id.into(), |tasks| {
            tasks.poll_join(id, cx.waker())
        });
        Poll::Ready(match polled {
            JoinPoll::Pending { replaced } => {
                drop(replaced); // Outside the core borrow.
                return Poll::Pending;
            }
            JoinPoll::Yield { wake } => {
                if wake {
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
            JoinPoll::Output(mut cell) => {
                let mut out: Option<T> = None;
                cell.as_mut().take_output(&mut out as &mut dyn Any);
                drop(cell);
                Ok(out.expect("sim internal error: finished task without output"))
            }
            JoinPoll::Cancelled => Err(JoinError { id, panic: None }),
            JoinPoll::Panicked(payload) => Err(JoinError {
                id,
                panic: Some(payload),
            }),
        })
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let id = self.id;
        let cell = context::tasks_of_run(self.run_id.into(), |tasks| tasks.detach(id)).flatten();
        if let Some(cell) = cell {
            context::drop_as(id, cell);
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Aborts a task without owning its output (mirrors `tokio::task::AbortHandle`).
#[derive(Clone, Debug)]
pub struct AbortHandle {
    id: TaskId,
    run_id: u32,
}

impl AbortHandle {
    /// See [`JoinHandle::abort`].
    pub fn abort(&self) {
        abort(self.id, self.run_id)
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        context::tasks_of_run(self.run_id.into(), |tasks| tasks.is_finished(self.id))
            .unwrap_or(true)
    }

    /// Aborts the task if this run is still current (no panic otherwise; for drops).
    pub(crate) fn abort_if_current_run(&self) {
        let id = self.id;
        context::tasks_of_run(self.run_id.into(), |tasks| tasks.abort(id));
    }
}

/// A task did not return normally (mirrors `tokio::task::JoinError`).
pub struct JoinError {
    id: TaskId,
    panic: Option<Box<dyn Any + Send>>,
}

impl JoinError {
    /// The task was aborted or dropped unfinished.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The id of the task.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .expect("JoinError::into_panic: the task was cancelled, not panicked")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.panic {
            Some(p) => Ok(p),
            None => Err(self),
        }
    }
}

impl JoinError {
    /// The panic's message, when its payload is a string.
    fn panic_message(&self) -> Option<&str> {
        let p = self.panic.as_ref()?;
        p.downcast_ref::<&str>()
            .copied()
            .or(p.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => write!(f, "task {} was cancelled", self.id),
            (Some(_), Some(msg)) => write!(f, "task {} panicked with message {msg:?}", self.id),
            (Some(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

/// As tokio's: `JoinError::Cancelled(Id(3))`, `JoinError::Panic(Id(3), "message", ...)`.
impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => write!(f, "JoinError::Cancelled(Id({}))", self.id),
            (Some(_), Some(msg)) => write!(f, "JoinError::Panic(Id({}), {msg:?}, ...)", self.id),
            (Some(_), None) => write!(f, "JoinError::Panic(Id({}), ...)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

// As tokio's: a handle names a task of the run; a panic while one is borrowed leaves
// nothing half-changed.
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}
impl std::panic::UnwindSafe for AbortHandle {}
impl std::panic::RefUnwindSafe for AbortHandle {}
