//! Multi-producer, single-consumer channels, as `tokio::sync::mpsc`: [`channel`]
//! (bounded, with backpressure) and [`unbounded_channel`].
//!
//! Owns the buffer, the sender count and the receiver's waker; a bounded channel's
//! capacity is a fair semaphore's permit accounting of slots kept in the same state, so
//! blocked senders are served FIFO and each operation takes one lock. It must not wake
//! a task or drop a message while its state is locked.
//!
//! Every message is received at most once and, unless the receiver is dropped, at
//! least once: a `send` future dropped before it completes has not sent its message.
//!
//! A bounded send, a reservation and a receive are operations of the common protocol
//! (`wait::Op`): each has its scheduling point when it completes at once (a free slot,
//! a buffered message, a closed channel). `try_send`, `try_recv` and an unbounded send
//! are synchronous: no point (the task's next async operation is where another task
//! may run first).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use futures::{Sink, Stream};

use super::semaphore::{Closed, Permits, SemWait};
use super::wait::{Ctx, Op, Removed, Res, WaitQueue, Waiter, WakerSlot, Wakers, lock};
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

/// A channel's state, under one lock.
struct State<T> {
    buf: VecDeque<T>,
    /// Free slots and blocked senders of a bounded channel; `None` when unbounded. A
    /// slot taken by a sent message comes back when the message is received.
    slots: Option<Permits>,
    senders: usize,
    /// Slots reserved by live `Permit`s (they may still send after `close`).
    reserved: usize,
    rx_closed: bool,
    rx_dropped: bool,
    /// The receiver, while it waits.
    rx: WakerSlot,
}

impl<T> State<T> {
    /// The slots of a bounded channel.
    fn slots(&mut self) -> &mut Permits {
        self.slots
            .as_mut()
            .expect("sim internal error: a bounded channel without slots")
    }

    /// The slots of a bounded channel, to read.
    fn slots_ref(&self) -> &Permits {
        self.slots
            .as_ref()
            .expect("sim internal error: a bounded channel without slots")
    }

    /// Appends a message (its slot already taken; the receiver is not dropped),
    /// records `send` and collects the receiver's waker.
    fn push(&mut self, value: T, cx: &mut Ctx<'_>, wakers: &mut Wakers) {
        self.buf.push_back(value);
        cx.event(ResourceOp::Send, self.buf.len());
        wakers.extend(self.rx.release());
    }

    /// Whether no message can come any more.
    fn ended(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.reserved == 0)
    }

    /// A reserved slot is used (`sent`: it now holds a message) or given back.
    fn unreserve(&mut self, sent: bool, wakers: &mut Wakers) {
        if !sent {
            self.slots().give(1, wakers);
        }
        self.reserved -= 1;
        if self.rx_closed && self.reserved == 0 {
            wakers.extend(self.rx.release());
        }
    }

    /// Closes the receiving side (idempotent): blocked senders fail. Records `close`.
    fn close(&mut self, cx: &mut Ctx<'_>, wakers: &mut Wakers) {
        if self.rx_closed {
            return;
        }
        self.rx_closed = true;
        if let Some(slots) = &mut self.slots {
            slots.close(wakers);
        }
        cx.event(ResourceOp::Close, 0);
    }
}

/// What the halves of a channel share.
struct Chan<T> {
    res: Res,
    state: StateLock<State<T>>,
}

impl<T> Chan<T> {
    #[track_caller]
    fn new(cap: Option<usize>) -> Arc<Self> {
        Arc::new(Chan {
            res: Res::new("mpsc"),
            state: StateLock::new(State {
                buf: VecDeque::new(),
                slots: cap.map(Permits::new),
                senders: 1,
                reserved: 0,
                rx_closed: false,
                rx_dropped: false,
                rx: WakerSlot::new(),
            }),
        })
    }

    /// A sender is gone; the last one ends the channel (records `close`).
    fn drop_sender(&self) {
        {
            let mut st = lock(&self.state);
            if st.senders > 1 {
                st.senders -= 1;
                return;
            }
        }
        self.res.update_lenient(&self.state, |st, cx, wakers| {
            st.senders -= 1;
            if st.senders == 0 {
                wakers.extend(st.rx.release());
                cx.event(ResourceOp::Close, 0);
            }
        });
    }

    /// Sends into a slot reserved by a permit (the message is given back if the
    /// receiver is gone).
    fn send_reserved(&self, value: T) -> Option<T> {
        self.res.update_lenient(&self.state, |st, cx, wakers| {
            let rejected = if st.rx_dropped {
                Some(value)
            } else {
                st.push(value, cx, wakers);
                None
            };
            st.unreserve(rejected.is_none(), wakers);
            rejected
        })
    }

    /// Gives back a slot reserved by a permit, unused.
    fn release_reserved(&self) {
        let mut wakers = Wakers::default();
        lock(&self.state).unreserve(false, &mut wakers);
        wakers.wake();
    }

