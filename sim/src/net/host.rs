//! Hosts ([`Host`], [`HostBuilder`]) and the faults a test injects ([`partition`],
//! [`repair`], [`hold`], [`release`], [`set_link`], [`swarm`]), plus each host's wall
//! clock ([`system_time`]).
//!
//! Owns the life of a host (declared, crashed, restarted, paused, resumed) and the
//! fault calls; every change of the topology goes through the world's state, and
//! every task change through the run's `Network` facet (a crash cancels the host's
//! tasks at once, a pause keeps them out of the ready set). It must not touch a
//! socket's state directly.

use std::future::Future;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::faults::{Faults, LinkConfig};
use super::world::{HostId, Link, State};
use super::{NetRun, Starter, net};
use crate::ids::ResourceId;
use crate::runtime::{context, raw};
use crate::sync::wait::Wakers;
use crate::task::JoinHandle;
use crate::trace::ResourceOp;

/// A simulated machine: a name, an address, the tasks spawned on it, its sockets and
/// its clock. Cheap to clone; valid in the run that declared it.
///
/// ```
/// use sim::net::Host;
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let db = Host::builder("db").ip([10, 0, 0, 9]).build();
///     assert_eq!(db.ip().to_string(), "10.0.0.9");
///     let on_db = db.spawn(async { Host::current().name().to_string() });
///     assert_eq!(on_db.await.unwrap(), "db");
///     assert_eq!(Host::current().name(), "main"); // the main future's host
/// }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Host {
    id: HostId,
    run_id: u64,
    name: Arc<str>,
    ip: IpAddr,
}

/// Declares a [`Host`]; see [`Host::builder`].
#[must_use = "a host is declared by `build`"]
pub struct HostBuilder {
    name: String,
    ip: Option<IpAddr>,
    clock: Option<(i64, i64)>,
    starter: Option<Starter>,
}

impl std::fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBuilder")
            .field("name", &self.name)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

impl HostBuilder {
    /// Its address (default: the first free one of `10.0.0.1`, `10.0.0.2`, ...).
    pub fn ip(mut self, ip: impl Into<IpAddr>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Its wall clock ([`system_time`]): `offset` from the run's (negative: behind) and
    /// a drift in parts per million (default: drawn from the seed within the swarm
    /// faults, else in step).
    pub fn clock(mut self, offset: Duration, behind: bool, drift_ppm: i64) -> Self {
        let ns = i64::try_from(offset.as_nanos()).unwrap_or(i64::MAX);
        self.clock = Some((if behind { -ns } else { ns }, drift_ppm));
        self
    }

    /// Its start-up closure: run as the host's first task (named after the host) when
    /// it is built, and again at each [`Host::restart`]. It is a task like any other:
    /// its sockets exist once it has run, so a client starting at the same instant
    /// must wait for them (a short sleep, a retry), as on a real network; until then a
    /// connect is refused.
    pub fn on_start<F, Fut>(mut self, start: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.starter = Some(Rc::new(move || Box::pin(start())));
        self
    }

    /// Declares the host in the current run (and starts it).
    ///
    /// # Panics
    /// Outside a run; when the name is empty, holds a `:` or whitespace, or is taken;
    /// when the address is taken, loopback or unspecified (each message names the
    /// input).
    #[track_caller]
    pub fn build(self) -> Host {
        let what = "sim::net::HostBuilder::build";
        let run = net(what);
        let name = self.name;
        assert!(
            !name.is_empty() && !name.contains(':') && !name.contains(char::is_whitespace),
            "{what}: invalid host name {name:?} (it must be non-empty, without `:` or spaces)"
        );
        let ip = {
            let st = run.world.state.lock();
            assert!(
                st.host_named(&name).is_none() && name != "localhost",
                "{what}: a host named `{name}` already exists (hosts: {})",
                st.names()
            );
            let ip = self.ip.unwrap_or_else(|| st.free_ip());
            assert!(
                !ip.is_loopback() && !ip.is_unspecified(),
                "{what}: host `{name}` cannot have address {ip} (loopback and unspecified \
                 addresses are every host's own)"
            );
            if let Some(other) = st.host_at(ip) {
                panic!(
                    "{what}: address {ip} of host `{name}` is taken by host `{}`",
                    st.hosts[other as usize].name
                );
            }
            ip
        };
        let name: Arc<str> = Arc::from(name);
        let location = Location::caller();
        let resource = context::network(what, |n| n.register("host", name.clone(), location));
        let id = {
            let mut st = run.world.state.lock();
            let id = st.add_host(name.clone(), ip, resource);
            if let Some((offset, drift)) = self.clock {
                let h = &mut st.hosts[id as usize];
                h.clock_offset_ns = offset;
                h.drift_ppm = drift;
            }
            id
        };
        context::network(what, |n| n.declare_host(id));
        run.starters.borrow_mut().push(self.starter);
        let host = Host {
            id,
            run_id: run.world.run_id,
            name,
            ip,
        };
        host.start(&run, location);
        host
    }
}

impl Host {
    /// A builder for a host named `name` (the name resolves to its address, in
    /// [`TcpStream::connect`](super::TcpStream::connect)`("name:port")` and
    /// [`lookup_host`](super::lookup_host)).
    pub fn builder(name: &str) -> HostBuilder {
        HostBuilder {
            name: name.to_string(),
            ip: None,
            clock: None,
            starter: None,
        }
    }

