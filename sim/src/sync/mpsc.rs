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

    /// [`Sender::send_timeout`](super::Sender::send_timeout) failed; the value comes
    /// back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum SendTimeoutError<T> {
        /// No slot was free before the timeout.
        Timeout(T),
        /// The receiver is gone (or closed).
        Closed(T),
    }

    impl<T> SendTimeoutError<T> {
        /// The value that was not sent.
        pub fn into_inner(self) -> T {
            match self {
                SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
            }
        }
    }

    impl<T> fmt::Debug for SendTimeoutError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                SendTimeoutError::Timeout(_) => "Timeout(..)",
                SendTimeoutError::Closed(_) => "Closed(..)",
            })
        }
    }

    impl<T> fmt::Display for SendTimeoutError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                SendTimeoutError::Timeout(_) => "timed out waiting on send operation",
                SendTimeoutError::Closed(_) => "channel closed",
            })
        }
    }

    impl<T> std::error::Error for SendTimeoutError<T> {}

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

use error::{SendError, SendTimeoutError, TryRecvError, TrySendError};

/// A channel's state, under one lock.
struct State<T> {
    buf: VecDeque<T>,
    /// Free slots and blocked senders of a bounded channel; `None` when unbounded. A
    /// slot taken by a sent message comes back when the message is received.
    slots: Option<Permits>,
    /// The capacity of a bounded channel (0 when unbounded).
    max: usize,
    senders: usize,
    /// Live weak senders (they do not keep the channel open).
    weak: usize,
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

