//! The topology object: every host, link, socket and message in flight of one run's
//! network, in one struct ([`State`]) under one lock, and the chain of [`RULES`]
//! consulted per message (deliver, delay, drop, hold). Faults are data here (a link's
//! flags and [`LinkConfig`]), never special cases in the socket code.
//!
//! Time: a message carries the instant it is due at its destination (`None` while its
//! link holds it). Nothing moves messages when the clock advances: an operation looks
//! at what is due *now* (its caller passes the clock in), and a parked operation gets a
//! timer for its next due message ([`Slot`]), armed with its own waker, so messages due
//! at the same instant wake their readers together and the scheduler orders them.
//!
//! Owns the network's state and its generator (the run's network stream); it must not
//! reach the run (no core access, no waker called: wakers and timers to arm are handed
//! back to the caller), and iterates only ordered collections.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use super::Cursor;
use super::faults::{Faults, LinkConfig, chance};
use crate::ids::ResourceId;
use crate::rng::DetRng;
use crate::sync::wait::{Place, Removed, Res, Wakers};
use crate::unsafe_parts::StateLock;

/// A host's number in the run (0: the host of the main future).
pub(crate) type HostId = u32;
/// A connection's number in the run.
pub(crate) type ConnId = usize;

/// The address of host 0 (the main future's host) when the test names none.
pub(crate) const MAIN_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// The first port handed out by `bind(..:0)` and `connect`.
const EPHEMERAL: u16 = 49152;
/// A TCP send buffer: bytes written and not yet read by the peer.
pub(crate) const SEND_BUFFER: usize = 64 * 1024;
/// The delay of a retransmitted TCP segment.
const RTO: Duration = Duration::from_millis(200);
/// The default connect timeout.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The network of one run, shared by its sockets.
pub(crate) struct World {
    pub(crate) run_id: u64,
    pub(crate) state: StateLock<State>,
}

/// Where a parked socket operation waits: its waker, and the deadline of the timer
/// armed for it (for its next due message), if any.
#[derive(Default)]
pub(crate) struct Slot {
    waker: Option<Waker>,
    timer: Option<Duration>,
}

impl Slot {
    /// Releases the parked operation, if any: its waker, to wake.
    pub(crate) fn release(&mut self) -> Option<Waker> {
        self.timer = None;
        self.waker.take()
    }

    /// Makes sure the waiter is woken when `due` comes: releases it now if due, else
    /// asks for a timer (returned) unless one at or before `due` is armed. `me` is the
    /// polling task's waker: released before its own operation (`before`), it is not
    /// woken (it is about to look), and after, it is.
    pub(crate) fn settle(
        &mut self,
        due: Option<Duration>,
        now: Duration,
        me: &Waker,
        before: bool,
        wakers: &mut Wakers,
        timers: &mut Vec<(Duration, Waker)>,
    ) {
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
        }
        let Some(due) = due else { return };
        let Some(w) = &self.waker else { return };
        if due <= now {
            let w = self.release().expect("parked");
            if before && w.will_wake(me) {
                wakers.dispose(w);
            } else {
                wakers.push(w);
            }
        } else if self.timer.is_none_or(|t| t > due) {
            self.timer = Some(due);
            timers.push((due, w.clone()));
        }
    }
}

impl Place for Slot {
    type Data = ();

    fn park(&mut self, waker: &Waker, (): (), wakers: &mut Wakers) -> u64 {
        if let Some(old) = self.waker.replace(waker.clone()) {
            wakers.dispose(old);
        }
        self.timer = None;
        0
    }

    fn released(&mut self, _: u64, waker: &Waker, wakers: &mut Wakers) -> Option<()> {
        match &mut self.waker {
            None => Some(()),
            Some(w) => {
                if !w.will_wake(waker) {
                    wakers.dispose(std::mem::replace(w, waker.clone()));
                    self.timer = None; // The armed timer wakes the old waker.
                }
                None
            }
        }
    }

    fn remove(&mut self, _: u64, wakers: &mut Wakers) -> Removed<()> {
        self.timer = None;
        match self.waker.take() {
            Some(w) => {
                wakers.dispose(w);
                Removed::Waiting(())
            }
            None => Removed::Released(()),
        }
    }
}

/// A host.
pub(crate) struct HostState {
    pub(crate) name: Arc<str>,
    pub(crate) ip: IpAddr,
    pub(crate) up: bool,
    pub(crate) resource: ResourceId,
    next_port: u16,
    /// The host's wall clock: offset from the run's, in nanoseconds.
    pub(crate) clock_offset_ns: i64,
    /// And its drift, in parts per million.
    pub(crate) drift_ppm: i64,
}

/// One direction of a link.
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    pub(crate) partitioned: bool,
    pub(crate) held: bool,
}

/// What kind of message a rule sees.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A TCP segment or handshake: reliable, so never dropped (held instead).
    Stream,
    /// A UDP datagram.
    Datagram,
}

