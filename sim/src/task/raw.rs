//! The type-erased task cell: the spawned future while it runs, its output after.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// A spawned future behind a vtable. After `poll` returns `Ready`, the cell holds the
/// output until [`take_output`](RawTask::take_output) moves it out.
pub(crate) trait RawTask {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
    /// Moves the output into `out`, which must be an `Option<F::Output>`.
    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any);
}

pub(crate) type BoxTask = Pin<Box<dyn RawTask>>;

pin_project! {
    #[project = CellProj]
    pub(crate) enum TaskCell<F: Future> {
        Running { #[pin] fut: F },
        Finished { out: Option<F::Output> },
    }
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(fut: F) -> Self {
        TaskCell::Running { fut }
    }
}

impl<F: Future> RawTask for TaskCell<F>
where
    F::Output: 'static,
{
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let out = match self.as_mut().project() {
            CellProj::Running { fut } => match fut.poll(cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return Poll::Pending,
            },
            CellProj::Finished { .. } => return Poll::Ready(()),
        };
        // Drops the finished future in place, releasing what it held right away.
        self.set(TaskCell::Finished { out: Some(out) });
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