    /// The host of the task being polled (`main` for the main future and the tasks it
    /// spawns outside any host).
    ///
    /// # Panics
    /// Outside a run.
    pub fn current() -> Host {
        let what = "sim::net::Host::current";
        let run = net(what);
        let id = context::network(what, |n| n.current_host());
        Host::of(&run, id)
    }

    /// The host named `name`, if the run declared one (`main` always exists).
    ///
    /// # Panics
    /// Outside a run.
    pub fn lookup(name: &str) -> Option<Host> {
        let run = net("sim::net::Host::lookup");
        let id = run.world.state.lock().host_named(name)?;
        Some(Host::of(&run, id))
    }

    fn of(run: &NetRun, id: HostId) -> Host {
        let st = run.world.state.lock();
        let h = &st.hosts[id as usize];
        Host {
            id,
            run_id: run.world.run_id,
            name: h.name.clone(),
            ip: h.ip,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Whether it is up (not crashed).
    pub fn is_up(&self) -> bool {
        self.run().world.state.lock().hosts[self.id as usize].up
    }

    fn run(&self) -> Rc<NetRun> {
        let run = net("sim::net::Host");
        assert!(
            run.world.run_id == self.run_id,
            "sim::net::Host `{}` belongs to another simulated run",
            self.name
        );
        run
    }

    fn resource(&self, run: &NetRun) -> ResourceId {
        run.world.state.lock().hosts[self.id as usize].resource
    }

    /// Spawns a task on this host: it and the tasks it spawns belong to the host (its
    /// sockets are the host's, a crash drops them).
    ///
    /// # Panics
    /// Outside the host's run, or when the host is crashed.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_inner(future, None, Location::caller())
    }

    /// [`spawn`](Self::spawn) with a task name (for traces and reports).
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_inner(future, Some(Arc::from(name)), Location::caller())
    }

    fn spawn_inner<F>(
        &self,
        future: F,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        assert!(
            self.is_up(),
            "sim::net::Host::spawn: host `{}` is crashed (restart it first)",
            self.name
        );
        let cell: raw::BoxTask = Box::pin(raw::Task::new(future));
        let id = context::network("sim::net::Host::spawn", |n| {
            n.spawn_on(self.id, cell, name, location)
        });
        JoinHandle::new(id, self.run_id)
    }

    fn start(&self, run: &NetRun, location: &'static Location<'static>) {
        let starter = run.starters.borrow()[self.id as usize].clone();
        if let Some(start) = starter {
            let cell: raw::BoxTask = Box::pin(raw::Task::new(start()));
            context::network("sim::net::Host::start", |n| {
                n.spawn_on(self.id, cell, Some(self.name.clone()), location)
            });
        }
    }