/// What the network does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It arrives after this long (and, for a duplicated datagram, a copy after the
    /// second).
    Deliver(Duration, Option<Duration>),
    /// The link keeps it until released, repaired or the destination comes back.
    Hold,
    /// It is lost.
    Drop,
}

/// What the rules see of one message.
pub(crate) struct Route<'a> {
    kind: Kind,
    to_up: bool,
    link: &'a Link,
    rng: &'a mut DetRng,
}

/// A rule: a verdict, or `None` to ask the next.
type Rule = fn(&mut Route<'_>) -> Option<Verdict>;

/// The rules every message goes through, in order; the last always answers.
pub(crate) const RULES: [Rule; 5] = [destination_down, partitioned, held, lost, deliver];

/// A crashed destination: a datagram is lost; a segment waits (no answer: a connect
/// times out, unless the host comes back first).
fn destination_down(r: &mut Route<'_>) -> Option<Verdict> {
    (!r.to_up).then_some(match r.kind {
        Kind::Datagram => Verdict::Drop,
        Kind::Stream => Verdict::Hold,
    })
}

/// A cut link loses datagrams; TCP keeps retransmitting, so its segments wait.
fn partitioned(r: &mut Route<'_>) -> Option<Verdict> {
    r.link.partitioned.then_some(match r.kind {
        Kind::Datagram => Verdict::Drop,
        Kind::Stream => Verdict::Hold,
    })
}

fn held(r: &mut Route<'_>) -> Option<Verdict> {
    r.link.held.then_some(Verdict::Hold)
}

fn lost(r: &mut Route<'_>) -> Option<Verdict> {
    (r.kind == Kind::Datagram && chance(r.rng, r.link.config.loss)).then_some(Verdict::Drop)
}

fn deliver(r: &mut Route<'_>) -> Option<Verdict> {
    let c = &r.link.config;
    let mut after = c.latency.sample(r.rng);
    let mut copy = None;
    match r.kind {
        Kind::Stream => {
            // A lost segment is retransmitted (at most three times here).
            for _ in 0..3 {
                if !chance(r.rng, c.loss) {
                    break;
                }
                after += RTO;
            }
        }
        Kind::Datagram => {
            if chance(r.rng, c.reorder) {
                let extra = c.latency.max().max(Duration::from_micros(100)) * 2;
                after += Duration::from_nanos(r.rng.below(extra.as_nanos() as u64) + 1);
            }
            if chance(r.rng, c.duplicate) {
                copy = Some(c.latency.sample(r.rng));
            }
        }
    }
    Some(Verdict::Deliver(after, copy))
}

/// A piece of a byte stream in flight: `len` bytes, or the end of the stream (a FIN).
pub(crate) struct Segment {
    /// When it is due at the reader; `None` while its link holds it.
    pub(crate) at: Option<Duration>,
    pub(crate) len: usize,
    pub(crate) fin: bool,
}

/// One direction of a connection: what one end wrote and the other has not read, in
/// one ring of bytes (no allocation per write once it has grown): first the bytes that
/// arrived, then those in flight, cut into segments.
#[derive(Default)]
pub(crate) struct Pipe {
    /// Bytes written and not read: the send buffer in use.
    pub(crate) bytes: VecDeque<u8>,
    /// How many bytes at the front of `bytes` have arrived (a read may take them).
    pub(crate) arrived: usize,
    /// The rest of `bytes`, and the FIN, in flight.
    pub(crate) segments: VecDeque<Segment>,
    /// The latest due instant so far (segments stay in order).
    last_at: Duration,
    /// The writer shut down (or dropped) its side: a FIN is in the segments.
    pub(crate) fin_sent: bool,
    /// The FIN reached the reader: after the arrived bytes, reads return 0.
    pub(crate) eof: bool,
}

impl Pipe {
    /// When the first segment in flight is due (`None`: nothing, or held).
    pub(crate) fn next_due(&self) -> Option<Duration> {
        self.segments.front().and_then(|s| s.at)
    }

    /// Whether a read would return now (data or the end of the stream).
    pub(crate) fn readable(&self, now: Duration) -> bool {
        self.arrived > 0 || self.eof || self.next_due().is_some_and(|t| t <= now)
    }

    /// Lets the due segments arrive: (bytes, whether a FIN arrived).
    pub(crate) fn pull(&mut self, now: Duration) -> (usize, bool) {
        let (mut bytes, mut fin) = (0, false);
        while let Some(seg) = self.segments.front() {
            if seg.at.is_none_or(|t| t > now) {
                break;
            }
            let seg = self.segments.pop_front().expect("a front");
            bytes += seg.len;
            if seg.fin {
                self.eof = true;
                fin = true;
            }
        }
        self.arrived += bytes;
        (bytes, fin)
    }

    /// Takes up to `buf.len()` arrived bytes into `buf`; how many.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.arrived);
        let (front, back) = self.bytes.as_slices();
        let k = n.min(front.len());
        buf[..k].copy_from_slice(&front[..k]);
        buf[k..n].copy_from_slice(&back[..n - k]);
        self.bytes.drain(..n);
        self.arrived -= n;
        n
    }

    /// Copies up to `buf.len()` arrived bytes into `buf`, leaving them to be read; how
    /// many.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.arrived);
        for (to, from) in buf[..n].iter_mut().zip(&self.bytes) {
            *to = *from;
        }
        n
    }

    /// Appends a segment of `len` bytes (already in `bytes`) or a FIN, due at `at`
    /// (`None`: held), kept after the ones before.
    fn push(&mut self, at: Option<Duration>, len: usize, fin: bool) {
        let at = at.map(|t| {
            let t = t.max(self.last_at);
            self.last_at = t;
            t
        });
        self.segments.push_back(Segment { at, len, fin });
    }

    /// Gives the held segments their due instants, `base` plus a latency each.
    fn unhold(&mut self, mut latency: impl FnMut() -> Duration) -> usize {
        let mut n = 0;
        for i in 0..self.segments.len() {
            if self.segments[i].at.is_none() {
                let t = latency().max(self.last_at);
                self.last_at = t;
                self.segments[i].at = Some(t);
                n += 1;
            }
        }
        n
    }
}