    /// Takes the next message, giving its slot back; records `recv`.
    fn take(st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Option<T> {
        let v = st.buf.pop_front()?;
        if let Some(slots) = &mut st.slots {
            slots.give(1, wakers);
        }
        cx.event(ResourceOp::Recv, st.buf.len());
        Some(v)
    }

    /// Polls for the next message.
    fn poll_recv(&self, rx: &mut Waiter, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let what = "sim::sync::mpsc::Receiver::recv";
        self.res
            .poll_op(what, &self.state, rx, &mut Recv, cx.waker())
    }

    /// Takes a message if one is buffered.
    fn try_recv(&self) -> Result<T, TryRecvError> {
        let what = "sim::sync::mpsc::Receiver::try_recv";
        self.res.update(what, &self.state, |st, cx, wakers| {
            match Self::take(st, cx, wakers) {
                Some(v) => Ok(v),
                None if st.ended() => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        })
    }

    /// Closes the receiving side (lenient: also used on drop paths).
    fn close(&self) {
        self.res.update_lenient(&self.state, State::close);
    }

    fn is_closed(&self) -> bool {
        lock(&self.state).rx_closed
    }

    fn len(&self) -> usize {
        lock(&self.state).buf.len()
    }
}

/// A receive, as an operation of the protocol. Released (its waker taken by a send or
/// the end of the channel), it looks again: a `try_recv` may have taken the message.
struct Recv;

impl<T> Op<State<T>> for Recv {
    type Place = WakerSlot;
    type Output = Option<T>;

    fn place(st: &mut State<T>) -> &mut WakerSlot {
        &mut st.rx
    }

    fn now(&self, st: &State<T>) -> bool {
        !st.buf.is_empty() || st.ended()
    }

    fn complete(&mut self, st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Option<T> {
        let v = Chan::take(st, cx, wakers);
        if v.is_none() {
            // Ordered after the senders' drop or the close that ended the channel.
            cx.event(ResourceOp::Served, 0);
        }
        v
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
}

/// What a [`SlotFut`] puts into the slot it gets: a message or a reservation.
trait Fill<T>: Sized {
    /// Fills the slot just taken; gives `self` back if it cannot (the slot is then
    /// passed on).
    fn fill(self, st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Result<(), Self>;
}

/// A message to send: fails once the receiver is dropped.
struct Message<T>(T);

impl<T> Fill<T> for Message<T> {
    fn fill(self, st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> Result<(), Self> {
        if st.rx_dropped {
            st.slots().give(1, wakers);
            return Err(self);
        }
        st.push(self.0, cx, wakers);
        Ok(())
    }
}

/// A reservation: the slot is kept for a [`Permit`].
struct Reservation;

impl<T> Fill<T> for Reservation {
    fn fill(self, st: &mut State<T>, _: &mut Ctx<'_>, _: &mut Wakers) -> Result<(), Self> {
        st.reserved += 1;
        Ok(())
    }
}

/// The future of a bounded send or reservation: waits for a free slot, senders being
/// served in FIFO order, then fills it. Fails, giving the fill back, if the receiver
/// is closed or dropped.
///
/// Cancellation safe: dropped while waiting, it gives up its place; dropped after it
/// was handed a slot, it passes the slot on.
struct SlotFut<'a, T, F: Fill<T>> {
    chan: &'a Chan<T>,
    what: &'static str,
    waiter: Waiter,
    op: SlotOp<F>,
}

/// A bounded send or reservation, as an operation of the protocol.
struct SlotOp<F> {
    // Invariant: `Some` until the operation completes.
    fill: Option<F>,
}

impl<F> SlotOp<F> {
    fn fill(&mut self) -> F {
        self.fill
            .take()
            .expect("sim: mpsc send future polled after completion")
    }
}

impl<T, F: Fill<T>> Op<State<T>> for SlotOp<F> {
    type Place = WaitQueue<SemWait>;
    type Output = Result<(), F>;

    fn place(st: &mut State<T>) -> &mut WaitQueue<SemWait> {
        st.slots().waiters()
    }

    fn now(&self, st: &State<T>) -> bool {
        st.rx_dropped || st.slots_ref().completes_at_once(1)
    }

    fn complete(
        &mut self,
        st: &mut State<T>,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Self::Output {
        if st.rx_dropped {
            return Err(self.fill());
        }
        match st.slots().take_at_once(1) {
            Ok(()) => self.fill().fill(st, cx, wakers),
            Err(Closed) => Err(self.fill()),
        }
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) -> SemWait {
        Permits::parked(1)
    }

    fn released(
        &mut self,
        st: &mut State<T>,
        w: SemWait,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Option<Self::Output> {
        Some(match w.outcome() {
            Ok(()) => self.fill().fill(st, cx, wakers),
            Err(Closed) => Err(self.fill()),
        })
    }

    fn cancelled(
        &mut self,
        st: &mut State<T>,
        removed: Removed<SemWait>,
        _: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) {
        st.slots().cancelled(removed, wakers);
    }
}

// The fill is never pinned: it is moved into the channel or handed back.
impl<T, F: Fill<T>> Unpin for SlotFut<'_, T, F> {}

impl<T, F: Fill<T>> Future for SlotFut<'_, T, F> {
    type Output = Result<(), F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let chan = this.chan;
        chan.res.poll_op(
            this.what,
            &chan.state,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl<T, F: Fill<T>> Drop for SlotFut<'_, T, F> {
    fn drop(&mut self) {
        let chan = self.chan;
        chan.res
            .cancel_op(&chan.state, &mut self.waiter, &mut self.op);
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
            rx: Waiter::new(),
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
            rx: Waiter::new(),
        },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Waits for a slot and fills it with `fill`.
    fn slot<F: Fill<T>>(&self, what: &'static str, fill: F) -> SlotFut<'_, T, F> {
        SlotFut {
            chan: &self.chan,
            what,
            waiter: Waiter::new(),
            op: SlotOp { fill: Some(fill) },
        }
    }

    /// Waits for a slot and reserves it.
    async fn reserve_slot(&self) -> Result<(), SendError<()>> {
        self.slot("sim::sync::mpsc::Sender::reserve", Reservation)
            .await
            .map_err(|Reservation| SendError(()))
    }

    /// Sends `value`, waiting for a free slot. Fails (returning the value) once the
    /// receiver is closed or dropped. Dropping the future before it completes means
    /// the value was not sent. Another task may run first when a slot is free (its
    /// [scheduling point](crate::sync#scheduling-rules)).
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.slot("sim::sync::mpsc::Sender::send", Message(value))
            .await
            .map_err(|Message(value)| SendError(value))
    }

    /// Sends `value` if a slot is free now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let what = "sim::sync::mpsc::Sender::try_send";
        self.chan
            .res
            .update(what, &self.chan.state, |st, cx, wakers| {
                if st.rx_dropped || st.slots().is_closed() {
                    return Err(TrySendError::Closed(value));
                }
                if !st.slots().try_take(1) {
                    return Err(TrySendError::Full(value));
                }
                st.push(value, cx, wakers);
                Ok(())
            })
    }

    /// Waits for a slot and reserves it; [`Permit::send`] then cannot fail or wait.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.reserve_slot().await?;
        Ok(Permit {
            chan: Some(&self.chan),
        })
    }

    /// Like [`reserve`](Self::reserve), consuming a sender clone.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.reserve_slot().await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        lock(&self.chan.state).slots().available()
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
    // Invariant: `Some` until the slot is used or given back.
    chan: Option<&'a Chan<T>>,
}

impl<T> Permit<'_, T> {
    /// Sends into the reserved slot (dropped if the receiver is gone).
    pub fn send(mut self, value: T) {
        let chan = self
            .chan
            .take()
            .expect("sim internal error: permit used twice");
        drop(chan.send_reserved(value));
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            chan.release_reserved();
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
    // Invariant: `Some` until the slot is used or given back.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("sim internal error: permit used twice");
        drop(sender.chan.send_reserved(value));
        sender
    }

    /// Frees the slot and gives the sender back.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("sim internal error: permit used twice");
        sender.chan.release_reserved();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(s) = self.sender.take() {
            s.chan.release_reserved();
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
    /// The receive in progress.
    rx: Waiter,
}

/// The future of a `recv`: cancels the receiver's wait if dropped while pending.
struct RecvFut<'a, T> {
    chan: &'a Chan<T>,
    rx: &'a mut Waiter,
}

impl<T> Future for RecvFut<'_, T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan.poll_recv(this.rx, cx)
    }
}

impl<T> Drop for RecvFut<'_, T> {
    fn drop(&mut self) {
        let chan = self.chan;
        chan.res.cancel_op(&chan.state, self.rx, &mut Recv);
    }
}

fn drop_receiver<T>(chan: &Chan<T>, rx: &mut Waiter) {
    let buf = chan.res.update_lenient(&chan.state, |st, cx, wakers| {
        rx.cancel(&mut Recv, st, cx, wakers);
        st.close(cx, wakers);
        st.rx_dropped = true;
        std::mem::take(&mut st.buf)
    });
    drop(buf); // Unreceived messages, dropped outside the lock and the core.
}

macro_rules! receiver_api {
    ($rx:ident) => {
        impl<T> $rx<T> {
            /// Waits for the next message; `None` once the buffer is empty and no
            /// message can come (every sender dropped, or [`close`](Self::close)d).
            /// Cancellation safe: no message is lost if the future is dropped. Another
            /// task may run first when a message is there (its [scheduling
            /// point](crate::sync#scheduling-rules)).
            pub async fn recv(&mut self) -> Option<T> {
                RecvFut {
                    chan: &self.chan,
                    rx: &mut self.rx,
                }
                .await
            }

            /// Polls for the next message (the [`Stream`] implementation).
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.chan.poll_recv(&mut self.rx, cx)
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
                drop_receiver(&self.chan, &mut self.rx);
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
        let what = "sim::sync::mpsc::UnboundedSender::send";
        self.chan
            .res
            .update(what, &self.chan.state, |st, cx, wakers| {
                // A dropped receiver was closed first.
                if st.rx_closed {
                    return Err(SendError(value));
                }
                st.push(value, cx, wakers);
                Ok(())
            })
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
    /// The receive in progress.
    rx: Waiter,
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
