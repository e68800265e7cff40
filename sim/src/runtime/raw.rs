//! The type-erased task cell: the spawned future while it runs, its output after.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

/// A spawned future behind a vtable. After `poll` returns `Ready`, the cell holds the
/// output until [`take_output`](RawTask::take_output) moves it out.
pub(crate) trait RawTask {
    /// Polls with the task's waker (made from its id: tasks store no waker).
    fn poll(self: Pin<&mut Self>, waker: &Waker) -> Poll<()>;
    /// Moves the output into `out`, which must be an `Option<F::Output>`.
    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any);
}

pub(crate) type BoxTask = Pin<Box<dyn RawTask>>;

pin_project! {
    /// A task: the future while it runs, its output after.
    #[project = CellProj]
    pub(crate) enum Task<F: Future> {
        Running { #[pin] fut: F },
        Finished { out: Option<F::Output> },
    }
}

impl<F: Future> Task<F> {
    pub(crate) fn new(fut: F) -> Self {
        Task::Running { fut }
    }
}

impl<F: Future> RawTask for Task<F>
where
    F::Output: 'static,
{
    fn poll(mut self: Pin<&mut Self>, waker: &Waker) -> Poll<()> {
        let mut cx = Context::from_waker(waker);
        let out = match self.as_mut().project() {
            CellProj::Running { fut } => match fut.poll(&mut cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return Poll::Pending,
            },
            CellProj::Finished { .. } => return Poll::Ready(()),
        };
        // Drops the finished future in place, releasing what it held right away.
        self.set(Task::Finished { out: Some(out) });
        Poll::Ready(())
    }

    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any) {
        if let CellProj::Finished { out: value } = self.project() {
            let slot = out
                .downcast_mut::<Option<F::Output>>()
                .expect("sim internal error: JoinHandle output type mismatch");
            *slot = value.take();
        }
    }
}