/// One end of a connection.
pub(crate) struct End {
    pub(crate) host: HostId,
    pub(crate) addr: SocketAddr,
    /// A stream (or a half of it) for this end exists.
    pub(crate) open: bool,
    /// Its reading side exists (the peer's writes fail once it is gone).
    pub(crate) reading: bool,
    /// From this instant on, the connection is reset for this end (its peer's host
    /// crashed, or the peer gave up connecting).
    pub(crate) reset_at: Option<Duration>,
    /// A parked read.
    pub(crate) reader: Slot,
    /// A parked write (a full send buffer), or the client's parked connect.
    pub(crate) writer: Slot,
}

/// How a client's connect stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Handshake {
    /// Its SYN waits on a held or cut link, or for a crashed host.
    Blocked,
    /// It completes at this instant.
    Done(Duration),
    /// Refused (no listener) at this instant.
    Refused(Duration),
    /// Established and taken by the client.
    Taken,
}

/// A TCP connection: two ends and a pipe each way (`pipes[i]` carries what `ends[i]`
/// writes).
pub(crate) struct Conn {
    pub(crate) ends: [End; 2],
    pub(crate) pipes: [Pipe; 2],
    pub(crate) handshake: Handshake,
    /// The listener it was queued on (its host and port).
    pub(crate) listener: (HostId, u16),
    /// The trace resource both ends share (`tcp <client> -> <server>`).
    pub(crate) res: Arc<Res>,
}

/// A TCP listener.
pub(crate) struct Listener {
    pub(crate) addr: SocketAddr,
    /// Connections whose SYN arrives at the instant given, in order.
    pub(crate) backlog: VecDeque<(Duration, ConnId)>,
    pub(crate) slot: Slot,
    pub(crate) resource: ResourceId,
}

/// A datagram in flight or queued.
pub(crate) struct Datagram {
    pub(crate) from: SocketAddr,
    pub(crate) data: Vec<u8>,
}

/// A UDP socket.
pub(crate) struct Udp {
    pub(crate) addr: SocketAddr,
    /// Datagrams by the instant they are due (then send order): a min-heap.
    pub(crate) queue: BinaryHeap<Queued>,
    pub(crate) slot: Slot,
    pub(crate) resource: ResourceId,
    /// The address it is connected to, if any.
    pub(crate) peer: Option<SocketAddr>,
    /// The last address it sent to or received from (for reports).
    pub(crate) last_peer: Option<SocketAddr>,
}

