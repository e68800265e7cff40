//! Multi-producer, single-consumer channels, as `tokio::sync::mpsc`: [`channel`]
//! (bounded, with backpressure) and [`unbounded_channel`].
//!
//! Owns the buffer, the sender count and the receiver's waker; a bounded channel's
//! capacity is a fair semaphore of slots, so blocked senders are served FIFO. It must
//! not wake a task or drop a message while its state is locked.
//!
//! Every message is received at most once and, unless the receiver is dropped, at
//! least once: a `send` future dropped before it completes has not sent its message.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Waker};

use futures::{Sink, Stream};

use super::semaphore::{Acquire, Hold, Sem};
use super::wait::{Res, lock};
use crate::trace::ResourceOp;

/// Errors of this module.
pub mod error {
    use std::fmt;

    /// The receiver is gone (or closed): the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// [`Sender::try_send`](super::Sender::try_send) failed; the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum TrySendError<T> {
        /// The channel is full.
        Full(T),
        /// The receiver is gone (or closed).
        Closed(T),
    }

    impl<T> TrySendError<T> {
        /// The value that was not sent.
        pub fn into_inner(self) -> T {
            match self {
                TrySendError::Full(v) | TrySendError::Closed(v) => v,
            }
        }
    }

    impl<T> fmt::Debug for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TrySendError::Full(_) => "Full(..)",
                TrySendError::Closed(_) => "Closed(..)",
            })
        }
    }

    impl<T> fmt::Display for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TrySendError::Full(_) => "no available capacity",
                TrySendError::Closed(_) => "channel closed",
            })
        }
    }

    impl<T> std::error::Error for TrySendError<T> {}

    /// [`Receiver::try_recv`](super::Receiver::try_recv) found nothing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No message now, but senders remain.
        Empty,
        /// No message, and none can come.
        Disconnected,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "receiving on an empty channel",
                TryRecvError::Disconnected => "receiving on a closed channel",
            })
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{SendError, TryRecvError, TrySendError};

struct State<T> {
    buf: VecDeque<T>,
    senders: usize,
    /// Slots reserved by live `Permit`s (they may still send after `close`).
    reserved: usize,
    rx_closed: bool,
    rx_dropped: bool,
    rx_waker: Option<Waker>,
}

struct Chan<T> {
    res: Res,
    /// Free slots of a bounded channel; `None` when unbounded.
    slots: Option<Sem>,
    state: StdMutex<State<T>>,
}

impl<T> Chan<T> {
    #[track_caller]
    fn new(cap: Option<usize>) -> Arc<Self> {
        Arc::new(Chan {
            res: Res::new("mpsc"),
            slots: cap.map(Sem::new),
            state: StdMutex::new(State {
                buf: VecDeque::new(),
                senders: 1,
                reserved: 0,
                rx_closed: false,
                rx_dropped: false,
                rx_waker: None,
            }),
        })
    }