    /// Crashes the host: every task on it is dropped at once (their futures, not
    /// polled again), its sockets vanish without a FIN, and the other end of each of
    /// its connections sees a reset one link latency later. Datagrams to it are lost
    /// and connects to it time out until it restarts. A crashed host stays down.
    ///
    /// # Panics
    /// For host `main` (it runs the main future), or outside the host's run.
    pub fn crash(&self) {
        assert!(
            self.id != 0,
            "sim::net::Host::crash: host `main` runs the main future and cannot crash"
        );
        let run = self.run();
        let what = "sim::net::Host::crash";
        let now = context::network(what, |n| n.now());
        let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
        {
            let mut st = run.world.state.lock();
            if !st.hosts[self.id as usize].up {
                return;
            }
            st.now = now;
            st.crash(self.id, Waker::noop(), &mut wakers, &mut timers);
        }
        let resource = self.resource(&run);
        let dropped = context::network(what, |n| {
            let dropped = n.cancel_host_tasks(self.id);
            n.event(resource, ResourceOp::Crash, dropped.len() as u64);
            dropped
        });
        super::arm(&run.world, timers);
        wakers.wake();
        for (task, left) in dropped {
            // A destructor's panic is reported after the run's outcome, never instead.
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| left.finish())) {
                context::network(what, |n| n.drop_panicked(task, &*p));
            }
        }
    }

    /// Restarts the host: crashes it first if it is up, then brings it up and runs
    /// its start-up closure again (state kept in its tasks is gone; what it kept
    /// elsewhere, like a simulated disk in an `Rc`, is not).
    ///
    /// # Panics
    /// For host `main`, or outside the host's run.
    #[track_caller]
    pub fn restart(&self) {
        self.crash();
        let run = self.run();
        let what = "sim::net::Host::restart";
        let now = context::network(what, |n| n.now());
        let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
        {
            let mut st = run.world.state.lock();
            st.now = now;
            st.hosts[self.id as usize].up = true;
            st.flush_held(Waker::noop(), &mut wakers, &mut timers);
        }
        let resource = self.resource(&run);
        context::network(what, |n| n.event(resource, ResourceOp::Restart, 0));
        super::arm(&run.world, timers);
        wakers.wake();
        self.start(&run, Location::caller());
    }

    /// Pauses the host: its tasks are not polled until [`resume`](Self::resume) (a
    /// stop-the-world GC, a frozen VM); messages still reach its sockets.
    pub fn pause(&self) {
        let run = self.run();
        let resource = self.resource(&run);
        context::network("sim::net::Host::pause", |n| {
            n.pause_host(self.id);
            n.event(resource, ResourceOp::Pause, 0);
        });
    }

    /// Resumes a paused host.
    pub fn resume(&self) {
        let run = self.run();
        let resource = self.resource(&run);
        context::network("sim::net::Host::resume", |n| {
            n.resume_host(self.id);
            n.event(resource, ResourceOp::Resume, 0);
        });
    }

    /// Whether the host is paused.
    pub fn is_paused(&self) -> bool {
        self.run();
        context::network("sim::net::Host::is_paused", |n| n.is_host_paused(self.id))
    }
}

/// A host by name (`"server"`), by [`Host`], or by address.
pub trait AsHost {
    /// The host reference (for the resolver).
    #[doc(hidden)]
    fn host_ref(&self) -> HostRef<'_>;
}

/// How an [`AsHost`] names a host.
#[doc(hidden)]
#[derive(Debug)]
pub enum HostRef<'a> {
    Name(&'a str),
    Ip(IpAddr),
    Id(u32),
}

impl AsHost for &str {
    fn host_ref(&self) -> HostRef<'_> {
        HostRef::Name(self)
    }
}

impl AsHost for String {
    fn host_ref(&self) -> HostRef<'_> {
        HostRef::Name(self)
    }
}

impl AsHost for Host {
    fn host_ref(&self) -> HostRef<'_> {
        HostRef::Id(self.id)
    }
}

impl AsHost for &Host {
    fn host_ref(&self) -> HostRef<'_> {
        HostRef::Id(self.id)
    }
}

impl AsHost for IpAddr {
    fn host_ref(&self) -> HostRef<'_> {
        HostRef::Ip(*self)
    }
}

/// The host `h` names.
///
/// # Panics
/// When it names no host (the message names it, `what`, and the known hosts).
fn resolve(st: &State, h: &impl AsHost, what: &str) -> HostId {
    let found = match h.host_ref() {
        HostRef::Name(n) => st.host_named(n),
        HostRef::Ip(ip) => st.host_at(ip),
        HostRef::Id(id) => ((id as usize) < st.hosts.len()).then_some(id),
    };
    found.unwrap_or_else(|| {
        panic!(
            "{what}: unknown host {:?} (hosts: {})",
            h.host_ref(),
            st.names()
        )
    })
}

/// The trace resource of the link `from -> to` (registered at its first fault).
fn link_resource(run: &NetRun, from: HostId, to: HostId, what: &str) -> ResourceId {
    if let Some(r) = run.links.borrow().get(&(from, to)) {
        return *r;
    }
    let name = {
        let st = run.world.state.lock();
        format!(
            "{}->{}",
            st.hosts[from as usize].name, st.hosts[to as usize].name
        )
    };
    let r = context::network(what, |n| {
        n.register("link", Arc::from(name), Location::caller())
    });
    run.links.borrow_mut().insert((from, to), r);
    r
}

