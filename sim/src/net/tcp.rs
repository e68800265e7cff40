//! TCP: [`TcpListener`], [`TcpStream`] and its halves, with tokio's names and
//! semantics, over the world's connections.
//!
//! Every async operation (`accept`, `connect`, `read`, `write`, `shutdown`) is an
//! operation of the protocol (`sync::wait::Op`, driven by `net::drive`): it has its
//! scheduling point when it completes at once, parks in its connection's place
//! (visible to the deadlock detector) and is cancellation safe (a dropped read takes
//! nothing; bytes stay for the next). Owns the streams' lifecycles (FIN on drop, resets
//! seen); must not decide anything about time or faults (the world's rules do).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::addr::{ToSocketAddrs, resolve};
use super::world::{ConnId, Handshake, HostId, SEND_BUFFER, Slot, State, World};
use super::{Cursor, arm, cancel, drive, error, net};
use crate::ids::ResourceId;
use crate::runtime::context;
use crate::sync::wait::{Ctx, Op, Res, Waiter, Wakers};
use crate::trace::ResourceOp;

/// The clock of the world's run, if it is still current (drop paths).
fn clock(world: &World) -> Option<Duration> {
    context::clock_of_run(world.run_id, |c| c.now())
}

/// Registers `res` in the current run, names it, and returns its id.
fn register(res: &Res, what: &str, name: String) -> ResourceId {
    let id = res.with(what, |_, id| id);
    context::network(what, |n| n.name_resource(id, Arc::from(name)));
    id
}

// --- listener -----------------------------------------------------------------------

/// A TCP socket listening for connections (mirrors `tokio::net::TcpListener`).
///
/// ```
/// use sim::net::{TcpListener, TcpStream};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = sim::spawn(async move { TcpStream::connect(addr).await.unwrap() });
///     let (server_side, peer) = listener.accept().await.unwrap();
///     let client_side = client.await.unwrap();
///     assert_eq!(peer, client_side.local_addr().unwrap());
///     assert_eq!(server_side.peer_addr().unwrap(), peer);
///     let refused = TcpStream::connect("127.0.0.1:1").await.unwrap_err();
///     assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
/// }).unwrap();
/// ```
pub struct TcpListener {
    world: Arc<World>,
    key: (HostId, u16),
    addr: SocketAddr,
    resource: ResourceId,
    res: Res,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TcpListener {
    /// Listens on `addr` of the current task's host (`0.0.0.0`: its address and
    /// loopback; port 0: a free port).
    ///
    /// # Errors
    /// A malformed or unknown address, an address of another host
    /// (`AddrNotAvailable`), a port in use (`AddrInUse`).
    ///
    /// # Panics
    /// Outside a run.
    #[track_caller]
    pub fn bind<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpListener>> {
        let at = Location::caller();
        async move { Self::bind_at(addr, at).await }
    }

    async fn bind_at<A: ToSocketAddrs>(
        addr: A,
        at: &'static Location<'static>,
    ) -> io::Result<TcpListener> {
        let what = "sim::net::TcpListener::bind";
        let requested = resolve(&addr, what)?[0];
        crate::task::scheduling_point().await;
        let run = net(what);
        let host = context::network(what, |n| n.current_host());
        let addr = run.world.state.lock().bind_addr(host, requested, false)?;
        let res = Res::new_at("tcp-listener", at);
        let id = register(&res, what, addr.to_string());
        {
            let mut st = run.world.state.lock();
            st.listeners.insert(
                (host, addr.port()),
                super::world::Listener {
                    addr,
                    backlog: Default::default(),
                    slot: Slot::default(),
                    resource: id,
                },
            );
            st.sockets
                .insert(id, super::world::Sock::Listener(host, addr.port()));
        }
        res.with(what, |r, id| {
            r.event(id, ResourceOp::Bind, u64::from(addr.port()))
        });
        Ok(TcpListener {
            world: run.world.clone(),
            key: (host, addr.port()),
            addr,
            resource: id,
            res,
        })
    }

    /// Waits for the next connection: the stream and the peer's address.
    ///
    /// # Errors
    /// When the listener's host crashed.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let id = Accept {
            listener: self,
            waiter: Waiter::new(),
            op: AcceptOp { key: self.key },
        }
        .await?;
        let stream = TcpStream::from_end(&self.world, id, 1);
        let peer = stream.inner.peer;
        Ok((stream, peer))
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// Never (as tokio's, it returns a `Result`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let now = clock(&self.world);
        let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
        {
            let mut st = self.world.state.lock();
            if let Some(now) = now {
                st.now = now;
            }
            let mine = st
                .listeners
                .get(&self.key)
                .is_some_and(|l| l.resource == self.resource);
            if let Some(mut l) = mine.then(|| st.listeners.remove(&self.key)).flatten() {
                wakers.extend(l.slot.release());
                // Queued, never accepted: the clients see a reset.
                for (_, id) in l.backlog {
                    st.abandon_server(id);
                    st.settle_conn(id, Waker::noop(), false, &mut wakers, &mut timers);
                }
            }
        }
        arm(&self.world, timers);
        wakers.wake();
    }
}