    /// Appends a message (its slot already taken). Gives it back if the receiver is gone.
    fn push(&self, value: T) -> Result<(), T> {
        let (len, waker) = {
            let mut st = lock(&self.state);
            if st.rx_dropped {
                return Err(value);
            }
            st.buf.push_back(value);
            (st.buf.len(), st.rx_waker.take())
        };
        self.res.event_lenient(ResourceOp::Send, len);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    fn drop_sender(&self) {
        let waker = {
            let mut st = lock(&self.state);
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            st.rx_waker.take()
        };
        self.res.event_lenient(ResourceOp::Close, 0);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn release_reserved(&self, hold: Hold, sent: bool) {
        let slots = self
            .slots
            .as_ref()
            .expect("sim internal error: permit of an unbounded channel");
        if sent {
            slots.forget(hold); // The slot now belongs to the message until received.
        } else {
            slots.release(hold);
        }
        let waker = {
            let mut st = lock(&self.state);
            st.reserved -= 1;
            if st.rx_closed && st.reserved == 0 {
                st.rx_waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll_recv(&self, waiting: &mut bool, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let what = "sim::sync::mpsc::Receiver::recv";
        self.res.with(what, |_, _| ()); // Outside a run: panic before any change.
        let mut st = lock(&self.state);
        let out = match st.buf.pop_front() {
            Some(v) => Some((v, st.buf.len())),
            None if st.senders == 0 || (st.rx_closed && st.reserved == 0) => None,
            None => {
                if !st
                    .rx_waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    st.rx_waker = Some(cx.waker().clone());
                }
                drop(st);
                if !*waiting {
                    *waiting = true;
                    self.res.begin_wait(what);
                }
                return Poll::Pending;
            }
        };
        drop(st);
        if std::mem::take(waiting) {
            self.res.end_wait(false);
        }
        match out {
            Some((v, len)) => {
                if let Some(slots) = &self.slots {
                    slots.add(1);
                }
                self.res.event(what, ResourceOp::Recv, len);
                Poll::Ready(Some(v))
            }
            None => {
                // Ordered after the senders' drop or the close that ended the channel.
                self.res.event(what, ResourceOp::Served, 0);
                Poll::Ready(None)
            }
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let what = "sim::sync::mpsc::Receiver::try_recv";
        self.res.with(what, |_, _| ());
        let mut st = lock(&self.state);
        match st.buf.pop_front() {
            Some(v) => {
                let len = st.buf.len();
                drop(st);
                if let Some(slots) = &self.slots {
                    slots.add(1);
                }
                self.res.event(what, ResourceOp::Recv, len);
                Ok(v)
            }
            None if st.senders == 0 || (st.rx_closed && st.reserved == 0) => {
                Err(TryRecvError::Disconnected)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    fn close(&self) {
        {
            let mut st = lock(&self.state);
            if st.rx_closed {
                return;
            }
            st.rx_closed = true;
        }
        if let Some(slots) = &self.slots {
            slots.close();
        }
        self.res.event_lenient(ResourceOp::Close, 0);
    }

    fn is_closed(&self) -> bool {
        let st = lock(&self.state);
        st.rx_closed
    }

    fn len(&self) -> usize {
        lock(&self.state).buf.len()
    }
}

/// A bounded channel holding at most `capacity` messages: [`Sender::send`] waits while
/// it is full.
///
/// ```
/// use sim::sync::mpsc;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     let producer = sim::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap(); // waits while the message before is unread
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]); // None once every sender is gone
///     producer.await.unwrap();
/// }).unwrap();
/// ```
///
/// # Panics
/// If `capacity` is zero.
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "sim: mpsc bounded channel requires capacity > 0"
    );
    let chan = Chan::new(Some(capacity));
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            waiting: false,
        },
    )
}

/// A channel without a bound: sending never waits.
#[track_caller]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver {
            chan,
            waiting: false,
        },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    fn slots(&self) -> &Sem {
        self.chan
            .slots
            .as_ref()
            .expect("sim internal error: bounded sender without slots")
    }

    async fn acquire_slot(&self, what: &'static str) -> Result<Hold, SendError<()>> {
        if lock(&self.chan.state).rx_dropped {
            self.chan.res.with(what, |_, _| ());
            return Err(SendError(()));
        }
        Acquire::new(self.slots(), &self.chan.res, what, 1, true)
            .await
            .map_err(|_| SendError(()))
    }

    /// Sends `value`, waiting for a free slot. Fails (returning the value) once the
    /// receiver is closed or dropped. Dropping the future before it completes means
    /// the value was not sent.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let hold = match self.acquire_slot("sim::sync::mpsc::Sender::send").await {
            Ok(h) => h,
            Err(_) => return Err(SendError(value)),
        };
        match self.chan.push(value) {
            Ok(()) => {
                self.slots().forget(hold);
                Ok(())
            }
            Err(v) => {
                self.slots().release(hold);
                Err(SendError(v))
            }
        }
    }

    /// Sends `value` if a slot is free now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan
            .res
            .with("sim::sync::mpsc::Sender::try_send", |_, _| ());
        if lock(&self.chan.state).rx_dropped {
            return Err(TrySendError::Closed(value));
        }
        let hold = match self.slots().try_acquire(1) {
            Ok(h) => h,
            Err(super::TryAcquireError::Closed) => return Err(TrySendError::Closed(value)),
            Err(super::TryAcquireError::NoPermits) => return Err(TrySendError::Full(value)),
        };
        match self.chan.push(value) {
            Ok(()) => {
                self.slots().forget(hold);
                Ok(())
            }
            Err(v) => {
                self.slots().release(hold);
                Err(TrySendError::Closed(v))
            }
        }
    }

    /// Waits for a slot and reserves it; [`Permit::send`] then cannot fail or wait.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        let hold = self
            .acquire_slot("sim::sync::mpsc::Sender::reserve")
            .await?;
        lock(&self.chan.state).reserved += 1;
        Ok(Permit {
            chan: &self.chan,
            hold: Some(hold),
        })
    }

    /// Like [`reserve`](Self::reserve), consuming a sender clone.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        let hold = self
            .acquire_slot("sim::sync::mpsc::Sender::reserve")
            .await?;
        lock(&self.chan.state).reserved += 1;
        Ok(OwnedPermit {
            sender: Some(self),
            hold: Some(hold),
        })
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.slots().available()
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.chan.state).senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// A reserved slot of a bounded channel; dropping it unused frees the slot.
#[must_use = "dropping the permit frees the slot"]
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
    hold: Option<Hold>,
}