/// A datagram queued at a socket, ordered by (due instant, send order), earliest
/// first in a `BinaryHeap`.
pub(crate) struct Queued {
    pub(crate) at: Duration,
    seq: u64,
    pub(crate) datagram: Datagram,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    /// Reversed: the earliest is the greatest (the top of the max-heap).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A datagram a link holds: (from host, to host, to socket, datagram).
struct HeldDatagram {
    from: HostId,
    to: HostId,
    port: u16,
    datagram: Datagram,
}

/// What a resource id names (for deadlock reports).
#[derive(Clone, Copy)]
pub(crate) enum Sock {
    Conn(ConnId),
    Listener(HostId, u16),
    Udp(HostId, u16),
}

/// The network of one run. See the [module docs](self).
pub(crate) struct State {
    /// The clock, as passed in by the operation in progress.
    pub(crate) now: Duration,
    pub(crate) hosts: Vec<HostState>,
    links: BTreeMap<(HostId, HostId), Link>,
    /// The configuration of new links between two hosts, and of loopback.
    inter: LinkConfig,
    loopback: LinkConfig,
    pub(crate) listeners: BTreeMap<(HostId, u16), Listener>,
    pub(crate) conns: Vec<Conn>,
    pub(crate) udp: BTreeMap<(HostId, u16), Udp>,
    held_datagrams: Vec<HeldDatagram>,
    pub(crate) rng: DetRng,
    pub(crate) connect_timeout: Option<Duration>,
    /// The faults swarm mode applies (drawn or fixed), once applied.
    pub(crate) faults: Option<Faults>,
    seq: u64,
    pub(crate) sockets: BTreeMap<ResourceId, Sock>,
    /// Where the operation in progress waits (its `Op::place`).
    pub(crate) cursor: Cursor,
    /// Other sockets the operation in progress sent to, to settle after it.
    pub(crate) dirty: Vec<Cursor>,
    /// The place of operations whose socket is gone (they fail at once, never park).
    pub(crate) spare: Slot,
}

/// Timers an operation wants armed: (deadline, waker).
pub(crate) type Timers = Vec<(Duration, Waker)>;

impl State {
    /// A network with only host 0 (`main`, the main future's host).
    pub(crate) fn new(rng: DetRng, main_resource: ResourceId) -> Self {
        State {
            now: Duration::ZERO,
            hosts: vec![HostState {
                name: Arc::from("main"),
                ip: MAIN_IP,
                up: true,
                resource: main_resource,
                next_port: EPHEMERAL,
                clock_offset_ns: 0,
                drift_ppm: 0,
            }],
            links: BTreeMap::new(),
            inter: LinkConfig::default(),
            loopback: LinkConfig::loopback(),
            listeners: BTreeMap::new(),
            conns: Vec::new(),
            udp: BTreeMap::new(),
            held_datagrams: Vec::new(),
            rng,
            connect_timeout: Some(CONNECT_TIMEOUT),
            faults: None,
            seq: 0,
            sockets: BTreeMap::new(),
            cursor: Cursor::Listener(HostId::MAX, 0),
            dirty: Vec::new(),
            spare: Slot::default(),
        }
    }

    // --- hosts and names ----------------------------------------------------------