/// The future of [`TcpListener::accept`].
struct Accept<'a> {
    listener: &'a TcpListener,
    waiter: Waiter,
    op: AcceptOp,
}

struct AcceptOp {
    key: (HostId, u16),
}

impl Op<State> for AcceptOp {
    type Place = Slot;
    type Output = io::Result<ConnId>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, st: &State) -> bool {
        match st.listeners.get(&self.key) {
            None => true,
            Some(l) => l.backlog.front().is_some_and(|b| b.0 <= st.now),
        }
    }

    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> io::Result<ConnId> {
        let Some(l) = st.listeners.get_mut(&self.key) else {
            return Err(error(
                io::ErrorKind::NotConnected,
                "the listener's host crashed",
            ));
        };
        let (_, id) = l.backlog.pop_front().expect("due");
        let end = &mut st.conns[id].ends[1];
        end.open = true;
        cx.event(
            ResourceOp::Accept,
            usize::from(st.conns[id].ends[0].addr.port()),
        );
        Ok(id)
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

impl Future for Accept<'_> {
    type Output = io::Result<ConnId>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let l = this.listener;
        let cursor = Cursor::Listener(l.key.0, l.key.1);
        drive(
            &l.world,
            &l.res,
            "sim::net::TcpListener::accept",
            cursor,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl Drop for Accept<'_> {
    fn drop(&mut self) {
        let l = self.listener;
        let cursor = Cursor::Listener(l.key.0, l.key.1);
        cancel(&l.world, &l.res, cursor, &mut self.waiter, &mut self.op);
    }
}

impl State {
    /// A connection queued at a listener that went away: its client sees a reset.
    fn abandon_server(&mut self, id: ConnId) {
        let now = self.now;
        let (c, s) = (self.conns[id].ends[0].host, self.conns[id].ends[1].host);
        let lat = self.route_latency(s, c);
        self.conns[id].ends[0].reset_at.get_or_insert(now + lat);
        self.conns[id].ends[1].reading = false;
    }

    fn route_latency(&mut self, from: HostId, to: HostId) -> Duration {
        let l = self.link(from, to).config.latency;
        l.sample(&mut self.rng)
    }
}

// --- stream -------------------------------------------------------------------------

/// What the halves of a stream share: its end of a connection.
struct Inner {
    world: Arc<World>,
    conn: ConnId,
    end: usize,
    res: Arc<Res>,
    local: SocketAddr,
    peer: SocketAddr,
    /// `SO_LINGER` ([`TcpStream::set_linger`]): at zero, dropping the stream resets
    /// the connection instead of closing it.
    linger: std::sync::Mutex<Option<Duration>>,
}

/// A TCP connection (mirrors `tokio::net::TcpStream`): an ordered, reliable byte
/// stream whose bytes arrive after their link's latency, in pieces (a write may be
/// cut in two; a read returns what has arrived, up to the buffer's size). Implements
/// tokio's and futures' `AsyncRead` and `AsyncWrite`.
///
/// Writes wait while the send buffer (64 KiB written and not yet read by the peer)
/// is full. `shutdown` sends a FIN: the peer reads the bytes before it, then 0.
/// Dropping the stream does the same; writing to a peer that dropped its stream fails
/// with `BrokenPipe`. A crash of the peer's host resets the stream (`ConnectionReset`).
pub struct TcpStream {
    inner: Arc<Inner>,
    read: Waiter,
    write: Waiter,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl TcpStream {
    /// Opens a connection to `addr` from the current task's host: it completes after a
    /// round trip, fails with `ConnectionRefused` when nothing listens there, and with
    /// `TimedOut` when no answer comes in time (across a partition, to a crashed host;
    /// see [`set_connect_timeout`](super::set_connect_timeout)).
    ///
    /// # Errors
    /// Those above, and a malformed address (`InvalidInput`), an unknown host name
    /// (`NotFound`), an address no host has (`HostUnreachable`).
    ///
    /// # Panics
    /// Outside a run.
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpStream>> {
        let at = Location::caller();
        async move { Self::connect_at(addr, at).await }
    }

    async fn connect_at<A: ToSocketAddrs>(
        addr: A,
        at: &'static Location<'static>,
    ) -> io::Result<TcpStream> {
        let what = "sim::net::TcpStream::connect";
        let mut last = None;
        for addr in resolve(&addr, what)? {
            match connect_one(addr, at).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one address"))
    }

    fn from_end(world: &Arc<World>, conn: ConnId, end: usize) -> TcpStream {
        let st = world.state.lock();
        let c = &st.conns[conn];
        TcpStream {
            inner: Arc::new(Inner {
                world: world.clone(),
                conn,
                end,
                res: c.res.clone(),
                local: c.ends[end].addr,
                peer: c.ends[1 - end].addr,
                linger: std::sync::Mutex::new(None),
            }),
            read: Waiter::new(),
            write: Waiter::new(),
        }
    }

    /// Its local address.
    ///
    /// # Errors
    /// Never (as tokio's, it returns a `Result`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The peer's address.
    ///
    /// # Errors
    /// Never (as tokio's, it returns a `Result`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Accepted for compatibility; segments are never delayed for coalescing here.
    ///
    /// # Errors
    /// Never.
    pub fn set_nodelay(&self, _nodelay: bool) -> io::Result<()> {
        Ok(())
    }

    /// Always `true` (see [`set_nodelay`](Self::set_nodelay)).
    ///
    /// # Errors
    /// Never.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(true)
    }

    /// Sets `SO_LINGER` (mirrors tokio's `set_linger`): with `Some(Duration::ZERO)`,
    /// dropping the stream resets the connection (the peer's operations fail with
    /// `ConnectionReset` once the reset arrives) instead of closing it after the bytes
    /// written; any other value closes it as usual (a drop never blocks).
    ///
    /// # Errors
    /// Never.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        *self.inner.linger.lock().unwrap_or_else(|e| e.into_inner()) = dur;
        Ok(())
    }

    /// `set_linger(Some(Duration::ZERO))`: dropping the stream resets the connection
    /// (mirrors tokio's `set_zero_linger`).
    ///
    /// # Errors
    /// Never.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.set_linger(Some(Duration::ZERO))
    }

    /// The value [`set_linger`](Self::set_linger) set (`None` by default).
    ///
    /// # Errors
    /// Never.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(*self.inner.linger.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits for bytes (or the end of the stream) and copies what has arrived into
    /// `buf` without taking it: the next read returns the same bytes (mirrors tokio's
    /// `peek`; 0 at the end of the stream). Its wait uses a waiter of its own: a peek
    /// and a read of the same stream must not wait at the same time.
    ///
    /// # Errors
    /// As a read: the stream's host crashed, or the peer's host did (`ConnectionReset`).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut waiter = Waiter::new();
        self.inner.peek(&mut waiter, buf).await
    }

    /// Borrows the stream as a reading and a writing half (mirrors tokio's `split`).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            ReadHalf {
                inner: &self.inner,
                waiter: &mut self.read,
            },
            WriteHalf {
                inner: &self.inner,
                waiter: &mut self.write,
            },
        )
    }

    /// Splits the stream into halves that can move to different tasks (mirrors tokio's
    /// `into_split`); dropping the writing half shuts the writing side down.
    pub fn into_split(mut self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let read = std::mem::take(&mut self.read);
        let write = std::mem::take(&mut self.write);
        let inner = self.inner.clone();
        drop(self);
        (
            OwnedReadHalf {
                inner: inner.clone(),
                waiter: read,
            },
            OwnedWriteHalf {
                inner,
                waiter: write,
                shutdown_on_drop: true,
            },
        )
    }
}