impl<T> Permit<'_, T> {
    /// Sends into the reserved slot (dropped if the receiver is gone).
    pub fn send(mut self, value: T) {
        let hold = self
            .hold
            .take()
            .expect("sim internal error: permit used twice");
        let res = self.chan.push(value);
        self.chan.release_reserved(hold, res.is_ok());
        drop(res);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        if let Some(h) = self.hold.take() {
            self.chan.release_reserved(h, false);
        }
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A reserved slot owning its [`Sender`]; dropping it unused frees the slot.
#[must_use = "dropping the permit frees the slot"]
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
    hold: Option<Hold>,
}

impl<T> OwnedPermit<T> {
    /// Sends into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("sim internal error: permit used twice");
        let hold = self
            .hold
            .take()
            .expect("sim internal error: permit used twice");
        let res = sender.chan.push(value);
        sender.chan.release_reserved(hold, res.is_ok());
        drop(res);
        sender
    }

    /// Frees the slot and gives the sender back.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("sim internal error: permit used twice");
        if let Some(h) = self.hold.take() {
            sender.chan.release_reserved(h, false);
        }
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let (Some(s), Some(h)) = (&self.sender, self.hold.take()) {
            s.chan.release_reserved(h, false);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// The receiving half of a bounded channel. Also a [`Stream`] of messages.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    /// Whether a `wait` was recorded and not yet ended.
    waiting: bool,
}

/// The future of a `recv`: clears the receiver's wait if dropped while pending.
struct RecvFut<'a, T> {
    chan: &'a Chan<T>,
    waiting: &'a mut bool,
}

impl<T> Future for RecvFut<'_, T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan.poll_recv(this.waiting, cx)
    }
}

impl<T> Drop for RecvFut<'_, T> {
    fn drop(&mut self) {
        if std::mem::take(self.waiting) {
            lock(&self.chan.state).rx_waker = None;
            self.chan.res.end_wait(true);
        }
    }
}

fn drop_receiver<T>(chan: &Chan<T>, waiting: bool) {
    if waiting {
        chan.res.end_wait(true);
    }
    chan.close();
    let buf = {
        let mut st = lock(&chan.state);
        st.rx_dropped = true;
        st.rx_waker = None;
        std::mem::take(&mut st.buf)
    };
    drop(buf); // Unreceived messages, dropped outside the lock.
}

macro_rules! receiver_api {
    ($rx:ident) => {
        impl<T> $rx<T> {
            /// Waits for the next message; `None` once the buffer is empty and no
            /// message can come (every sender dropped, or [`close`](Self::close)d).
            /// Cancellation safe: no message is lost if the future is dropped.
            pub async fn recv(&mut self) -> Option<T> {
                RecvFut {
                    chan: &self.chan,
                    waiting: &mut self.waiting,
                }
                .await
            }

            /// Polls for the next message (the [`Stream`] implementation).
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.chan.poll_recv(&mut self.waiting, cx)
            }

            /// Takes a message if one is buffered.
            pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                self.chan.try_recv()
            }

            /// Closes the channel: sends fail from now on, buffered messages can still
            /// be received.
            pub fn close(&mut self) {
                self.chan.close();
            }

            /// Buffered messages.
            pub fn len(&self) -> usize {
                self.chan.len()
            }

            /// Whether no message is buffered.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }

        impl<T> Drop for $rx<T> {
            fn drop(&mut self) {
                drop_receiver(&self.chan, self.waiting);
            }
        }

        impl<T> Stream for $rx<T> {
            type Item = T;
            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.get_mut().poll_recv(cx)
            }
        }

        impl<T> fmt::Debug for $rx<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($rx)).finish_non_exhaustive()
            }
        }
    };
}

