//! A one-shot channel, as `tokio::sync::oneshot`: one value from one sender to one
//! receiver.
//!
//! Owns the value slot and both halves' wakers. It must not wake a task or drop the
//! value while its state is locked.
//!
//! Awaiting the [`Receiver`] and [`Sender::closed`] are operations of the common
//! protocol (`wait::Op`): each has its scheduling point when it completes at once (a
//! value sent, a half gone). [`Sender::send`] is synchronous: no point.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use super::wait::{Ctx, Op, Res, Waiter, WakerSlot, Wakers, lock};
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
    /// The receiver, while it waits for the value.
    rx: WakerSlot,
    /// The sender, while it waits in `closed`.
    tx: WakerSlot,
}

struct Inner<T> {
    res: Res,
    state: StateLock<State<T>>,
}

/// Receiving the value, as an operation of the protocol (released, it looks again).
struct Recv;

impl<T> Op<State<T>> for Recv {
    type Place = WakerSlot;
    type Output = Result<T, RecvError>;

    fn place(st: &mut State<T>) -> &mut WakerSlot {
        &mut st.rx
    }

    fn now(&self, st: &State<T>) -> bool {
        st.value.is_some() || st.tx_gone || st.rx_closed
    }

    fn complete(&mut self, st: &mut State<T>, cx: &mut Ctx<'_>, _: &mut Wakers) -> Self::Output {
        let v = st.value.take().ok_or(RecvError(()))?;
        cx.event(ResourceOp::Recv, 0);
        Ok(v)
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
}

/// Waiting for the receiver to close, as an operation of the protocol (released, it
/// looks again).
struct Closed;

impl<T> Op<State<T>> for Closed {
    type Place = WakerSlot;
    type Output = ();

    fn place(st: &mut State<T>) -> &mut WakerSlot {
        &mut st.tx
    }

    fn now(&self, st: &State<T>) -> bool {
        st.rx_closed
    }