/// Connects to one address.
async fn connect_one(addr: SocketAddr, at: &'static Location<'static>) -> io::Result<TcpStream> {
    let what = "sim::net::TcpStream::connect";
    let run = net(what);
    let (host, now) = context::network(what, |n| (n.current_host(), n.now()));
    let (dst, local, timeout) = {
        let mut st = run.world.state.lock();
        let Some(dst) = st.reach(host, addr.ip()) else {
            return Err(error(
                io::ErrorKind::HostUnreachable,
                format!(
                    "cannot connect to {addr}: no host has address {}",
                    addr.ip()
                ),
            ));
        };
        let ip = if addr.ip().is_loopback() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            st.hosts[host as usize].ip
        };
        let port = st.ephemeral_port(host, false);
        (dst, SocketAddr::new(ip, port), st.connect_timeout)
    };
    let res = Arc::new(Res::new_at("tcp", at));
    let resource = register(&res, what, format!("{local}->{addr}"));
    let id = {
        let mut st = run.world.state.lock();
        st.now = now;
        let id = st.new_conn((host, local), (dst, addr), res.clone(), resource);
        st.handshake(id);
        id
    };
    res.with(what, |r, rid| {
        r.event(rid, ResourceOp::Connect, u64::from(addr.port()))
    });
    let connecting = Connecting {
        world: run.world.clone(),
        res,
        waiter: Waiter::new(),
        op: ConnectOp { id },
    };
    let done = match timeout {
        None => connecting.await,
        Some(t) => match crate::time::timeout(t, connecting).await {
            Ok(r) => r,
            Err(_) => {
                let st = run.world.state.lock();
                let r = st.conns[id].res.clone();
                drop(st);
                r.with(what, |r, rid| r.event(rid, ResourceOp::TimedOut, 0));
                return Err(error(
                    io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out after {t:?}"),
                ));
            }
        },
    };
    done?;
    Ok(TcpStream::from_end(&run.world, id, 0))
}