/// Changes links between `a` and `b` (both ways unless `oneway`), lets go of what they
/// no longer hold, and records `op` on each.
fn change_links(
    what: &str,
    a: impl AsHost,
    b: impl AsHost,
    oneway: bool,
    op: ResourceOp,
    f: impl Fn(&mut Link),
) {
    let run = net(what);
    let now = context::network(what, |n| n.now());
    let (mut wakers, mut timers) = (Wakers::default(), Vec::new());
    let (from, to, moved) = {
        let mut st = run.world.state.lock();
        let (from, to) = (resolve(&st, &a, what), resolve(&st, &b, what));
        st.now = now;
        f(st.link(from, to));
        if !oneway {
            f(st.link(to, from));
        }
        let moved = st.flush_held(Waker::noop(), &mut wakers, &mut timers);
        (from, to, moved)
    };
    let value = if op == ResourceOp::Unhold { moved } else { 0 };
    let r = link_resource(&run, from, to, what);
    context::network(what, |n| n.event(r, op, value));
    if !oneway && from != to {
        let r = link_resource(&run, to, from, what);
        context::network(what, |n| n.event(r, op, value));
    }
    super::arm(&run.world, timers);
    wakers.wake();
}

/// Cuts the links between `a` and `b`, both ways: datagrams are lost, TCP segments
/// wait (and are delivered after [`repair`]), new connects time out.
///
/// ```
/// use sim::net::{Host, UdpSocket, partition, repair};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let a = Host::builder("a").build();
///     Host::builder("b").build();
///     let got = a.spawn(async {
///         let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
///         partition("a", "b");
///         s.send_to(b"lost", "b:9").await.unwrap(); // sent, and lost
///         repair("a", "b");
///         s.send_to(b"kept", "a:9").await.unwrap(); // to itself
///         let mut buf = [0; 8];
///         let (n, _) = s.recv_from(&mut buf).await.unwrap();
///         buf[..n].to_vec()
///     });
///     assert_eq!(got.await.unwrap(), b"kept");
/// }).unwrap();
/// ```
///
/// # Panics
/// Outside a run, or on an unknown host (the message names it).
pub fn partition(a: impl AsHost, b: impl AsHost) {
    change_links(
        "sim::net::partition",
        a,
        b,
        false,
        ResourceOp::Partition,
        |l| l.partitioned = true,
    );
}

/// Cuts the link from `from` to `to` only (what `to` sends to `from` still arrives).
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn partition_oneway(from: impl AsHost, to: impl AsHost) {
    change_links(
        "sim::net::partition_oneway",
        from,
        to,
        true,
        ResourceOp::Partition,
        |l| l.partitioned = true,
    );
}

/// Repairs the links between `a` and `b`, both ways: waiting TCP segments go, blocked
/// connects try again.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn repair(a: impl AsHost, b: impl AsHost) {
    change_links("sim::net::repair", a, b, false, ResourceOp::Repair, |l| {
        l.partitioned = false
    });
}

/// Repairs the link from `from` to `to` only.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn repair_oneway(from: impl AsHost, to: impl AsHost) {
    change_links(
        "sim::net::repair_oneway",
        from,
        to,
        true,
        ResourceOp::Repair,
        |l| l.partitioned = false,
    );
}

/// Holds every message between `a` and `b`, both ways, until [`release`] (then each
/// goes after a fresh latency).
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn hold(a: impl AsHost, b: impl AsHost) {
    change_links("sim::net::hold", a, b, false, ResourceOp::Hold, |l| {
        l.held = true
    });
}

/// Holds the messages from `from` to `to` only.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn hold_oneway(from: impl AsHost, to: impl AsHost) {
    change_links(
        "sim::net::hold_oneway",
        from,
        to,
        true,
        ResourceOp::Hold,
        |l| l.held = true,
    );
}

/// Lets go of the messages held between `a` and `b`, both ways.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn release(a: impl AsHost, b: impl AsHost) {
    change_links("sim::net::release", a, b, false, ResourceOp::Unhold, |l| {
        l.held = false
    });
}

