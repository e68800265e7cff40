//! A multi-producer, multi-consumer broadcast channel, as `tokio::sync::broadcast`:
//! every receiver sees every message sent after it subscribed, unless it lags.
//!
//! Owns a ring of the last `capacity` messages (behind `Arc`, so cloning a message for
//! a receiver runs outside the state lock), the sender and receiver counts and the
//! waiting receivers. It must not wake a task, drop a waker, clone or drop a message
//! while its state is locked.
//!
//! A receive is an operation of the common protocol (`wait::Op`): it has its
//! scheduling point when it completes at once (a message, a lag, a closed channel).
//! `send` is synchronous: no point.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::unsafe_parts::StateLock;
use std::task::{Context, Poll};

use futures::Stream;

use super::wait::{Ctx, Op, Res, WaitQueue, Waiter, Wakers, lock};
use crate::trace::ResourceOp;

/// Errors of this module.
pub mod error {
    use std::fmt;

    /// No receiver is subscribed: the value comes back.
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

    /// [`Receiver::recv`](super::Receiver::recv) failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and every message was received.
        Closed,
        /// The receiver fell behind: this many messages were overwritten before it
        /// read them. The next `recv` returns the oldest message still held.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// [`Receiver::try_recv`](super::Receiver::try_recv) failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No new message now.
        Empty,
        /// Every sender is gone and every message was received.
        Closed,
        /// The receiver fell behind by this many messages.
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct State<T> {
    /// The last `cap` messages; `buf[0]` has number `base`.
    buf: VecDeque<Arc<T>>,
    base: u64,
    cap: usize,
    senders: usize,
    /// Live [`WeakSender`]s (they keep no message flowing: the channel closes when
    /// `senders` reaches zero).
    weak_senders: usize,
    receivers: usize,
    // Invariant: how many receivers will receive message number `k` next, for each
    // `k` (counts sum to `receivers`); the smallest key is the oldest message some
    // receiver has not seen.
    positions: BTreeMap<u64, usize>,
    waiters: WaitQueue<()>,
    /// Senders waiting in `closed` for the last receiver to go.
    closers: WaitQueue<()>,
}

impl<T> State<T> {
    fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// A receiver will receive message `at` next.
    fn enter(&mut self, at: u64) {
        *self.positions.entry(at).or_default() += 1;
    }

    /// A receiver no longer receives message `at` next.
    fn leave(&mut self, at: u64) {
        if let Some(n) = self.positions.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.positions.remove(&at);
            }
        }
    }

    /// A new receiver at the tail.
    fn subscribe(&mut self) -> u64 {
        self.receivers += 1;
        let at = self.end();
        self.enter(at);
        at
    }

    /// Messages some receiver alive when they were sent has not seen yet (as tokio's
    /// `len`): from the oldest one a receiver will receive next to the newest.
    fn queued(&self) -> usize {
        match self.positions.keys().next() {
            Some(&oldest) => (self.end() - oldest.max(self.base)) as usize,
            None => 0,
        }
    }
}

struct Shared<T> {
    res: Res,
    state: StateLock<State<T>>,
}

/// A broadcast channel keeping the last `capacity` messages, `capacity` rounded up to a
/// power of two as tokio's is (a receiver lags once `capacity.next_power_of_two()`
/// newer messages are kept).
///
/// ```
/// use sim::sync::broadcast::{self, error::RecvError};
/// sim::Builder::new().seed(1).build().block_on(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..5 {
///         tx.send(i).unwrap();
///     }
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3))); // 0, 1, 2 overwritten
///     assert_eq!(rx.recv().await, Ok(3));
///     assert_eq!(rx.recv().await, Ok(4));
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// }).unwrap();
/// ```
///
/// # Panics
/// If `capacity` is zero or more than `usize::MAX >> 1` (as tokio).
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