/// The future of a connect's handshake.
struct Connecting {
    world: Arc<World>,
    res: Arc<Res>,
    waiter: Waiter,
    op: ConnectOp,
}

struct ConnectOp {
    id: ConnId,
}

impl Op<State> for ConnectOp {
    type Place = Slot;
    type Output = io::Result<()>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, st: &State) -> bool {
        let c = &st.conns[self.id];
        let due = |t: Duration| t <= st.now;
        c.ends[0].reset_at.is_some_and(due)
            || match c.handshake {
                Handshake::Done(t) | Handshake::Refused(t) => due(t),
                Handshake::Taken => true,
                Handshake::Blocked => false,
            }
    }

    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> io::Result<()> {
        let reset = st.reset_due(self.id, 0);
        let c = &mut st.conns[self.id];
        let addr = c.ends[1].addr;
        if reset {
            c.handshake = Handshake::Taken;
            c.ends[0].open = false;
            cx.event(ResourceOp::Reset, 0);
            return Err(reset_error());
        }
        match std::mem::replace(&mut c.handshake, Handshake::Taken) {
            Handshake::Done(_) => Ok(()),
            Handshake::Refused(_) => {
                c.ends[0].open = false;
                cx.event(ResourceOp::Refused, usize::from(addr.port()));
                Err(error(
                    io::ErrorKind::ConnectionRefused,
                    format!("connection to {addr} refused: nothing listens there"),
                ))
            }
            Handshake::Taken | Handshake::Blocked => {
                c.ends[0].open = false;
                Err(error(
                    io::ErrorKind::ConnectionReset,
                    format!("connection to {addr} reset"),
                ))
            }
        }
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

impl Future for Connecting {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cursor = Cursor::Write(this.op.id, 0);
        drive(
            &this.world,
            &this.res,
            "sim::net::TcpStream::connect",
            cursor,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        let cursor = Cursor::Write(self.op.id, 0);
        cancel(
            &self.world,
            &self.res,
            cursor,
            &mut self.waiter,
            &mut self.op,
        );
        let now = clock(&self.world);
        let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
        {
            let mut st = self.world.state.lock();
            if st.conns[self.op.id].handshake != Handshake::Taken {
                if let Some(now) = now {
                    st.now = now;
                }
                st.abandon(self.op.id);
                st.settle_conn(self.op.id, Waker::noop(), false, &mut wakers, &mut timers);
            }
        }
        arm(&self.world, timers);
        wakers.wake();
    }
}

/// A read of end `i`: what has arrived, up to the buffer's size; a peek leaves it to
/// be read.
struct ReadOp<'b> {
    id: ConnId,
    i: usize,
    buf: &'b mut [u8],
    peek: bool,
}

