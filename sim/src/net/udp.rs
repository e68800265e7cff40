//! UDP: [`UdpSocket`], with tokio's names, over the world's datagram queues.
//!
//! `send_to`/`send` and `recv_from`/`recv` are operations of the protocol
//! (`sync::wait::Op`): a send completes at once after its scheduling point (what
//! happens to the datagram is the link's rules' business: loss, duplication,
//! reordering, holds, partitions); a receive parks until a datagram is due. Owns the
//! sockets' lifecycle; must not decide anything about time or faults.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::addr::{ToSocketAddrs, resolve, resolve_in};
use super::world::{HostId, Slot, Sock, State, Udp, Verdict, World};
use super::{Cursor, cancel, drive, error, net};
use crate::ids::ResourceId;
use crate::runtime::context;
use crate::sync::wait::{Ctx, Op, Res, Waiter, Wakers};
use crate::trace::ResourceOp;

/// A UDP socket (mirrors `tokio::net::UdpSocket`). Datagrams arrive after their
/// link's latency, and may be lost, duplicated or reordered (see
/// [`LinkConfig`](super::LinkConfig)); a datagram to a port where nothing is bound, or
/// to a crashed host, is lost.
///
/// ```
/// use sim::net::UdpSocket;
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// }).unwrap();
/// ```
pub struct UdpSocket {
    world: Arc<World>,
    key: (HostId, u16),
    addr: SocketAddr,
    resource: ResourceId,
    res: Res,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.addr)
            .finish()
    }
}

impl UdpSocket {
    /// Binds a socket to `addr` on the current task's host (`0.0.0.0`: its address and
    /// loopback; port 0: a free port).
    ///
    /// # Errors
    /// A malformed or unknown address, an address of another host
    /// (`AddrNotAvailable`), a port in use (`AddrInUse`).
    ///
    /// # Panics
    /// Outside a run.
    #[track_caller]
    pub fn bind<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<UdpSocket>> {
        let at = Location::caller();
        async move { Self::bind_at(addr, at).await }
    }

    async fn bind_at<A: ToSocketAddrs>(
        addr: A,
        at: &'static Location<'static>,
    ) -> io::Result<UdpSocket> {
        let what = "sim::net::UdpSocket::bind";
        let requested = resolve(&addr, what)?[0];
        crate::task::scheduling_point().await;
        let run = net(what);
        let host = context::network(what, |n| n.current_host());
        let addr = run.world.state.lock().bind_addr(host, requested, true)?;
        let res = Res::new_at("udp", at);
        let resource = res.with(what, |_, id| id);
        context::network(what, |n| {
            n.name_resource(resource, Arc::from(addr.to_string()))
        });
        {
            let mut st = run.world.state.lock();
            st.udp.insert(
                (host, addr.port()),
                Udp {
                    addr,
                    queue: Default::default(),
                    slot: Slot::default(),
                    resource,
                    peer: None,
                    last_peer: None,
                },
            );
            st.sockets.insert(resource, Sock::Udp(host, addr.port()));
        }
        res.with(what, |r, id| {
            r.event(id, ResourceOp::Bind, u64::from(addr.port()))
        });
        Ok(UdpSocket {
            world: run.world.clone(),
            key: (host, addr.port()),
            addr,
            resource,
            res,
        })
    }

    /// Its local address.
    ///
    /// # Errors
    /// Never (as tokio's, it returns a `Result`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    /// The address it is connected to.
    ///
    /// # Errors
    /// `NotConnected` when it is not.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.world
            .state
            .lock()
            .udp
            .get(&self.key)
            .and_then(|s| s.peer)
            .ok_or_else(|| error(io::ErrorKind::NotConnected, "the socket is not connected"))
    }

    /// Connects the socket to `addr`: [`send`](Self::send) goes there, and
    /// [`recv`](Self::recv) takes only what comes from there.
    ///
    /// # Errors
    /// A malformed or unknown address.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let peer = resolve_in(&self.world, &addr)?[0];
        if let Some(s) = self.world.state.lock().udp.get_mut(&self.key) {
            s.peer = Some(peer);
        }
        Ok(())
    }

    /// Sends `buf` to `target`; returns its length (the datagram may still be lost).
    ///
    /// # Errors
    /// A malformed or unknown address, a socket whose host crashed.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let to = resolve_in(&self.world, &target)?[0];
        self.op(SendOp {
            key: self.key,
            to,
            data: buf,
        })
        .await
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Errors
    /// `NotConnected` when it is not connected.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let to = self.peer_addr()?;
        self.op(SendOp {
            key: self.key,
            to,
            data: buf,
        })
        .await
    }

    /// Waits for a datagram: its length (truncated to `buf`) and sender.
    ///
    /// # Errors
    /// A socket whose host crashed.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.op(RecvOp { key: self.key, buf }).await
    }

    /// Waits for a datagram from the connected peer; returns its length.
    ///
    /// # Errors
    /// `NotConnected` when it is not connected, a socket whose host crashed.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peer_addr()?;
        Ok(self.op(RecvOp { key: self.key, buf }).await?.0)
    }

    fn op<O: Op<State> + Unpin>(&self, op: O) -> SockOp<'_, O> {
        SockOp {
            socket: self,
            waiter: Waiter::new(),
            op,
        }
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let mut wakers = Wakers::default();
        {
            let mut st = self.world.state.lock();
            if st
                .udp
                .get(&self.key)
                .is_some_and(|s| s.resource == self.resource)
            {
                if let Some(mut s) = st.udp.remove(&self.key) {
                    wakers.extend(s.slot.release());
                }
            }
        }
        wakers.wake();
    }
}