receiver_api!(Receiver);
receiver_api!(UnboundedReceiver);

/// The sending half of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once; fails (returning it) if the receiver is closed or gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan
            .res
            .with("sim::sync::mpsc::UnboundedSender::send", |_, _| ());
        if self.chan.is_closed() {
            return Err(SendError(value));
        }
        self.chan.push(value).map_err(SendError)
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        lock(&self.chan.state).senders += 1;
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// The receiving half of an unbounded channel. Also a [`Stream`] of messages.
pub struct UnboundedReceiver<T> {
    chan: Arc<Chan<T>>,
    waiting: bool,
}

type ReserveFut<T> = Pin<Box<dyn Future<Output = Result<OwnedPermit<T>, SendError<()>>> + Send>>;

enum PollState<T> {
    Idle(Sender<T>),
    Reserving(ReserveFut<T>),
    Ready(OwnedPermit<T>),
    Closed,
}

/// A [`Sink`] over a bounded [`Sender`], like `tokio_util::sync::PollSender`:
/// `poll_ready` reserves a slot (waiting while the channel is full), `start_send` fills
/// it. Errors are [`SendError<()>`](SendError) once the receiver is closed or gone.
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// use sim::sync::mpsc;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let (tx, rx) = mpsc::channel(1);
///     let mut sink = mpsc::PollSender::new(tx);
///     let producer = sim::spawn(async move {
///         sink.send(1).await.unwrap();
///         sink.send(2).await.unwrap();
///     });
///     assert_eq!(rx.collect::<Vec<_>>().await, [1, 2]);
///     producer.await.unwrap();
/// }).unwrap();
/// ```
pub struct PollSender<T> {
    state: PollState<T>,
}

impl<T: Send + 'static> PollSender<T> {
    /// Wraps a sender.
    pub fn new(sender: Sender<T>) -> Self {
        PollSender {
            state: PollState::Idle(sender),
        }
    }

    /// Waits (through the context) until a slot is reserved.
    pub fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<()>>> {
        loop {
            match std::mem::replace(&mut self.state, PollState::Closed) {
                PollState::Idle(s) => {
                    self.state = PollState::Reserving(Box::pin(s.reserve_owned()))
                }
                PollState::Reserving(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(Ok(p)) => {
                        self.state = PollState::Ready(p);
                        return Poll::Ready(Ok(()));
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        self.state = PollState::Reserving(fut);
                        return Poll::Pending;
                    }
                },
                PollState::Ready(p) => {
                    self.state = PollState::Ready(p);
                    return Poll::Ready(Ok(()));
                }
                PollState::Closed => return Poll::Ready(Err(SendError(()))),
            }
        }
    }

    /// Sends into the reserved slot.
    ///
    /// # Errors
    /// If no slot is reserved (call [`poll_reserve`](Self::poll_reserve) first) or the
    /// sender was closed; the value comes back.
    pub fn send_item(&mut self, value: T) -> Result<(), SendError<T>> {
        match std::mem::replace(&mut self.state, PollState::Closed) {
            PollState::Ready(p) => {
                self.state = PollState::Idle(p.send(value));
                Ok(())
            }
            other => {
                self.state = other;
                Err(SendError(value))
            }
        }
    }

    /// Drops the sender (and any reservation); later sends fail.
    pub fn close(&mut self) {
        self.state = PollState::Closed;
    }
}

impl<T: Send + 'static> Sink<T> for PollSender<T> {
    type Error = SendError<()>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_reserve(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        self.get_mut().send_item(item).map_err(|_| SendError(()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().close();
        Poll::Ready(Ok(()))
    }
}

impl<T> fmt::Debug for PollSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollSender").finish_non_exhaustive()
    }
}