impl State {
    fn reset_due(&self, id: ConnId, i: usize) -> bool {
        self.conns[id].ends[i]
            .reset_at
            .is_some_and(|t| t <= self.now)
    }
}

fn reset_error() -> io::Error {
    error(
        io::ErrorKind::ConnectionReset,
        "connection reset by peer (its host crashed)",
    )
}

impl Op<State> for ReadOp<'_> {
    type Place = Slot;
    type Output = io::Result<usize>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, st: &State) -> bool {
        let c = &st.conns[self.id];
        !c.ends[self.i].open
            || st.reset_due(self.id, self.i)
            || c.pipes[1 - self.i].readable(st.now)
    }

    fn complete(
        &mut self,
        st: &mut State,
        cx: &mut Ctx<'_>,
        wakers: &mut Wakers,
    ) -> io::Result<usize> {
        let now = st.now;
        if !st.conns[self.id].ends[self.i].open {
            return Err(error(
                io::ErrorKind::NotConnected,
                "the stream's host crashed",
            ));
        }
        let reset = st.reset_due(self.id, self.i);
        let c = &mut st.conns[self.id];
        let pipe = &mut c.pipes[1 - self.i];
        let (bytes, fin) = pipe.pull(now);
        if bytes > 0 {
            cx.event(ResourceOp::Deliver, bytes);
        }
        if fin {
            cx.event(ResourceOp::Eof, 0);
        }
        if pipe.arrived > 0 {
            if self.peek {
                return Ok(pipe.peek(self.buf));
            }
            let n = pipe.read(self.buf);
            // The writer may have room again.
            wakers.extend(c.ends[1 - self.i].writer.release());
            return Ok(n);
        }
        if reset {
            cx.event(ResourceOp::Reset, 0);
            return Err(reset_error());
        }
        Ok(0) // The end of the stream.
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

/// A write of end `i`: as much as the send buffer takes.
struct WriteOp<'b> {
    id: ConnId,
    i: usize,
    data: &'b [u8],
}

