//! The type-erased task cell: the spawned future while it runs, its output after.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

/// A spawned future behind a vtable, polled with its own waker (kept in the same
/// allocation, so a poll borrows it instead of cloning it). After `poll` returns
/// `Ready`, the cell holds the output until [`take_output`](RawTask::take_output)
/// moves it out.
pub(crate) trait RawTask {
    fn poll(self: Pin<&mut Self>) -> Poll<()>;
    /// Installs the task's waker (once, at spawn, when the id is known).
    fn set_waker(self: Pin<&mut Self>, waker: Waker);
    /// Moves the output into `out`, which must be an `Option<F::Output>`.
    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any);
}

pub(crate) type BoxTask = Pin<Box<dyn RawTask>>;

pin_project! {
    /// A task: its waker and its stage.
    pub(crate) struct Task<F: Future> {
        waker: Waker,
        #[pin]
        cell: TaskCell<F>,
    }
}

pin_project! {
    #[project = CellProj]
    pub(crate) enum TaskCell<F: Future> {
        Running { #[pin] fut: F },
        Finished { out: Option<F::Output> },
    }
}

impl<F: Future> Task<F> {
    pub(crate) fn new(fut: F) -> Self {
        Task {
            waker: Waker::noop().clone(),
            cell: TaskCell::Running { fut },
        }
    }
}

impl<F: Future> RawTask for Task<F>
where
    F::Output: 'static,
{
    fn poll(self: Pin<&mut Self>) -> Poll<()> {
        let this = self.project();
        let mut cx = Context::from_waker(this.waker);
        let mut cell = this.cell;
        let out = match cell.as_mut().project() {
            CellProj::Running { fut } => match fut.poll(&mut cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return Poll::Pending,
            },
            CellProj::Finished { .. } => return Poll::Ready(()),
        };
        // Drops the finished future in place, releasing what it held right away.
        cell.set(TaskCell::Finished { out: Some(out) });
        Poll::Ready(())
    }

    fn set_waker(self: Pin<&mut Self>, waker: Waker) {
        *self.project().waker = waker;
    }

    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any) {
        if let CellProj::Finished { out: value } = self.project().cell.project() {
            let slot = out
                .downcast_mut::<Option<F::Output>>()
                .expect("sim internal error: JoinHandle output type mismatch");
            *slot = value.take();
        }
    }
}