/// Lets go of the messages held from `from` to `to` only.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn release_oneway(from: impl AsHost, to: impl AsHost) {
    change_links(
        "sim::net::release_oneway",
        from,
        to,
        true,
        ResourceOp::Unhold,
        |l| l.held = false,
    );
}

/// Sets the configuration of the links between `a` and `b`, both ways (a host to
/// itself: its loopback).
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn set_link(a: impl AsHost, b: impl AsHost, config: LinkConfig) {
    change_links(
        "sim::net::set_link",
        a,
        b,
        false,
        ResourceOp::Configure,
        |l| l.config = config,
    );
}

/// Sets the configuration of the link from `from` to `to` only.
///
/// # Panics
/// Outside a run, or on an unknown host.
pub fn set_link_oneway(from: impl AsHost, to: impl AsHost, config: LinkConfig) {
    change_links(
        "sim::net::set_link_oneway",
        from,
        to,
        true,
        ResourceOp::Configure,
        |l| l.config = config,
    );
}

/// Sets the configuration of every link between two hosts, now and to come (loopback
/// keeps its own).
///
/// # Panics
/// Outside a run.
#[track_caller]
pub fn set_links(config: LinkConfig) {
    let what = "sim::net::set_links";
    let run = net(what);
    run.world.state.lock().configure_all(config);
    let location = Location::caller();
    context::network(what, |n| {
        let r = n.register("links", Arc::from("between hosts"), location);
        n.event(r, ResourceOp::Configure, 0);
    });
}

/// Sets how long a TCP connect waits for an answer before failing with
/// `TimedOut` (default 10 s; `None`: forever, so a connect across a partition
/// blocks, and a deadlock report names it).
///
/// # Panics
/// Outside a run.
pub fn set_connect_timeout(timeout: Option<Duration>) {
    let run = net("sim::net::set_connect_timeout");
    run.world.state.lock().connect_timeout = timeout;
}

/// Swarm mode: gives the whole network faults drawn from the seed (latency, loss,
/// duplication, reordering, and each host's clock offset and drift), or those fixed by
/// [`Builder::net_faults`](crate::Builder::net_faults), and returns them. The trace
/// records them (`configure net-faults <faults>`) and `faults_of` reads them back,
/// so a report can print them and `Builder::net_faults` restore them. Calling it
/// again returns the same faults.
///
/// # Panics
/// Outside a run.
pub fn swarm() -> Faults {
    let what = "sim::net::swarm";
    let run = net(what);
    let fixed = context::network(what, |n| n.faults().copied());
    let faults = {
        let mut st = run.world.state.lock();
        if let Some(f) = st.faults {
            return f;
        }
        let f = fixed.unwrap_or_else(|| Faults::draw(&mut st.rng));
        st.configure_all(f.link());
        for h in 1..st.hosts.len() {
            let (offset, drift) = st.draw_clock(&f);
            st.hosts[h].clock_offset_ns = offset;
            st.hosts[h].drift_ppm = drift;
        }
        st.faults = Some(f);
        f
    };
    context::network(what, |n| {
        let r = n.register(
            "net-faults",
            Arc::from(faults.to_string()),
            Location::caller(),
        );
        n.event(r, ResourceOp::Configure, 0);
    });
    faults
}

/// The wall clock of the current task's host: a fixed epoch plus the virtual time,
/// shifted by the host's clock offset and scaled by its drift, so code comparing
/// timestamps taken on different hosts can be tested. Never the machine's clock.
///
/// ```
/// use std::time::Duration;
/// use sim::net::{Host, system_time};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let late = Host::builder("late").clock(Duration::from_millis(300), true, 0).build();
///     let here = system_time();
///     let there = late.spawn(async { system_time() }).await.unwrap();
///     assert_eq!(here.duration_since(there).unwrap(), Duration::from_millis(300));
/// }).unwrap();
/// ```
///
/// # Panics
/// Outside a run.
pub fn system_time() -> SystemTime {
    let what = "sim::net::system_time";
    let run = net(what);
    let (now, host) = context::network(what, |n| (n.now(), n.current_host()));
    let st = run.world.state.lock();
    let h = &st.hosts[host as usize];
    let now_ns = now.as_nanos() as i128;
    let ns = EPOCH_NS
        + now_ns
        + now_ns * i128::from(h.drift_ppm) / 1_000_000
        + i128::from(h.clock_offset_ns);
    UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64)
}

/// The run's wall clock at time zero: 2024-01-01T00:00:00Z.
const EPOCH_NS: i128 = 1_704_067_200 * 1_000_000_000;