impl Op<State> for WriteOp<'_> {
    type Place = Slot;
    type Output = io::Result<usize>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, st: &State) -> bool {
        let c = &st.conns[self.id];
        !c.ends[self.i].open
            || st.reset_due(self.id, self.i)
            || c.pipes[self.i].fin_sent
            || !c.ends[1 - self.i].reading
            || c.pipes[self.i].bytes.len() < SEND_BUFFER
    }

    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> io::Result<usize> {
        let c = &st.conns[self.id];
        if !c.ends[self.i].open {
            return Err(error(
                io::ErrorKind::NotConnected,
                "the stream's host crashed",
            ));
        }
        if st.reset_due(self.id, self.i) {
            cx.event(ResourceOp::Reset, 0);
            return Err(reset_error());
        }
        if c.pipes[self.i].fin_sent {
            return Err(error(io::ErrorKind::BrokenPipe, "write after shutdown"));
        }
        if !c.ends[1 - self.i].reading {
            return Err(error(
                io::ErrorKind::BrokenPipe,
                "the peer closed the connection",
            ));
        }
        let n = self
            .data
            .len()
            .min(SEND_BUFFER - c.pipes[self.i].bytes.len());
        if n == 0 {
            return Ok(0);
        }
        st.transmit(self.id, self.i, Some(&self.data[..n]));
        cx.event(ResourceOp::Transmit, n);
        Ok(n)
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

/// A shutdown of end `i`'s writing side: a FIN after the bytes written.
struct ShutdownOp {
    id: ConnId,
    i: usize,
}

impl Op<State> for ShutdownOp {
    type Place = Slot;
    type Output = io::Result<()>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, _: &State) -> bool {
        true
    }

    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> io::Result<()> {
        if st.conns[self.id].ends[self.i].open && !st.conns[self.id].pipes[self.i].fin_sent {
            st.conns[self.id].pipes[self.i].fin_sent = true;
            st.transmit(self.id, self.i, None);
            cx.event(ResourceOp::Shutdown, 0);
        }
        Ok(())
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

impl Inner {
    /// A read (a peek with `peek`) into `buf`.
    fn poll_read(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut op = ReadOp {
            id: self.conn,
            i: self.end,
            buf,
            peek,
        };
        let cursor = Cursor::Read(self.conn, self.end);
        let what = if peek {
            "sim::net::TcpStream::peek"
        } else {
            "sim::net::TcpStream::read"
        };
        drive(
            &self.world,
            &self.res,
            what,
            cursor,
            waiter,
            &mut op,
            cx.waker(),
        )
    }

    /// Waits for bytes (or the end of the stream) and copies them into `buf` without
    /// taking them: the next read returns them again.
    async fn peek(&self, waiter: &mut Waiter, buf: &mut [u8]) -> io::Result<usize> {
        /// Cancels the peek's wait if its future is dropped while it waits.
        struct Peeking<'a> {
            inner: &'a Inner,
            waiter: &'a mut Waiter,
        }
        impl Drop for Peeking<'_> {
            fn drop(&mut self) {
                self.inner.drop_waiter(self.waiter, true);
            }
        }
        let p = Peeking {
            inner: self,
            waiter,
        };
        std::future::poll_fn(|cx| p.inner.poll_read(p.waiter, cx, buf, true)).await
    }

    fn poll_write(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut op = WriteOp {
            id: self.conn,
            i: self.end,
            data,
        };
        let cursor = Cursor::Write(self.conn, self.end);
        drive(
            &self.world,
            &self.res,
            "sim::net::TcpStream::write",
            cursor,
            waiter,
            &mut op,
            cx.waker(),
        )
    }

    fn poll_shutdown(&self, waiter: &mut Waiter, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if waiter.is_parked() {
            // A write that found no room left this end's waiter parked (its future
            // dropped, or not polled since): a shutdown does not wait for room, as
            // tokio's does not. That write, polled again, starts afresh.
            self.drop_waiter(waiter, false);
        }
        let mut op = ShutdownOp {
            id: self.conn,
            i: self.end,
        };
        let cursor = Cursor::Write(self.conn, self.end);
        drive(
            &self.world,
            &self.res,
            "sim::net::TcpStream::shutdown",
            cursor,
            waiter,
            &mut op,
            cx.waker(),
        )
    }

    /// A waiter of this end is dropped: cancels its parked operation.
    fn drop_waiter(&self, waiter: &mut Waiter, read: bool) {
        let cursor = if read {
            Cursor::Read(self.conn, self.end)
        } else {
            Cursor::Write(self.conn, self.end)
        };
        let mut op = ShutdownOp {
            id: self.conn,
            i: self.end,
        };
        cancel(&self.world, &self.res, cursor, waiter, &mut op);
    }

    /// The writing side goes (a FIN, unless the host crashed), and with `all` the
    /// reading side too (the peer's writes fail from then on).
    fn close(&self, all: bool) {
        let now = clock(&self.world);
        let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
        let mut shut = false;
        {
            let mut st = self.world.state.lock();
            if let Some(now) = now {
                st.now = now;
            }
            let (id, i) = (self.conn, self.end);
            let up = st.conns[id].ends[i].open;
            let zero_linger =
                *self.linger.lock().unwrap_or_else(|e| e.into_inner()) == Some(Duration::ZERO);
            if all && up && zero_linger {
                // An RST instead of a FIN: the peer's next operation fails with
                // `ConnectionReset` once it arrives.
                let (host, other) = (st.conns[id].ends[i].host, st.conns[id].ends[1 - i].host);
                let at = st.now + st.route_latency(host, other);
                st.conns[id].ends[1 - i].reset_at.get_or_insert(at);
            } else if up && !st.conns[id].pipes[i].fin_sent {
                st.conns[id].pipes[i].fin_sent = true;
                st.transmit(id, i, None);
                shut = true;
            }
            if all {
                let c = &mut st.conns[id];
                c.ends[i].open = false;
                c.ends[i].reading = false;
                wakers.extend(c.ends[1 - i].writer.release());
            }
            st.settle_conn(id, Waker::noop(), false, &mut wakers, &mut timers);
        }
        if shut {
            self.res
                .enter_lenient(|cx| cx.event(ResourceOp::Shutdown, 0));
        }
        arm(&self.world, timers);
        wakers.wake();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close(true);
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.inner.drop_waiter(&mut self.read, true);
        self.inner.drop_waiter(&mut self.write, false);
    }
}