    /// Whether no message can come any more: every sender is gone, or the receiver
    /// closed the channel and no slot is out (reserved by a permit, or handed to a
    /// send or reservation whose task has not taken it up yet), as tokio's.
    fn ended(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.idle())
    }

    /// Whether no slot is out (see [`ended`](Self::ended)).
    fn idle(&self) -> bool {
        self.reserved == 0 && self.slots.as_ref().is_none_or(|s| s.handed() == 0)
    }

    /// After a slot came back: a closed channel that is now idle has ended, and its
    /// waiting receiver learns it.
    fn wake_rx_if_ended(&mut self, wakers: &mut Wakers) {
        if self.rx_closed && self.idle() {
            wakers.extend(self.rx.release());
        }
    }

    /// Reserves `n` free slots at once if the channel is open and they are free.
    fn try_reserve(&mut self, n: usize) -> Result<(), TrySendError<()>> {
        if self.rx_dropped || self.slots().is_closed() {
            return Err(TrySendError::Closed(()));
        }
        if n > self.max || !self.slots().try_take(n) {
            return Err(TrySendError::Full(()));
        }
        self.reserved += n;
        Ok(())
    }

    /// Whether the receiving side sees the channel closed (tokio's `is_closed` of a
    /// receiver): closed, or every sender gone.
    fn rx_sees_closed(&self) -> bool {
        self.rx_closed || self.senders == 0
    }

    /// A reserved slot is used (`sent`: it now holds a message) or given back.
    fn unreserve(&mut self, sent: bool, wakers: &mut Wakers) {
        if !sent {
            self.slots().give(1, wakers);
        }
        self.reserved -= 1;
        self.wake_rx_if_ended(wakers);
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
                max: cap.unwrap_or(0),
                senders: 1,
                weak: 0,
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
        self.release_reserved_n(1);
    }

    /// Gives back `n` slots reserved by permits, unused.
    fn release_reserved_n(&self, n: usize) {
        let mut wakers = Wakers::default();
        {
            let mut st = lock(&self.state);
            for _ in 0..n {
                st.unreserve(false, &mut wakers);
            }
        }
        wakers.wake();
    }

    /// Polls for up to `limit` messages into `buf`; their count (0 once no message can
    /// come, or for a `limit` of 0).
    fn poll_recv_many(
        &self,
        rx: &mut Waiter,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let what = "sim::sync::mpsc::Receiver::recv_many";
        let mut op = RecvMany { buf, limit };
        self.res.poll_op(what, &self.state, rx, &mut op, cx.waker())
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

/// A receive of up to `limit` messages into `buf`, as an operation of the protocol;
/// it waits (in the receiver's place, like [`Recv`]) while no message is there.
struct RecvMany<'a, T> {
    buf: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Op<State<T>> for RecvMany<'_, T> {
    type Place = WakerSlot;
    type Output = usize;

    fn place(st: &mut State<T>) -> &mut WakerSlot {
        &mut st.rx
    }

    fn now(&self, st: &State<T>) -> bool {
        !st.buf.is_empty() || st.ended()
    }

    fn complete(&mut self, st: &mut State<T>, cx: &mut Ctx<'_>, wakers: &mut Wakers) -> usize {
        let mut n = 0;
        while n < self.limit {
            match Chan::take(st, cx, wakers) {
                Some(v) => self.buf.push(v),
                None => break,
            }
            n += 1;
        }
        if n == 0 {
            // Ordered after the senders' drop or the close that ended the channel.
            cx.event(ResourceOp::Served, 0);
        }
        n
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
}

/// What a [`SlotFut`] puts into the slot it gets: a message or a reservation.
trait Fill<T>: Sized {
    /// How many slots it takes.
    fn slots(&self) -> usize {
        1
    }

    /// Fills the slots just taken; gives `self` back if it cannot (they are then
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

/// A reservation of this many slots, kept for [`Permit`]s.
struct Reservation(usize);

impl<T> Fill<T> for Reservation {
    fn slots(&self) -> usize {
        self.0
    }

    fn fill(self, st: &mut State<T>, _: &mut Ctx<'_>, _: &mut Wakers) -> Result<(), Self> {
        st.reserved += self.0;
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
    /// The slots it takes (the fill's).
    n: usize,
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
        st.rx_dropped || st.slots_ref().completes_at_once(self.n)
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
        match st.slots().take_at_once(self.n) {
            Ok(()) => self.fill().fill(st, cx, wakers),
            Err(Closed) => Err(self.fill()),
        }
    }

    fn park(&mut self, st: &mut State<T>, _: &mut Ctx<'_>) -> SemWait {
        st.slots().park(self.n)
    }

    fn released(
        &mut self,
        st: &mut State<T>,
        w: SemWait,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> Option<Self::Output> {
        Some(match st.slots().take_up(w, wakers) {
            // Handed its slots before the receiver closed, taken up after: it fails
            // (as tokio's) and gives them back.
            Ok(()) if st.rx_closed => {
                st.slots().give(self.n, wakers);
                st.wake_rx_if_ended(wakers);
                Err(self.fill())
            }
            Ok(()) => self.fill().fill(st, cx, wakers),
            // Failed by the close: the slots it had been assigned are back.
            Err(Closed) => {
                st.wake_rx_if_ended(wakers);
                Err(self.fill())
            }
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
        st.wake_rx_if_ended(wakers);
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
        let n = fill.slots();
        SlotFut {
            chan: &self.chan,
            what,
            waiter: Waiter::new(),
            op: SlotOp {
                fill: Some(fill),
                n,
            },
        }
    }

    /// Waits for a slot and reserves it.
    async fn reserve_slot(&self) -> Result<(), SendError<()>> {
        self.slot("sim::sync::mpsc::Sender::reserve", Reservation(1))
            .await
            .map_err(|Reservation(_)| SendError(()))
    }

    /// Reserves `n` free slots at once, if the channel is open and they are free.
    fn try_reserve_slots(&self, what: &str, n: usize) -> Result<(), TrySendError<()>> {
        self.chan
            .res
            .update(what, &self.chan.state, |st, _, _| st.try_reserve(n))
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

    /// Waits for `n` slots, taken together, and reserves them: the iterator yields
    /// `n` [`Permit`]s, as `tokio::sync::mpsc::Sender::reserve_many`. Fails once the
    /// receiver is closed or dropped, or at once if `n` is more than
    /// [`max_capacity`](Self::max_capacity). Slots of permits not used come back when
    /// the iterator is dropped.
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(3);
    ///     for (i, permit) in tx.reserve_many(2).await.unwrap().enumerate() {
    ///         permit.send(i);
    ///     }
    ///     assert_eq!(rx.recv().await, Some(0));
    ///     assert_eq!(rx.recv().await, Some(1));
    /// }).unwrap();
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        self.slot("sim::sync::mpsc::Sender::reserve_many", Reservation(n))
            .await
            .map_err(|Reservation(_)| SendError(()))?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Reserves a slot if one is free now, as `tokio::sync::mpsc::Sender::try_reserve`.
    ///
    /// ```
    /// use sim::sync::mpsc::{self, error::TrySendError};
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    /// permit.send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.try_reserve_slots("sim::sync::mpsc::Sender::try_reserve", 1)?;
        Ok(Permit {
            chan: Some(&self.chan),
        })
    }

    /// Reserves `n` slots if they are free now (`Full` if `n` is more than
    /// [`max_capacity`](Self::max_capacity)), as
    /// `tokio::sync::mpsc::Sender::try_reserve_many`.
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// let (tx, mut rx) = mpsc::channel(2);
    /// let mut permits = tx.try_reserve_many(2).unwrap();
    /// assert!(tx.try_reserve().is_err());
    /// permits.next().unwrap().send(1);
    /// drop(permits); // the unused slot comes back
    /// assert_eq!(tx.capacity(), 1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.try_reserve_slots("sim::sync::mpsc::Sender::try_reserve_many", n)?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Like [`try_reserve`](Self::try_reserve), consuming a sender clone (given back
    /// in the error), as `tokio::sync::mpsc::Sender::try_reserve_owned`.
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.clone().try_reserve_owned().unwrap();
    /// let tx2 = permit.send(4);
    /// assert!(tx2.try_reserve_owned().is_err()); // full
    /// assert_eq!(rx.try_recv(), Ok(4));
    /// # drop(tx);
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.try_reserve_slots("sim::sync::mpsc::Sender::try_reserve_owned", 1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Sends `value`, waiting at most `timeout` (of virtual time) for a free slot, as
    /// `tokio::sync::mpsc::Sender::send_timeout`; the value comes back on a timeout or
    /// once the receiver is closed or dropped. Another task may run first when a slot
    /// is free (its [scheduling point](crate::sync#scheduling-rules)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sim::sync::mpsc::{self, error::SendTimeoutError};
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let (tx, _rx) = mpsc::channel(1);
    ///     tx.send_timeout(1, Duration::from_millis(5)).await.unwrap();
    ///     let full = tx.send_timeout(2, Duration::from_millis(5)).await;
    ///     assert!(matches!(full, Err(SendTimeoutError::Timeout(2))));
    ///     assert_eq!(sim::time::Instant::now().since_start(), Duration::from_millis(5));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    /// Outside a run if the send must wait (the timeout needs a run's virtual clock).
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: std::time::Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut slot = self.slot("sim::sync::mpsc::Sender::send_timeout", Message(value));
        let mut deadline: Option<Pin<Box<crate::time::Sleep>>> = None;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(sent) = Pin::new(&mut slot).poll(cx) {
                return Poll::Ready(sent.map_err(|Message(v)| SendTimeoutError::Closed(v)));
            }
            if !slot.waiter.is_parked() {
                // It yielded at its scheduling point with a slot free: no timeout yet.
                return Poll::Pending;
            }
            let sleep = deadline.get_or_insert_with(|| Box::pin(crate::time::sleep(timeout)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let chan = slot.chan;
            chan.res
                .cancel_op(&chan.state, &mut slot.waiter, &mut slot.op);
            let Message(v) = slot.op.fill();
            Poll::Ready(Err(SendTimeoutError::Timeout(v)))
        })
        .await
    }

    /// Sends `value` from synchronous code outside a run, blocking the calling thread
    /// while the channel is full, as `tokio::sync::mpsc::Sender::blocking_send`; see
    /// [the module docs](crate::sync#blocking-operations).
    ///
    /// # Panics
    /// Inside a simulated run (it would block the simulator's only thread).
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.blocking_send(1).unwrap();
    /// assert_eq!(rx.blocking_recv(), Some(1));
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        super::block_on_outside_run("sim::sync::mpsc::Sender::blocking_send", self.send(value))
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        lock(&self.chan.state).slots().available()
    }

    /// The channel's capacity (the bound it was created with).
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// let (tx, _rx) = mpsc::channel::<u8>(4);
    /// let _permit = tx.try_reserve().unwrap();
    /// assert_eq!((tx.capacity(), tx.max_capacity()), (3, 4));
    /// ```
    pub fn max_capacity(&self) -> usize {
        lock(&self.chan.state).max
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A [`WeakSender`]: it does not keep the channel open, and
    /// [`upgrade`](WeakSender::upgrade)s while a sender is left.
    ///
    /// ```
    /// use sim::sync::mpsc;
    /// let (tx, _rx) = mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        lock(&self.chan.state).weak += 1;
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// Senders of the channel (not weak ones).
    pub fn strong_count(&self) -> usize {
        lock(&self.chan.state).senders
    }

    /// Weak senders of the channel.
    pub fn weak_count(&self) -> usize {
        lock(&self.chan.state).weak
    }
}

/// `n` reserved slots of a bounded channel, as `tokio::sync::mpsc::PermitIterator`:
/// yields one [`Permit`] per slot; the slots of permits not taken come back when it
/// is dropped.
#[must_use = "dropping the iterator frees the slots it still holds"]
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    /// Slots still held.
    n: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit {
            chan: Some(self.chan),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.chan.release_reserved_n(std::mem::take(&mut self.n));
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("remaining", &self.n)
            .finish_non_exhaustive()
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

/// The future of a `recv_many`: cancels the receiver's wait if dropped while pending.
struct RecvManyFut<'a, T> {
    chan: &'a Chan<T>,
    rx: &'a mut Waiter,
    buf: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Future for RecvManyFut<'_, T> {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        this.chan.poll_recv_many(this.rx, cx, this.buf, this.limit)
    }
}

impl<T> Drop for RecvManyFut<'_, T> {
    fn drop(&mut self) {
        let chan = self.chan;
        // Same place as a receive's, nothing to pass on: cancel it as one.
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

            /// Waits for at least one message and takes up to `limit` of them into
            /// `buffer` (appended); their count. 0 at once for a `limit` of 0, and once
            /// the buffer is empty and no message can come, as tokio's `recv_many`.
            /// Cancellation safe. Another task may run first when a message is there
            /// (its [scheduling point](crate::sync#scheduling-rules)).
            ///
            /// ```
            /// use sim::sync::mpsc;
            /// futures::executor::block_on(async {
            ///     let (tx, mut rx) = mpsc::unbounded_channel();
            ///     for i in 0..3 {
            ///         tx.send(i).unwrap();
            ///     }
            ///     let mut got = Vec::new();
            ///     assert_eq!(rx.recv_many(&mut got, 2).await, 2);
            ///     drop(tx);
            ///     assert_eq!(rx.recv_many(&mut got, 2).await, 1);
            ///     assert_eq!(rx.recv_many(&mut got, 2).await, 0); // closed
            ///     assert_eq!(got, [0, 1, 2]);
            /// });
            /// ```
            pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                RecvManyFut {
                    chan: &self.chan,
                    rx: &mut self.rx,
                    buf: buffer,
                    limit,
                }
                .await
            }

            /// Polls for up to `limit` messages into `buffer` (see
            /// [`recv_many`](Self::recv_many)).
            pub fn poll_recv_many(
                &mut self,
                cx: &mut Context<'_>,
                buffer: &mut Vec<T>,
                limit: usize,
            ) -> Poll<usize> {
                self.chan.poll_recv_many(&mut self.rx, cx, buffer, limit)
            }

            /// Waits for the next message from synchronous code outside a run,
            /// blocking the calling thread, as tokio's `blocking_recv`; see [the module
            /// docs](crate::sync#blocking-operations).
            ///
            /// # Panics
            /// Inside a simulated run (it would block the simulator's only thread).
            #[track_caller]
            pub fn blocking_recv(&mut self) -> Option<T> {
                let what = concat!("sim::sync::mpsc::", stringify!($rx), "::blocking_recv");
                super::block_on_outside_run(what, self.recv())
            }

            /// Like [`recv_many`](Self::recv_many), blocking the calling thread outside
            /// a run.
            ///
            /// # Panics
            /// Inside a simulated run.
            #[track_caller]
            pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                let what = concat!("sim::sync::mpsc::", stringify!($rx), "::blocking_recv_many");
                super::block_on_outside_run(what, self.recv_many(buffer, limit))
            }

            /// Whether the channel is closed: [`close`](Self::close) was called or
            /// every sender is gone (buffered messages may remain).
            pub fn is_closed(&self) -> bool {
                lock(&self.chan.state).rx_sees_closed()
            }

            /// Senders of the channel (not weak ones).
            pub fn sender_strong_count(&self) -> usize {
                lock(&self.chan.state).senders
            }

            /// Weak senders of the channel.
            pub fn sender_weak_count(&self) -> usize {
                lock(&self.chan.state).weak
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

    /// A [`WeakUnboundedSender`]: it does not keep the channel open, and
    /// [`upgrade`](WeakUnboundedSender::upgrade)s while a sender is left.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        lock(&self.chan.state).weak += 1;
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// Senders of the channel (not weak ones).
    pub fn strong_count(&self) -> usize {
        lock(&self.chan.state).senders
    }

    /// Weak senders of the channel.
    pub fn weak_count(&self) -> usize {
        lock(&self.chan.state).weak
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

macro_rules! weak_sender {
    ($weak:ident, $strong:ident) => {
        /// A sender that does not keep the channel open: the channel closes when the
        /// last strong sender goes, and [`upgrade`](Self::upgrade) then fails.
        pub struct $weak<T> {
            chan: Arc<Chan<T>>,
        }

        impl<T> $weak<T> {
            /// A strong sender, while one is left (`None` once the last is gone).
            pub fn upgrade(&self) -> Option<$strong<T>> {
                let mut st = lock(&self.chan.state);
                if st.senders == 0 {
                    return None;
                }
                st.senders += 1;
                Some($strong {
                    chan: self.chan.clone(),
                })
            }

            /// Strong senders of the channel.
            pub fn strong_count(&self) -> usize {
                lock(&self.chan.state).senders
            }

            /// Weak senders of the channel.
            pub fn weak_count(&self) -> usize {
                lock(&self.chan.state).weak
            }
        }

        impl<T> Clone for $weak<T> {
            fn clone(&self) -> Self {
                lock(&self.chan.state).weak += 1;
                $weak {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $weak<T> {
            fn drop(&mut self) {
                lock(&self.chan.state).weak -= 1;
            }
        }

        impl<T> fmt::Debug for $weak<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($weak)).finish_non_exhaustive()
            }
        }
    };
}

weak_sender!(WeakSender, Sender);
weak_sender!(WeakUnboundedSender, UnboundedSender);

// As tokio's: a panic while using a channel half leaves the channel consistent (no
// user code runs under its lock), so the halves may cross `catch_unwind`.
macro_rules! unwind_safe {
    ($($ty:ident),*) => {
        $(
            impl<T> std::panic::UnwindSafe for $ty<T> {}
            impl<T> std::panic::RefUnwindSafe for $ty<T> {}
        )*
    };
}

unwind_safe!(
    Sender,
    Receiver,
    UnboundedSender,
    UnboundedReceiver,
    WeakSender,
    WeakUnboundedSender,
    OwnedPermit
);
impl<T> std::panic::UnwindSafe for Permit<'_, T> {}
impl<T> std::panic::RefUnwindSafe for Permit<'_, T> {}
impl<T> std::panic::UnwindSafe for PermitIterator<'_, T> {}
impl<T> std::panic::RefUnwindSafe for PermitIterator<'_, T> {}

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