/// Sends to every receiver; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender of a new channel keeping the last `capacity` messages (rounded up to a
    /// power of two, as [`channel`]), with no receiver yet
    /// ([`subscribe`](Self::subscribe) makes them), as
    /// `tokio::sync::broadcast::Sender::new`.
    ///
    /// ```
    /// use sim::sync::broadcast;
    /// let tx = broadcast::Sender::new(4);
    /// assert!(tx.send(1).is_err()); // nobody subscribed
    /// let mut rx = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    ///
    /// # Panics
    /// If `capacity` is zero or more than `usize::MAX >> 1` (as tokio).
    #[track_caller]
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "sim: broadcast channel requires capacity > 0");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        Sender {
            shared: Arc::new(Shared {
                res: Res::new("broadcast"),
                state: StateLock::new(State {
                    buf: VecDeque::new(),
                    base: 0,
                    cap: capacity.next_power_of_two(),
                    senders: 1,
                    weak_senders: 0,
                    receivers: 0,
                    positions: BTreeMap::new(),
                    waiters: WaitQueue::new(),
                    closers: WaitQueue::new(),
                }),
            }),
        }
    }

    /// Sends `value` to every subscribed receiver; returns how many there are. Fails
    /// (returning the value) if there is none.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let what = "sim::sync::broadcast::Sender::send";
        let shared = &*self.shared;
        let (sent, overwritten) = shared.res.update(what, &shared.state, |st, cx, wakers| {
            if st.receivers == 0 {
                return (Err(SendError(value)), None);
            }
            st.buf.push_back(Arc::new(value));
            let overwritten = if st.buf.len() > st.cap {
                st.base += 1;
                st.buf.pop_front()
            } else {
                None
            };
            st.waiters.release_all(wakers);
            cx.event(ResourceOp::Send, st.buf.len());
            (Ok(st.receivers), overwritten)
        });
        drop(overwritten); // Outside the lock and the core.
        sent
    }

    /// A new receiver that sees messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let next = lock(&self.shared.state).subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
            recv: Waiter::new(),
        }
    }

    /// Subscribed receivers.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }

    /// Messages queued: sent, not overwritten, and not yet received by every receiver
    /// that was subscribed when they were sent (as tokio's).
    ///
    /// ```
    /// use sim::sync::broadcast;
    /// let (tx, mut rx1) = broadcast::channel(8);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx1.try_recv().unwrap();
    /// assert_eq!(tx.len(), 2); // rx2 has not seen the first yet
    /// rx2.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.shared.state).queued()
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A [`WeakSender`] of this channel: it does not keep the channel open, and
    /// [`upgrade`](WeakSender::upgrade)s to a sender while some sender lives, as
    /// `tokio::sync::broadcast::Sender::downgrade`.
    ///
    /// ```
    /// use sim::sync::broadcast;
    /// let (tx, mut rx) = broadcast::channel::<u8>(4);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(tx);
    /// assert!(weak.upgrade().is_none()); // the last sender is gone: closed
    /// assert!(rx.is_closed());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        lock(&self.shared.state).weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// The number of [`Sender`]s of the channel.
    pub fn strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of [`WeakSender`]s of the channel.
    pub fn weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Waits until no receiver is subscribed (at once if none is), as
    /// `tokio::sync::broadcast::Sender::closed`. Cancellation safe. Another task may
    /// run first when none is left already (its [scheduling
    /// point](crate::sync#scheduling-rules)).
    ///
    /// ```
    /// use sim::sync::broadcast;
    /// sim::Builder::new().seed(1).build().block_on(async {
    ///     let (tx, rx) = broadcast::channel::<u8>(1);
    ///     sim::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert_eq!(tx.receiver_count(), 0);
    /// }).unwrap();
    /// ```
    pub async fn closed(&self) {
        ClosedFut {
            shared: &self.shared,
            waiter: Waiter::new(),
        }
        .await
    }
}