/// The reading half of a [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    inner: &'a Arc<Inner>,
    waiter: &'a mut Waiter,
}

/// The writing half of a [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    inner: &'a Arc<Inner>,
    waiter: &'a mut Waiter,
}

/// The reading half of a [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<Inner>,
    waiter: Waiter,
}

/// The writing half of a [`TcpStream::into_split`]: dropping it shuts the writing
/// side down (a FIN), as tokio's does.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<Inner>,
    waiter: Waiter,
    shutdown_on_drop: bool,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.local, self.peer)
    }
}

/// [`OwnedReadHalf::reunite`] got halves of two different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

impl ReadHalf<'_> {
    /// As [`TcpStream::peek`].
    ///
    /// # Errors
    /// As [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(self.waiter, buf).await
    }
}

impl OwnedReadHalf {
    /// As [`TcpStream::peek`].
    ///
    /// # Errors
    /// As [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(&mut self.waiter, buf).await
    }

    /// Puts the stream back together.
    ///
    /// # Errors
    /// When the halves come from different streams.
    pub fn reunite(mut self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        let stream = TcpStream {
            inner: self.inner.clone(),
            read: std::mem::take(&mut self.waiter),
            write: std::mem::take(&mut other.waiter),
        };
        Ok(stream)
    }

    /// The peer's address.
    ///
    /// # Errors
    /// Never.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Its local address.
    ///
    /// # Errors
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }
}

impl OwnedWriteHalf {
    /// The peer's address.
    ///
    /// # Errors
    /// Never.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Its local address.
    ///
    /// # Errors
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }
}

impl Drop for OwnedReadHalf {
    fn drop(&mut self) {
        self.inner.drop_waiter(&mut self.waiter, true);
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        self.inner.drop_waiter(&mut self.waiter, false);
        if self.shutdown_on_drop {
            self.inner.close(false);
        }
    }
}

macro_rules! read_impls {
    ($t:ty, |$s:ident| ($inner:expr, $waiter:expr)) => {
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                let dst = buf.initialize_unfilled();
                match $inner.poll_read($waiter, cx, dst, false) {
                    Poll::Ready(Ok(n)) => {
                        buf.advance(n);
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }

        impl futures::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $inner.poll_read($waiter, cx, buf, false)
            }
        }
    };
}

macro_rules! write_impls {
    ($t:ty, |$s:ident| ($inner:expr, $waiter:expr)) => {
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $inner.poll_write($waiter, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                $inner.poll_shutdown($waiter, cx)
            }
        }

        impl futures::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $inner.poll_write($waiter, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                $inner.poll_shutdown($waiter, cx)
            }
        }
    };
}

read_impls!(TcpStream, |s| (s.inner, &mut s.read));
write_impls!(TcpStream, |s| (s.inner, &mut s.write));
read_impls!(OwnedReadHalf, |s| (s.inner, &mut s.waiter));
write_impls!(OwnedWriteHalf, |s| (s.inner, &mut s.waiter));
read_impls!(ReadHalf<'_>, |s| (s.inner, s.waiter));
write_impls!(WriteHalf<'_>, |s| (s.inner, s.waiter));
