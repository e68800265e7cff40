//! [`timeout`] and [`timeout_at`]: a future raced against a [`Sleep`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::error::Elapsed;
use super::{Instant, Sleep, sleep, sleep_until};

pin_project! {
    /// The future of [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Sleep,
    }
}

/// Runs `future` with a deadline `duration` from now: `Ok(output)`, or `Err(Elapsed)`
/// if the deadline passes first (the future is then dropped). The future is polled
/// before the deadline is checked, as in tokio. A task blocked here is waiting for a
/// deadline, never deadlocked.
///
/// ```
/// use std::time::Duration;
/// let mut rt = sim::Builder::new().build();
/// let r = rt.block_on(async {
///     sim::time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await
/// }).unwrap();
/// assert!(r.is_err());
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: sleep(duration),
    }
}

/// Like [`timeout`], with an absolute deadline.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: sleep_until(deadline),
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// Unwraps the future.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(this.delay).poll(cx).map(|()| Err(Elapsed(())))
    }
}