/// Waiting for the last receiver to go, as an operation of the protocol (released,
/// it looks again).
struct Closed;

impl<T> Op<State<T>> for Closed {
    type Place = WaitQueue<()>;
    type Output = ();

    fn place(st: &mut State<T>) -> &mut WaitQueue<()> {
        &mut st.closers
    }

    fn now(&self, st: &State<T>) -> bool {
        st.receivers == 0
    }

    fn complete(&mut self, _: &mut State<T>, cx: &mut Ctx<'_>, _: &mut Wakers) {
        // Ordered after the receivers' drops.
        cx.event(ResourceOp::Served, 0);
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
}

/// The future of [`Sender::closed`].
struct ClosedFut<'a, T> {
    shared: &'a Shared<T>,
    waiter: Waiter,
}

impl<T> Future for ClosedFut<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let what = "sim::sync::broadcast::Sender::closed";
        let shared = this.shared;
        shared.res.poll_op(
            what,
            &shared.state,
            &mut this.waiter,
            &mut Closed,
            cx.waker(),
        )
    }
}

impl<T> Drop for ClosedFut<'_, T> {
    fn drop(&mut self) {
        let shared = self.shared;
        shared
            .res
            .cancel_op(&shared.state, &mut self.waiter, &mut Closed);
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        {
            let mut st = lock(&shared.state);
            if st.senders > 1 {
                st.senders -= 1;
                return;
            }
        }
        shared.res.update_lenient(&shared.state, |st, cx, wakers| {
            st.senders -= 1;
            if st.senders == 0 {
                st.waiters.release_all(wakers);
                cx.event(ResourceOp::Close, 0);
            }
        });
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// A sender that does not keep the channel open, made by [`Sender::downgrade`], as
/// `tokio::sync::broadcast::WeakSender`.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> WeakSender<T> {
    /// A [`Sender`] of the channel if some sender still lives (the channel is open).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut st = lock(&self.shared.state);
        if st.senders == 0 {
            return None;
        }
        st.senders += 1;
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// The number of [`Sender`]s of the channel.
    pub fn strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of [`WeakSender`]s of the channel.
    pub fn weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        lock(&self.shared.state).weak_senders -= 1;
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// Receives every message sent after it subscribed. Also a [`Stream`] of
/// `Result<T, RecvError>` (a lag is an item; the stream ends when closed).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The number of the next message to receive.
    next: u64,
    /// The receive in progress.
    recv: Waiter,
}

/// What a receive found.
enum Step<T> {
    /// A message (cloned for the receiver outside the lock).
    Msg(Arc<T>),
    Lagged(u64),
    Closed,
}

/// A receive from the message numbered `next`, as an operation of the protocol.
/// Released by a send or the last sender's drop, it looks again.
struct Recv<'a> {
    next: &'a mut u64,
}

impl<T> Op<State<T>> for Recv<'_> {
    type Place = WaitQueue<()>;
    type Output = Step<T>;

    fn place(st: &mut State<T>) -> &mut WaitQueue<()> {
        &mut st.waiters
    }

    fn now(&self, st: &State<T>) -> bool {
        *self.next < st.end() || st.senders == 0
    }

    fn complete(&mut self, st: &mut State<T>, cx: &mut Ctx<'_>, _: &mut Wakers) -> Step<T> {
        let next = &mut *self.next;
        if *next < st.base {
            let missed = st.base - *next;
            st.leave(*next);
            *next = st.base;
            st.enter(*next);
            cx.event(ResourceOp::Lagged, missed as usize);
            return Step::Lagged(missed);
        }
        if *next < st.end() {
            let msg = st.buf[(*next - st.base) as usize].clone();
            st.leave(*next);
            *next += 1;
            st.enter(*next);
            cx.event(ResourceOp::Recv, (st.end() - *next) as usize);
            return Step::Msg(msg);
        }
        Step::Closed
    }

    fn park(&mut self, _: &mut State<T>, _: &mut Ctx<'_>) {}
}

