//! A simulated network with tokio's names: [`TcpListener`], [`TcpStream`] (with
//! [`split`](TcpStream::split)/[`into_split`](TcpStream::into_split)), [`UdpSocket`],
//! [`lookup_host`] and [`ToSocketAddrs`]; named [`Host`]s with addresses that crash,
//! restart, pause and resume; and faults ([`partition`], [`hold`], per-link
//! [`LinkConfig`]s, [`swarm`]) from the test or from the seed.
//!
//! A test written against `tokio::net` runs here by changing its `use` lines:
//! [`TcpStream`] implements tokio's and futures' `AsyncRead`/`AsyncWrite`, so
//! `tokio::io::AsyncReadExt`, `tokio_util::codec` and `futures` codecs work unchanged.
//! Without any declared host, everything runs on host `main` (address 192.0.2.1, and
//! loopback): binding `127.0.0.1:PORT` in one task and connecting from another just
//! works.
//!
//! ```
//! use sim::net::{Host, TcpListener, TcpStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let mut rt = sim::Builder::new().seed(7).build();
//! rt.block_on(async {
//!     Host::builder("server").on_start(|| async {
//!         let listener = TcpListener::bind("0.0.0.0:7").await.unwrap();
//!         loop {
//!             let (mut stream, _) = listener.accept().await.unwrap();
//!             sim::spawn(async move {
//!                 let mut buf = [0; 64];
//!                 while let Ok(n @ 1..) = stream.read(&mut buf).await {
//!                     stream.write_all(&buf[..n]).await.unwrap();
//!                 }
//!             });
//!         }
//!     }).build();
//!     let client = Host::builder("client").build();
//!     let echoed = client.spawn(async {
//!         // The server binds when its start-up task first runs: give it a moment.
//!         sim::time::sleep(std::time::Duration::from_millis(1)).await;
//!         let mut s = TcpStream::connect("server:7").await.unwrap();
//!         s.write_all(b"hello").await.unwrap();
//!         let mut got = [0; 5];
//!         s.read_exact(&mut got).await.unwrap(); // bytes may arrive in pieces
//!         got
//!     });
//!     assert_eq!(&echoed.await.unwrap(), b"hello");
//! }).unwrap();
//! // Every connection, transmission and delivery is in the trace.
//! let trace = rt.trace().to_string();
//! assert!(trace.contains("connect tcp") && trace.contains("deliver tcp"));
//! ```
//!
//! **Time and order.** A message is due at its destination after its link's latency
//! (TCP segments stay in order; datagrams may be lost, duplicated and reordered). A
//! read waiting for data gets a timer for the next due message; messages due at the
//! same instant wake their readers together and the scheduler decides who runs first,
//! so those orders are scheduling decisions, in the schedule, replayed and shrunk like
//! any other. TCP writes may be cut into two segments (see [`LinkConfig::split`]) and
//! reads return whatever has arrived: a reader that treats one `read` as one message
//! is caught.
//!
//! **Faults.** [`partition`] cuts a link (both ways; [`partition_oneway`] one way):
//! datagrams are lost, TCP segments wait (TCP retransmits) and a new connect times out
//! ([`set_connect_timeout`]); [`repair`] lets them through. [`hold`] keeps every
//! message until [`release`]. [`set_link`] sets a link's latency distribution, loss,
//! duplication and reordering. [`swarm`] draws them for the whole network from the
//! seed (swarm testing); [`Builder::net_faults`](crate::Builder::net_faults) fixes
//! them. [`Host::crash`] drops every task of the host at once: its sockets vanish and
//! its peers see a reset one latency later; [`Host::restart`] runs its start-up
//! closure again.
//!
//! **Reports.** Every fault, transmission, delivery, loss and connection event is in
//! the trace (on the socket, link or host resource). A deadlock report names a task
//! blocked on a socket with its peer, the peer's host (`crashed`) and the state of
//! both links (`partitioned`, `held`).
//!
//! Owns sockets and hosts; reaches the run only through the `Network` facet and the
//! operation protocol (`sync::wait`): every async socket operation has its scheduling
//! point when it completes at once, parks visibly to the deadlock detector, and is
//! cancellation safe. It must not decide who runs, nor read the wall clock.