    fn complete(&mut self, _: &mut State<T>, _: &mut Ctx<'_>, _: &mut Wakers) {}

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
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
            rx: WakerSlot::new(),
            tx: WakerSlot::new(),
        }),
    });
    (
        Sender {
            inner: inner.clone(),
            closed: Waiter::new(),
            gone: false,
        },
        Receiver {
            inner,
            recv: Waiter::new(),
            terminated: false,
        },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
    /// Its wait in `closed`.
    closed: Waiter,
    /// Whether it is gone already (`send` did what dropping does).
    gone: bool,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is closed or dropped.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let what = "sim::sync::oneshot::Sender::send";
        let inner = &*self.inner;
        let closed = &mut self.closed;
        let sent = inner.res.update(what, &inner.state, |st, cx, wakers| {
            let sent = if st.rx_closed {
                Err(value)
            } else {
                st.value = Some(value);
                cx.event(ResourceOp::Send, 1);
                Ok(())
            };
            Self::leave(closed, st, cx, wakers);
            sent
        });
        self.gone = true;
        sent
    }

    /// The sender is gone: its wait in `closed` (if any) is cancelled, the receiver
    /// woken.
    fn leave(closed: &mut Waiter, st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) {
        closed.cancel(&mut Closed, st, cx, wakers);
        st.tx_gone = true;
        wakers.extend(st.rx.release());
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.state).rx_closed
    }

    /// Polls for the receiver closing.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let what = "sim::sync::oneshot::Sender::closed";
        let inner = &*self.inner;
        inner.res.poll_op(
            what,
            &inner.state,
            &mut self.closed,
            &mut Closed,
            cx.waker(),
        )
    }

    /// Waits until the receiver is closed or dropped. Cancellation safe. Another task
    /// may run first when it is closed already (its [scheduling
    /// point](crate::sync#scheduling-rules)).
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
        let inner = &*self.tx.inner;
        inner
            .res
            .cancel_op(&inner.state, &mut self.tx.closed, &mut Closed);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.gone {
            return;
        }
        let inner = &*self.inner;
        let closed = &mut self.closed;
        inner.res.update_lenient(&inner.state, |st, cx, wakers| {
            Self::leave(closed, st, cx, wakers)
        });
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Receives the one value: a future of `Result<T, RecvError>`.
///
/// Another task may run first when the value is there or the sender gone (the
/// receive's [scheduling point](crate::sync#scheduling-rules)).
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// Its receive in progress.
    recv: Waiter,
    /// Whether it yielded its result (awaited to the end, or a `try_recv` that did not
    /// find it empty): polling it again panics, as in tokio.
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Closes the channel: a later `send` fails; a value already sent stays receivable.
    pub fn close(&mut self) {
        let mut wakers = Wakers::default();
        {
            let mut st = lock(&self.inner.state);
            st.rx_closed = true;
            wakers.extend(st.tx.release());
        }
        wakers.wake();
    }

    /// Takes the value if it was sent. Once it returns the value or
    /// [`Closed`](TryRecvError::Closed), the receiver is
    /// [terminated](Self::is_terminated): awaiting it then panics, as in tokio.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.terminated {
            return Err(TryRecvError::Closed);
        }
        let what = "sim::sync::oneshot::Receiver::try_recv";
        let inner = &*self.inner;
        let got = inner
            .res
            .update(what, &inner.state, |st, cx, _| match st.value.take() {
                Some(v) => {
                    cx.event(ResourceOp::Recv, 0);
                    Ok(v)
                }
                None if st.tx_gone || st.rx_closed => Err(TryRecvError::Closed),
                None => Err(TryRecvError::Empty),
            });
        self.terminated = !matches!(got, Err(TryRecvError::Empty));
        got
    }

    /// Whether no value is there to receive now (not sent yet, or already received).
    ///
    /// ```
    /// use sim::sync::oneshot;
    /// let (tx, rx) = oneshot::channel();
    /// assert!(rx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.terminated || lock(&self.inner.state).value.is_none()
    }

    /// Whether the receiver has yielded its result (awaited to completion, or a
    /// `try_recv` returned the value or `Closed`): it must not be polled again.
    ///
    /// ```
    /// use sim::sync::oneshot;
    /// let (tx, mut rx) = oneshot::channel();
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_terminated());
    /// assert_eq!(futures::executor::block_on(&mut rx), Ok(1));
    /// assert!(rx.is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Waits for the value, blocking the calling thread, as
    /// `tokio::sync::oneshot::Receiver::blocking_recv`; see [the module
    /// docs](crate::sync#blocking-operations).
    ///
    /// # Panics
    /// Inside a simulated run (it would block the simulator's only thread).
    ///
    /// ```
    /// use sim::sync::oneshot;
    /// let (tx, rx) = oneshot::channel();
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.blocking_recv(), Ok(3));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block_on_outside_run("sim::sync::oneshot::Receiver::blocking_recv", self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let what = "sim::sync::oneshot::Receiver";
        let this = self.get_mut();
        assert!(
            !this.terminated,
            "called after complete: sim::sync::oneshot::Receiver polled after it yielded \
             its result"
        );
        let inner = &*this.inner;
        let polled = inner
            .res
            .poll_op(what, &inner.state, &mut this.recv, &mut Recv, cx.waker());
        this.terminated = polled.is_ready();
        polled
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let inner = &*self.inner;
        let recv = &mut self.recv;
        let value = inner.res.update_lenient(&inner.state, |st, cx, wakers| {
            recv.cancel(&mut Recv, st, cx, wakers);
            st.rx_closed = true;
            wakers.extend(st.tx.release());
            st.value.take()
        });
        drop(value); // Outside the lock and the core.
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

// As tokio's: a panic while using a channel half leaves the channel consistent (no
// user code runs under its lock), so the halves may cross `catch_unwind`.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}