impl<T: Clone> Receiver<T> {
    /// Polls for the next message (the [`Stream`] implementation uses it).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let what = "sim::sync::broadcast::Receiver::recv";
        let shared = &*self.shared;
        let mut op = Recv {
            next: &mut self.next,
        };
        match shared
            .res
            .poll_op(what, &shared.state, &mut self.recv, &mut op, cx.waker())
        {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Step::Msg(m)) => Poll::Ready(Ok(T::clone(&m))),
            Poll::Ready(Step::Lagged(n)) => Poll::Ready(Err(RecvError::Lagged(n))),
            Poll::Ready(Step::Closed) => Poll::Ready(Err(RecvError::Closed)),
        }
    }

    /// Waits for the next message. Cancellation safe: no message is skipped if the
    /// future is dropped. Another task may run first when a message is there (its
    /// [scheduling point](crate::sync#scheduling-rules)).
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        RecvFut { rx: self }.await
    }

    /// Takes the next message if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let what = "sim::sync::broadcast::Receiver::try_recv";
        let shared = &*self.shared;
        let mut op = Recv {
            next: &mut self.next,
        };
        let step = shared.res.update(what, &shared.state, |st, cx, wakers| {
            if Op::<State<T>>::now(&op, st) {
                Ok(op.complete(st, cx, wakers))
            } else {
                Err(TryRecvError::Empty)
            }
        })?;
        match step {
            Step::Msg(m) => Ok(T::clone(&m)),
            Step::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Step::Closed => Err(TryRecvError::Closed),
        }
    }

    /// A new receiver at the tail: it sees messages sent from now on.
    pub fn resubscribe(&self) -> Self {
        let next = lock(&self.shared.state).subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
            recv: Waiter::new(),
        }
    }

    /// Messages not yet received by this receiver (lagged ones included).
    pub fn len(&self) -> usize {
        (lock(&self.shared.state).end() - self.next) as usize
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct RecvFut<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T: Clone> Future for RecvFut<'_, T> {
    type Output = Result<T, RecvError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl<T> Drop for RecvFut<'_, T> {
    fn drop(&mut self) {
        let rx = &mut *self.rx;
        let shared = &*rx.shared;
        let mut op = Recv { next: &mut rx.next };
        shared.res.cancel_op(&shared.state, &mut rx.recv, &mut op);
    }
}

impl<T> Receiver<T> {
    /// Whether every [`Sender`] is gone, as `tokio::sync::broadcast::Receiver::is_closed`
    /// (messages may still be buffered).
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).senders == 0
    }

    /// The number of [`Sender`]s of the channel.
    pub fn sender_strong_count(&self) -> usize {
        lock(&self.shared.state).senders
    }

    /// The number of [`WeakSender`]s of the channel.
    pub fn sender_weak_count(&self) -> usize {
        lock(&self.shared.state).weak_senders
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let mut op = Recv {
            next: &mut self.next,
        };
        let recv = &mut self.recv;
        let buffered = shared.res.update_lenient(&shared.state, |st, cx, wakers| {
            recv.cancel(&mut op, st, cx, wakers);
            st.receivers -= 1;
            st.leave(*op.next);
            if st.receivers > 0 {
                return VecDeque::new();
            }
            // The last receiver: no one will receive the messages held (as tokio, they
            // are dropped now), and senders waiting in `closed` pass.
            st.closers.release_all(wakers);
            st.base = st.end();
            std::mem::take(&mut st.buf)
        });
        drop(buffered); // Outside the lock and the core.
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = Result<T, RecvError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().poll_recv(cx) {
            Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(None),
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

// As tokio's: a panic while using a channel half leaves the channel consistent (no
// user code runs under its lock), so the halves may cross `catch_unwind`.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for WeakSender<T> {}
impl<T> std::panic::RefUnwindSafe for WeakSender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}