mod addr;
pub(crate) mod faults;
mod host;
mod tcp;
mod udp;
mod world;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

pub use addr::{ToSocketAddrs, lookup_host};
pub use faults::{
    DEFAULT_LATENCY, DEFAULT_SPLIT, Faults, LOOPBACK_LATENCY, Latency, LinkConfig, faults_of,
    report_lines,
};
pub use host::{
    AsHost, Host, HostBuilder, hold, hold_oneway, partition, partition_oneway, release,
    release_oneway, repair, repair_oneway, set_connect_timeout, set_link, set_link_oneway,
    set_links, swarm, system_time,
};
pub use tcp::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpStream, WriteHalf,
};
pub use udp::UdpSocket;

use crate::ids::ResourceId;
use crate::runtime::context;
use crate::runtime::extension::Extension;
use crate::sync::wait::{Op, Res, Waiter};
use crate::unsafe_parts::StateLock;
use world::{ConnId, HostId, State, Timers, World};

/// A host's start-up closure.
type Starter = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// The network's state in one run (a run extension): the world its sockets share, and
/// the hosts' start-up closures (not `Send`, so outside the world).
pub(crate) struct NetRun {
    world: Arc<World>,
    starters: RefCell<Vec<Option<Starter>>>,
    /// The trace resource of each link a fault touched.
    links: RefCell<std::collections::BTreeMap<(HostId, HostId), ResourceId>>,
}

impl Extension for NetRun {
    fn into_any(self: Rc<Self>) -> Rc<dyn std::any::Any> {
        self
    }

    fn describe_wait(&self, resource: ResourceId) -> Option<String> {
        self.world.state.lock().describe(resource)
    }
}

/// The current run's network, created at its first use (with host `main`).
///
/// # Panics
/// Outside a run (the message names `what`).
pub(crate) fn net(what: &str) -> Rc<NetRun> {
    context::network(what, |n| {
        if let Some(run) = n.find_extension::<NetRun>() {
            return run;
        }
        let run_id = n.run_id();
        let main = n.register("host", Arc::from("main"), std::panic::Location::caller());
        n.declare_host(0);
        let mut state = State::new(n.rng(crate::rng::Stream::Network), main);
        if let Some(f) = n.faults().copied() {
            state.configure_all(f.link());
            state.faults = Some(f);
        }
        n.extension(|| NetRun {
            world: Arc::new(World {
                run_id,
                state: StateLock::new(state),
            }),
            starters: RefCell::new(vec![None]),
            links: RefCell::default(),
        })
    })
}

/// What an operation's parked waiter waits in, and what to settle around it.
#[derive(Clone, Copy)]
pub(crate) enum Cursor {
    /// End `i` of connection `id`: its read.
    Read(ConnId, usize),
    /// End `i` of connection `id`: its write, shutdown, or (end 0) connect.
    Write(ConnId, usize),
    Listener(HostId, u16),
    Udp(HostId, u16),
}

impl State {
    /// The place of the operation at `cursor` (a dummy when its socket is gone: the
    /// operation then fails at once and never parks there).
    pub(crate) fn slot(&mut self, cursor: Cursor) -> &mut world::Slot {
        match cursor {
            Cursor::Read(id, i) => &mut self.conns[id].ends[i].reader,
            Cursor::Write(id, i) => &mut self.conns[id].ends[i].writer,
            Cursor::Listener(h, p) => match self.listeners.get_mut(&(h, p)) {
                Some(l) => &mut l.slot,
                None => &mut self.spare,
            },
            Cursor::Udp(h, p) => match self.udp.get_mut(&(h, p)) {
                Some(s) => &mut s.slot,
                None => &mut self.spare,
            },
        }
    }