/// The future of one operation on a socket.
struct SockOp<'a, O> {
    socket: &'a UdpSocket,
    waiter: Waiter,
    op: O,
}

impl<O: Op<State> + Unpin> Future for SockOp<'_, O> {
    type Output = O::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O::Output> {
        let this = self.get_mut();
        let s = this.socket;
        let cursor = Cursor::Udp(s.key.0, s.key.1);
        drive(
            &s.world,
            &s.res,
            "sim::net::UdpSocket",
            cursor,
            &mut this.waiter,
            &mut this.op,
            cx.waker(),
        )
    }
}

impl<O> Drop for SockOp<'_, O> {
    fn drop(&mut self) {
        if !self.waiter.is_parked() {
            return;
        }
        let s = self.socket;
        let cursor = Cursor::Udp(s.key.0, s.key.1);
        cancel(&s.world, &s.res, cursor, &mut self.waiter, &mut Cancel);
    }
}

/// Only to cancel a parked receive (its place is the socket's).
struct Cancel;

impl Op<State> for Cancel {
    type Place = Slot;
    type Output = ();

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, _: &State) -> bool {
        true
    }

    fn complete(&mut self, _: &mut State, _: &mut Ctx<'_>, _: &mut Wakers) {}

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

fn gone() -> io::Error {
    error(io::ErrorKind::NotConnected, "the socket's host crashed")
}

struct SendOp<'b> {
    key: (HostId, u16),
    to: SocketAddr,
    data: &'b [u8],
}

impl Op<State> for SendOp<'_> {
    type Place = Slot;
    type Output = io::Result<usize>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, _: &State) -> bool {
        true // A send never waits.
    }

    fn complete(&mut self, st: &mut State, cx: &mut Ctx<'_>, _: &mut Wakers) -> io::Result<usize> {
        if !st.udp.contains_key(&self.key) {
            return Err(gone());
        }
        let n = self.data.len();
        cx.event(ResourceOp::Transmit, n);
        match st.send_datagram(self.key, self.to, self.data) {
            Verdict::Drop => cx.event(ResourceOp::Lost, n),
            Verdict::Hold => {}
            Verdict::Deliver(_, copy) => {
                if copy.is_some() {
                    cx.event(ResourceOp::Duplicated, n);
                }
                if let Some(h) = st.reach(self.key.0, self.to.ip()) {
                    st.dirty.push(Cursor::Udp(h, self.to.port()));
                }
            }
        }
        Ok(n)
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

struct RecvOp<'b> {
    key: (HostId, u16),
    buf: &'b mut [u8],
}

impl Op<State> for RecvOp<'_> {
    type Place = Slot;
    type Output = io::Result<(usize, SocketAddr)>;

    fn place(st: &mut State) -> &mut Slot {
        let c = st.cursor;
        st.slot(c)
    }

    fn now(&self, st: &State) -> bool {
        let Some(s) = st.udp.get(&self.key) else {
            return true;
        };
        match s.peer {
            // The earliest is due: it is taken.
            None => s.queue.peek().is_some_and(|q| q.at <= st.now),
            // Only one from the peer counts (rare: a scan of the due ones).
            Some(p) => s
                .queue
                .iter()
                .any(|q| q.at <= st.now && q.datagram.from == p),
        }
    }

    fn complete(
        &mut self,
        st: &mut State,
        cx: &mut Ctx<'_>,
        _: &mut Wakers,
    ) -> io::Result<(usize, SocketAddr)> {
        let now = st.now;
        let Some(s) = st.udp.get_mut(&self.key) else {
            return Err(gone());
        };
        loop {
            let q = s.queue.pop().expect("a due datagram");
            debug_assert!(q.at <= now);
            let d = q.datagram;
            if s.peer.is_some_and(|p| p != d.from) {
                continue; // Not from the connected peer: discarded.
            }
            s.last_peer = Some(d.from);
            cx.event(ResourceOp::Deliver, d.data.len());
            let n = self.buf.len().min(d.data.len());
            self.buf[..n].copy_from_slice(&d.data[..n]);
            return Ok((n, d.from));
        }
    }

    fn park(&mut self, _: &mut State, _: &mut Ctx<'_>) {}
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<UdpSocket>();
    is::<super::TcpStream>();
    is::<super::TcpListener>();
    let _ = Waker::noop();
}