    /// The host named `name`.
    pub(crate) fn host_named(&self, name: &str) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| &*h.name == name)
            .map(|i| i as HostId)
    }

    /// The host with address `ip` (not loopback).
    pub(crate) fn host_at(&self, ip: IpAddr) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.ip == ip)
            .map(|i| i as HostId)
    }

    /// The known host names, for error messages.
    pub(crate) fn names(&self) -> String {
        let names: Vec<&str> = self.hosts.iter().map(|h| &*h.name).collect();
        names.join(", ")
    }

    /// A fresh address for a new host: the first free one of 10.0.0.1, 10.0.0.2, ...
    pub(crate) fn free_ip(&self) -> IpAddr {
        (1u32..)
            .map(|n| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
            .find(|ip| self.host_at(*ip).is_none())
            .expect("a free address")
    }

    /// Adds a host; its clock drawn within the swarm faults, if applied.
    pub(crate) fn add_host(&mut self, name: Arc<str>, ip: IpAddr, resource: ResourceId) -> HostId {
        let (offset, drift) = match self.faults {
            Some(f) => self.draw_clock(&f),
            None => (0, 0),
        };
        self.hosts.push(HostState {
            name,
            ip,
            up: true,
            resource,
            next_port: EPHEMERAL,
            clock_offset_ns: offset,
            drift_ppm: drift,
        });
        (self.hosts.len() - 1) as HostId
    }

    /// A host clock's (offset ns, drift ppm) drawn within `f`.
    pub(crate) fn draw_clock(&mut self, f: &Faults) -> (i64, i64) {
        let max = f.clock.as_nanos().min(i64::MAX as u128 / 2) as u64;
        let offset = if max == 0 {
            0
        } else {
            self.rng.below(2 * max + 1) as i64 - max as i64
        };
        let d = u64::from(f.drift_ppm);
        let drift = if d == 0 {
            0
        } else {
            self.rng.below(2 * d + 1) as i64 - d as i64
        };
        (offset, drift)
    }

    /// A free ephemeral port of `host`.
    /// The address a socket binding `requested` on `host` gets (a UDP socket's when
    /// `udp`, else a listener's): the host's own address for `0.0.0.0`, a free
    /// ephemeral port for port 0; `AddrInUse` when the port is taken.
    pub(crate) fn bind_addr(
        &mut self,
        host: HostId,
        requested: SocketAddr,
        udp: bool,
    ) -> io::Result<SocketAddr> {
        let ip = self.local_ip(host, requested.ip())?;
        let port = match requested.port() {
            0 => self.ephemeral_port(host, udp),
            p if (udp && self.udp.contains_key(&(host, p)))
                || (!udp && self.listeners.contains_key(&(host, p))) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "cannot bind {requested}: port {p} is in use on host `{}`",
                        self.hosts[host as usize].name
                    ),
                ));
            }
            p => p,
        };
        Ok(SocketAddr::new(ip, port))
    }

    pub(crate) fn ephemeral_port(&mut self, host: HostId, udp: bool) -> u16 {
        loop {
            let h = &mut self.hosts[host as usize];
            let p = h.next_port;
            h.next_port = if p == u16::MAX { EPHEMERAL } else { p + 1 };
            let taken = if udp {
                self.udp.contains_key(&(host, p))
            } else {
                self.listeners.contains_key(&(host, p))
                    || self.conns.iter().any(|c| {
                        c.ends
                            .iter()
                            .any(|e| e.open && e.host == host && e.addr.port() == p)
                    })
            };
            if !taken {
                return p;
            }
        }
    }

    /// The host an address reaches from `from`: itself for loopback, the host with
    /// that address otherwise.
    pub(crate) fn reach(&self, from: HostId, ip: IpAddr) -> Option<HostId> {
        if ip.is_loopback() {
            Some(from)
        } else {
            self.host_at(ip)
        }
    }

    /// The local address of a socket of `host` bound to `ip` (unspecified: the host's).
    pub(crate) fn local_ip(&self, host: HostId, requested: IpAddr) -> io::Result<IpAddr> {
        let own = self.hosts[host as usize].ip;
        if requested.is_unspecified() {
            Ok(own)
        } else if requested.is_loopback() || requested == own {
            Ok(requested)
        } else {
            Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "cannot bind {requested}: host `{}` has address {own} (and loopback)",
                    self.hosts[host as usize].name
                ),
            ))
        }
    }

    /// The source address of what `host` sends to `to` from a socket bound to `local`.
    fn source(&self, host: HostId, local: SocketAddr, to: IpAddr) -> SocketAddr {
        let ip = if to.is_loopback() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.hosts[host as usize].ip
        };
        if local.ip().is_unspecified() || local.ip().is_loopback() != to.is_loopback() {
            SocketAddr::new(ip, local.port())
        } else {
            local
        }
    }

    // --- links and rules ------------------------------------------------------------

    /// The link from `from` to `to` (created with the default configuration).
    pub(crate) fn link(&mut self, from: HostId, to: HostId) -> &mut Link {
        let config = if from == to {
            self.loopback
        } else {
            self.inter
        };
        self.links.entry((from, to)).or_insert(Link {
            config,
            partitioned: false,
            held: false,
        })
    }

    /// Sets the configuration of every link between two hosts, and of those to come.
    pub(crate) fn configure_all(&mut self, config: LinkConfig) {
        self.inter = config;
        for ((a, b), link) in &mut self.links {
            if a != b {
                link.config = config;
            }
        }
    }

    /// Runs a message from `from` to `to` through the [`RULES`].
    pub(crate) fn route(&mut self, from: HostId, to: HostId, kind: Kind) -> Verdict {
        let to_up = self.hosts[to as usize].up;
        let config = if from == to {
            self.loopback
        } else {
            self.inter
        };
        let link = self.links.entry((from, to)).or_insert(Link {
            config,
            partitioned: false,
            held: false,
        });
        let mut r = Route {
            kind,
            to_up,
            link,
            rng: &mut self.rng,
        };
        RULES
            .iter()
            .find_map(|rule| rule(&mut r))
            .expect("the last rule always answers")
    }

    /// A latency draw of the link (for held messages let go, resets).
    fn latency(&mut self, from: HostId, to: HostId) -> Duration {
        let l = self.link(from, to).config.latency;
        l.sample(&mut self.rng)
    }

    // --- TCP ------------------------------------------------------------------------

    /// The listener `addr` (of `host`) reaches, if any.
    pub(crate) fn listener_for(&self, host: HostId, addr: SocketAddr) -> Option<(HostId, u16)> {
        let l = self.listeners.get(&(host, addr.port()))?;
        let bound = l.addr.ip();
        let ok = bound.is_unspecified()
            || bound == addr.ip()
            || (bound.is_loopback() && addr.ip().is_loopback());
        ok.then_some((host, addr.port()))
    }

    /// A new connection from `client` (its host and local address) to `server`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_conn(
        &mut self,
        client: (HostId, SocketAddr),
        server: (HostId, SocketAddr),
        res: Arc<Res>,
        resource: ResourceId,
    ) -> ConnId {
        let end = |(host, addr): (HostId, SocketAddr), open| End {
            host,
            addr,
            open,
            reading: true,
            reset_at: None,
            reader: Slot::default(),
            writer: Slot::default(),
        };
        self.conns.push(Conn {
            ends: [end(client, true), end(server, false)],
            pipes: [Pipe::default(), Pipe::default()],
            handshake: Handshake::Blocked,
            listener: (server.0, server.1.port()),
            res,
        });
        let id = self.conns.len() - 1;
        self.sockets.insert(resource, Sock::Conn(id));
        id
    }

    /// Sends connection `id`'s SYN (again, after a block): it is queued at its
    /// listener and completes after a round trip, is refused after one (no listener),
    /// or stays blocked.
    pub(crate) fn handshake(&mut self, id: ConnId) {
        let now = self.now;
        let (c, s) = (self.conns[id].ends[0].host, self.conns[id].ends[1].host);
        let there = self.route(c, s, Kind::Stream);
        let back = self.route(s, c, Kind::Stream);
        let (Verdict::Deliver(a, _), Verdict::Deliver(b, _)) = (there, back) else {
            self.conns[id].handshake = Handshake::Blocked;
            return;
        };
        let addr = self.conns[id].ends[1].addr;
        let (arrive, done) = (now + a, now + a + b);
        self.conns[id].handshake = match self.listener_for(s, addr) {
            Some(key) => {
                let l = self.listeners.get_mut(&key).expect("found");
                l.backlog.push_back((arrive, id));
                self.conns[id].listener = key;
                self.dirty.push(Cursor::Listener(key.0, key.1));
                Handshake::Done(done)
            }
            None => Handshake::Refused(done),
        };
    }

    /// Gives up connection `id` (its connect future was dropped): a queued server end
    /// sees a reset.
    pub(crate) fn abandon(&mut self, id: ConnId) {
        let now = self.now;
        let (c, s) = (self.conns[id].ends[0].host, self.conns[id].ends[1].host);
        let lat = self.latency(c, s);
        let conn = &mut self.conns[id];
        conn.ends[0].open = false;
        conn.ends[0].reading = false;
        if conn.handshake != Handshake::Blocked {
            conn.ends[1].reset_at = Some(now + lat);
        }
        conn.handshake = Handshake::Taken;
    }

    /// When end `i`'s parked read must look again: the first due segment, the reset.
    fn read_due(&self, id: ConnId, i: usize) -> Option<Duration> {
        let c = &self.conns[id];
        let pipe = &c.pipes[1 - i];
        let data = if pipe.arrived > 0 || pipe.eof {
            Some(Duration::ZERO)
        } else {
            pipe.next_due()
        };
        min_opt(data, c.ends[i].reset_at)
    }

    /// When end `i`'s parked write (or connect) must look again.
    fn write_due(&self, id: ConnId, i: usize) -> Option<Duration> {
        let c = &self.conns[id];
        let handshake = match (i, c.handshake) {
            (0, Handshake::Done(t) | Handshake::Refused(t)) => Some(t),
            _ => None,
        };
        min_opt(handshake, c.ends[i].reset_at)
    }

    /// Wakes or arms timers for end `i`'s parked read (`read`) and write (`write`) of
    /// connection `id` (see [`Slot`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn settle_end(
        &mut self,
        id: ConnId,
        i: usize,
        read: bool,
        write: bool,
        me: &Waker,
        before: bool,
        wakers: &mut Wakers,
        timers: &mut Timers,
    ) {
        let now = self.now;
        if read && self.conns[id].ends[i].reader.waker.is_some() {
            let due = self.read_due(id, i);
            let r = &mut self.conns[id].ends[i].reader;
            r.settle(due, now, me, before, wakers, timers);
        }
        if write && self.conns[id].ends[i].writer.waker.is_some() {
            let due = self.write_due(id, i);
            let w = &mut self.conns[id].ends[i].writer;
            w.settle(due, now, me, before, wakers, timers);
        }
    }

    /// Wakes or arms timers for the parked operations of connection `id` that their
    /// next due event concerns (see [`Slot`]).
    pub(crate) fn settle_conn(
        &mut self,
        id: ConnId,
        me: &Waker,
        before: bool,
        wakers: &mut Wakers,
        timers: &mut Timers,
    ) {
        for i in 0..2 {
            self.settle_end(id, i, true, true, me, before, wakers, timers);
        }
    }

    /// Queues `data` (or, with `None`, a FIN) from end `i` of connection `id`, cut in
    /// two at a random byte with the link's split chance.
    pub(crate) fn transmit(&mut self, id: ConnId, i: usize, data: Option<&[u8]>) {
        let (from, to) = (self.conns[id].ends[i].host, self.conns[id].ends[1 - i].host);
        let split = self.link(from, to).config.split;
        let Some(data) = data else {
            let at = self.stream_due(from, to);
            self.conns[id].pipes[i].push(at, 0, true);
            return;
        };
        self.conns[id].pipes[i].bytes.extend(data);
        let len = data.len();
        let cut = if len >= 2 && chance(&mut self.rng, split) {
            1 + self.rng.below(len as u64 - 1) as usize
        } else {
            len
        };
        for piece in [cut, len - cut] {
            if piece > 0 {
                let at = self.stream_due(from, to);
                self.conns[id].pipes[i].push(at, piece, false);
            }
        }
    }

    /// When a TCP segment sent now from `from` to `to` is due (`None`: held).
    fn stream_due(&mut self, from: HostId, to: HostId) -> Option<Duration> {
        match self.route(from, to, Kind::Stream) {
            Verdict::Deliver(after, _) => Some(self.now + after),
            Verdict::Hold | Verdict::Drop => None,
        }
    }

    // --- UDP ------------------------------------------------------------------------

    /// Sends a datagram from socket `from` (host, port) to `to`: queued at its socket,
    /// held, or lost. Returns the verdict (for the trace).
    pub(crate) fn send_datagram(
        &mut self,
        from: (HostId, u16),
        to: SocketAddr,
        data: &[u8],
    ) -> Verdict {
        let local = self.udp[&from].addr;
        let src = self.source(from.0, local, to.ip());
        let Some(dst) = self.reach(from.0, to.ip()) else {
            return Verdict::Drop; // No such host.
        };
        let verdict = self.route(from.0, dst, Kind::Datagram);
        if let Some(s) = self.udp.get_mut(&from) {
            s.last_peer = Some(to);
        }
        let datagram = || Datagram {
            from: src,
            data: data.to_vec(),
        };
        match verdict {
            Verdict::Drop => {}
            Verdict::Hold => self.held_datagrams.push(HeldDatagram {
                from: from.0,
                to: dst,
                port: to.port(),
                datagram: datagram(),
            }),
            Verdict::Deliver(after, copy) => {
                if !self.udp_accepts(dst, to) {
                    return Verdict::Drop; // Nothing listens there.
                }
                self.queue_datagram((dst, to.port()), self.now + after, datagram());
                if let Some(after) = copy {
                    self.queue_datagram((dst, to.port()), self.now + after, datagram());
                }
            }
        }
        verdict
    }

    /// Whether a socket of `host` receives what is sent to `to`.
    fn udp_accepts(&self, host: HostId, to: SocketAddr) -> bool {
        self.udp.get(&(host, to.port())).is_some_and(|s| {
            let b = s.addr.ip();
            b == to.ip()
                || (b.is_loopback() && to.ip().is_loopback())
                || b == self.hosts[host as usize].ip && !to.ip().is_loopback()
                || b.is_unspecified()
        })
    }

    fn queue_datagram(&mut self, key: (HostId, u16), at: Duration, d: Datagram) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(s) = self.udp.get_mut(&key) {
            s.queue.push(Queued {
                at,
                seq,
                datagram: d,
            });
        }
    }

    /// Wakes or arms a timer for socket `key`'s parked receive.
    pub(crate) fn settle_udp(
        &mut self,
        key: (HostId, u16),
        me: &Waker,
        before: bool,
        wakers: &mut Wakers,
        timers: &mut Timers,
    ) {
        let now = self.now;
        let Some(s) = self.udp.get_mut(&key) else {
            return;
        };
        if s.slot.waker.is_none() {
            return; // Nothing parked: nothing to settle (the common case).
        }
        let due = s.queue.peek().map(|q| q.at);
        s.slot.settle(due, now, me, before, wakers, timers);
    }

    // --- faults ---------------------------------------------------------------------

    /// Lets go of what links no longer hold (after a release, a repair, a restart):
    /// held segments get their due instants, held datagrams are queued, blocked
    /// connects try again. Returns how many messages went, with the parked operations
    /// to wake and timers to arm.
    pub(crate) fn flush_held(
        &mut self,
        me: &Waker,
        wakers: &mut Wakers,
        timers: &mut Timers,
    ) -> u64 {
        let now = self.now;
        let mut n = 0u64;
        for id in 0..self.conns.len() {
            for i in 0..2 {
                let (from, to) = (self.conns[id].ends[i].host, self.conns[id].ends[1 - i].host);
                let has_held = self.conns[id].pipes[i]
                    .segments
                    .iter()
                    .any(|s| s.at.is_none());
                if !has_held || !matches!(self.route(from, to, Kind::Stream), Verdict::Deliver(..))
                {
                    continue;
                }
                let mut draws = Vec::new();
                let count = self.conns[id].pipes[i]
                    .segments
                    .iter()
                    .filter(|s| s.at.is_none())
                    .count();
                for _ in 0..count {
                    draws.push(now + self.latency(from, to));
                }
                let mut draws = draws.into_iter();
                n += self.conns[id].pipes[i].unhold(|| draws.next().expect("one per segment"))
                    as u64;
            }
            if self.conns[id].handshake == Handshake::Blocked && self.conns[id].ends[0].open {
                self.handshake(id);
                n += 1;
            }
            self.settle_conn(id, me, false, wakers, timers);
        }
        let held = std::mem::take(&mut self.held_datagrams);
        for h in held {
            match self.route(h.from, h.to, Kind::Datagram) {
                Verdict::Hold => self.held_datagrams.push(h),
                Verdict::Drop => n += 1,
                Verdict::Deliver(after, _) => {
                    n += 1;
                    let to = SocketAddr::new(self.hosts[h.to as usize].ip, h.port);
                    if self.udp_accepts(h.to, to) {
                        self.queue_datagram((h.to, h.port), now + after, h.datagram);
                    }
                }
            }
        }
        let keys: Vec<(HostId, u16)> = self.udp.keys().copied().collect();
        for key in keys {
            self.settle_udp(key, me, false, wakers, timers);
        }
        self.settle_dirty(me, wakers, timers);
        n
    }

    /// Host `host` crashed: its sockets vanish, every connection's other end sees a
    /// reset one link latency later, its parked operations are woken with errors.
    pub(crate) fn crash(
        &mut self,
        host: HostId,
        me: &Waker,
        wakers: &mut Wakers,
        timers: &mut Timers,
    ) {
        let now = self.now;
        self.hosts[host as usize].up = false;
        for id in 0..self.conns.len() {
            for i in 0..2 {
                if self.conns[id].ends[i].host != host || !self.conns[id].ends[i].open {
                    continue;
                }
                let other = self.conns[id].ends[1 - i].host;
                let lat = self.latency(host, other);
                let conn = &mut self.conns[id];
                let end = &mut conn.ends[i];
                end.open = false;
                end.reading = false;
                wakers.extend(end.reader.release());
                wakers.extend(end.writer.release());
                if other != host {
                    conn.ends[1 - i].reset_at.get_or_insert(now + lat);
                }
            }
            // Connections queued at a listener of the host and never accepted.
            let c = &self.conns[id];
            if c.listener.0 == host
                && !c.ends[1].open
                && c.ends[0].open
                && c.handshake != Handshake::Blocked
            {
                let client = c.ends[0].host;
                let lat = self.latency(host, client);
                self.conns[id].ends[0].reset_at.get_or_insert(now + lat);
            }
            self.settle_conn(id, me, false, wakers, timers);
        }
        let listeners: Vec<(HostId, u16)> = self
            .listeners
            .keys()
            .filter(|k| k.0 == host)
            .copied()
            .collect();
        for k in listeners {
            if let Some(mut l) = self.listeners.remove(&k) {
                wakers.extend(l.slot.release());
            }
        }
        let sockets: Vec<(HostId, u16)> =
            self.udp.keys().filter(|k| k.0 == host).copied().collect();
        for k in sockets {
            if let Some(mut s) = self.udp.remove(&k) {
                wakers.extend(s.slot.release());
            }
        }
    }

    // --- reports --------------------------------------------------------------------

    fn host_label(&self, h: HostId) -> String {
        let host = &self.hosts[h as usize];
        if host.up {
            format!("host `{}`", host.name)
        } else {
            format!("host `{}`, crashed", host.name)
        }
    }

    fn link_label(&self, from: HostId, to: HostId) -> String {
        let name = |h: HostId| &*self.hosts[h as usize].name;
        let state = match self.links.get(&(from, to)) {
            Some(l) if l.partitioned => "partitioned",
            Some(l) if l.held => "held",
            _ => "up",
        };
        format!("link {}->{} {state}", name(from), name(to))
    }

    /// What a deadlock report should say about resource `r`, if it is a socket.
    pub(crate) fn describe(&self, r: ResourceId) -> Option<String> {
        Some(match *self.sockets.get(&r)? {
            Sock::Conn(id) => {
                let c = &self.conns[id];
                let (a, b) = (&c.ends[0], &c.ends[1]);
                let in_flight = |i: usize| {
                    let p = &c.pipes[i];
                    let bytes = p.bytes.len() - p.arrived;
                    format!("{bytes} bytes in flight, {} unread", p.arrived)
                };
                if c.handshake == Handshake::Blocked {
                    format!(
                        "tcp connect from {} ({}) to {} ({}): {}, {}",
                        a.addr,
                        self.host_label(a.host),
                        b.addr,
                        self.host_label(b.host),
                        self.link_label(a.host, b.host),
                        self.link_label(b.host, a.host)
                    )
                } else {
                    format!(
                        "tcp {} ({}) <-> {} ({}); {}: {}; {}: {}",
                        a.addr,
                        self.host_label(a.host),
                        b.addr,
                        self.host_label(b.host),
                        self.link_label(a.host, b.host),
                        in_flight(0),
                        self.link_label(b.host, a.host),
                        in_flight(1)
                    )
                }
            }
            Sock::Listener(h, port) => {
                let l = self.listeners.get(&(h, port));
                format!(
                    "tcp accept on {} ({}): {} connection(s) pending",
                    l.map_or_else(|| format!("port {port}"), |l| l.addr.to_string()),
                    self.host_label(h),
                    l.map_or(0, |l| l.backlog.len())
                )
            }
            Sock::Udp(h, port) => {
                let s = self.udp.get(&(h, port));
                let mut out = format!(
                    "udp socket {} ({})",
                    s.map_or_else(|| format!("port {port}"), |s| s.addr.to_string()),
                    self.host_label(h)
                );
                if let Some(peer) = s.and_then(|s| s.peer.or(s.last_peer)) {
                    match self.reach(h, peer.ip()) {
                        Some(p) => out.push_str(&format!(
                            ", peer {peer} ({}), {}, {}",
                            self.host_label(p),
                            self.link_label(p, h),
                            self.link_label(h, p)
                        )),
                        None => out.push_str(&format!(", peer {peer} (no such host)")),
                    }
                }
                out
            }
        })
    }
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