    /// Settles what the operations so far sent to (see [`settle`](Self::settle)).
    pub(crate) fn settle_dirty(
        &mut self,
        me: &Waker,
        w: &mut crate::sync::wait::Wakers,
        t: &mut Timers,
    ) {
        // Indexed, so the list keeps its capacity (settling never adds to it).
        for k in 0..self.dirty.len() {
            let c = self.dirty[k];
            self.settle(c, me, false, w, t);
        }
        self.dirty.clear();
    }

    /// Wakes or arms timers for what waits at `cursor` (see `world::Slot`).
    fn settle(
        &mut self,
        cursor: Cursor,
        me: &Waker,
        before: bool,
        w: &mut crate::sync::wait::Wakers,
        t: &mut Timers,
    ) {
        match cursor {
            // A read changes what its own end waits for (a peer's writer it frees is
            // released at once); a write, shutdown or connect what its own writer and
            // the peer's reader wait for.
            Cursor::Read(id, i) => self.settle_end(id, i, true, false, me, before, w, t),
            Cursor::Write(id, i) => {
                self.settle_end(id, i, false, true, me, before, w, t);
                if !before {
                    self.settle_end(id, 1 - i, true, false, me, before, w, t);
                }
            }
            Cursor::Listener(h, p) => {
                let now = self.now;
                if let Some(l) = self.listeners.get_mut(&(h, p)) {
                    let due = l.backlog.front().map(|b| b.0);
                    l.slot.settle(due, now, me, before, w, t);
                }
            }
            Cursor::Udp(h, p) => self.settle_udp((h, p), me, before, w, t),
        }
    }
}

/// One poll of a socket operation: the clock read, then in one core access (the
/// operation protocol of `sync::wait`, under the world's lock) the parked operations
/// whose messages are due are released, `op` is polled ([`Waiter::poll`]: its
/// scheduling point, parking, completion), and what it sent is settled; then the
/// timers it wants are armed.
///
/// # Panics
/// Outside the world's run (the message names `what`).
pub(crate) fn drive<O: Op<State>>(
    world: &World,
    res: &Res,
    what: &str,
    cursor: Cursor,
    waiter: &mut Waiter,
    op: &mut O,
    waker: &Waker,
) -> Poll<O::Output> {
    let now = context::clock_of(what, world.run_id, |c| c.now());
    let mut timers = Vec::new();
    let out = res.update(what, &world.state, |st, cx, wakers| {
        st.now = now;
        st.cursor = cursor;
        if waiter.is_parked() {
            // Polled again while parked: released if what it waits for is due now.
            st.settle(cursor, waker, true, wakers, &mut timers);
        }
        let out = waiter.poll(op, st, cx, waker, wakers);
        st.settle(cursor, waker, false, wakers, &mut timers);
        st.settle_dirty(waker, wakers, &mut timers);
        out
    });
    arm(world, timers);
    out
}

/// The future of an operation is dropped: cancels it if it is parked (lenient: works
/// on drop paths after the run).
pub(crate) fn cancel<O: Op<State>>(
    world: &World,
    res: &Res,
    cursor: Cursor,
    waiter: &mut Waiter,
    op: &mut O,
) {
    if !waiter.is_parked() {
        return;
    }
    res.update_lenient(&world.state, |st, cx, wakers| {
        st.cursor = cursor;
        waiter.cancel(op, st, cx, wakers);
    });
}

/// Arms delivery timers in the world's run (none after it).
pub(crate) fn arm(world: &World, timers: Timers) {
    if timers.is_empty() {
        return;
    }
    context::network_of_run(world.run_id, |n| {
        for (deadline, waker) in timers {
            n.add_timer_for(deadline, waker);
        }
    });
}

/// A `NotFound`-style error naming what was not found.
pub(crate) fn error(kind: io::ErrorKind, message: impl Into<String>) -> io::Error {
    io::Error::new(kind, message.into())
}
