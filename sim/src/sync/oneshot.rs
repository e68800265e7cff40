//! A one-shot channel, as `tokio::sync::oneshot`: one value from one sender to one
//! receiver.
//!
//! Owns the value slot and both halves' wakers. It must not wake a task or drop the
//! value while its state is locked.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll, Waker};

use super::wait::{Res, lock};
use crate::trace::ResourceOp;

/// Errors of this module.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// [`Receiver::try_recv`](super::Receiver::try_recv) found no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Not sent yet.
        Empty,
        /// The sender was dropped without sending (or the value was taken).
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "channel empty",
                TryRecvError::Closed => "channel closed",
            })
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct State<T> {
    value: Option<T>,
    tx_gone: bool,
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

struct Inner<T> {
    res: Res,
    state: StateLock<State<T>>,
}

/// A one-shot channel.
///
/// ```
/// use sim::sync::oneshot;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let (tx, rx) = oneshot::channel();
///     sim::spawn(async move { tx.send(7).unwrap() });
///     assert_eq!(rx.await, Ok(7));
///
///     let (tx, rx) = oneshot::channel::<u8>();
///     drop(tx);
///     assert!(rx.await.is_err()); // the sender is gone
/// }).unwrap();
/// ```
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        res: Res::new("oneshot"),
        state: StateLock::new(State {
            value: None,
            tx_gone: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: inner.clone(),
            waiting: false,
        },
        Receiver {
            inner,
            waiting: false,
        },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
    /// Whether a `wait` (in `closed`) was recorded and not yet ended.
    waiting: bool,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is closed or dropped.
    pub fn send(self, value: T) -> Result<(), T> {
        self.inner
            .res
            .with("sim::sync::oneshot::Sender::send", |_, _| ());
        let waker = {
            let mut st = lock(&self.inner.state);
            if st.rx_closed {
                drop(st);
                return Err(value);
            }
            st.value = Some(value);
            st.rx_waker.take()
        };
        self.inner
            .res
            .event("sim::sync::oneshot::Sender::send", ResourceOp::Send, 1);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.state).rx_closed
    }

    /// Polls for the receiver closing.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let what = "sim::sync::oneshot::Sender::closed";
        self.inner.res.with(what, |_, _| ());
        let mut st = lock(&self.inner.state);
        if st.rx_closed {
            drop(st);
            if std::mem::take(&mut self.waiting) {
                self.inner.res.end_wait(false);
            }
            return Poll::Ready(());
        }
        st.tx_waker = Some(cx.waker().clone());
        drop(st);
        if !std::mem::replace(&mut self.waiting, true) {
            self.inner.res.begin_wait(what);
        }
        Poll::Pending
    }

    /// Waits until the receiver is closed or dropped. Cancellation safe.
    pub async fn closed(&mut self) {
        ClosedFut { tx: self }.await
    }
}

struct ClosedFut<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<T> Future for ClosedFut<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().tx.poll_closed(cx)
    }
}

impl<T> Drop for ClosedFut<'_, T> {
    fn drop(&mut self) {
        if std::mem::take(&mut self.tx.waiting) {
            lock(&self.tx.inner.state).tx_waker = None;
            self.tx.inner.res.end_wait(true);
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.waiting {
            self.inner.res.end_wait(true);
        }
        let waker = {
            let mut st = lock(&self.inner.state);
            st.tx_gone = true;
            st.tx_waker = None;
            st.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Receives the one value: a future of `Result<T, RecvError>`.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    waiting: bool,
}

impl<T> Receiver<T> {
    /// Closes the channel: a later `send` fails; a value already sent stays receivable.
    pub fn close(&mut self) {
        let waker = {
            let mut st = lock(&self.inner.state);
            st.rx_closed = true;
            st.tx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Takes the value if it was sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let what = "sim::sync::oneshot::Receiver::try_recv";
        self.inner.res.with(what, |_, _| ());
        let mut st = lock(&self.inner.state);
        match st.value.take() {
            Some(v) => {
                drop(st);
                self.inner.res.event(what, ResourceOp::Recv, 0);
                Ok(v)
            }
            None if st.tx_gone || st.rx_closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let what = "sim::sync::oneshot::Receiver";
        let this = self.get_mut();
        this.inner.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        let mut st = lock(&this.inner.state);
        let out = match st.value.take() {
            Some(v) => Ok(v),
            None if st.tx_gone || st.rx_closed => Err(RecvError(())),
            None => {
                st.rx_waker = Some(cx.waker().clone());
                drop(st);
                if !this.waiting {
                    this.waiting = true;
                    this.inner.res.begin_wait(what);
                }
                return Poll::Pending;
            }
        };
        drop(st);
        if std::mem::take(&mut this.waiting) {
            this.inner.res.end_wait(false);
        }
        if out.is_ok() {
            this.inner.res.event(what, ResourceOp::Recv, 0);
        } else {
            this.inner.res.with(what, |_, _| ());
        }
        Poll::Ready(out)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.waiting {
            self.inner.res.end_wait(true);
        }
        let (value, waker) = {
            let mut st = lock(&self.inner.state);
            st.rx_closed = true;
            st.rx_waker = None;
            (st.value.take(), st.tx_waker.take())
        };
        drop(value);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
