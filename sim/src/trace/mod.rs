//! The structured record of a run: every scheduling event with its step, virtual time
//! and task.
//!
//! The recorder (`Recorder`) appends events to a compact varint byte buffer (about
//! five bytes an event), so keeping the trace on costs little time and memory. A
//! finished [`Trace`] decodes lazily into [`Event`]s; its `Display` is a stable text
//! format (no addresses, no wall-clock values, no source paths) meant for snapshot
//! tests, and [`Trace::digest`] is a stable 64-bit hash of the events.
//!
//! This module only records and renders: it never influences a scheduling decision.

mod chrome;
mod codec;
pub(crate) mod timeline;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use crate::ids::ResourceId;
use crate::ids::TaskId;

pub(crate) use chrome::{Marker, write as write_chrome};
pub(crate) use codec::Recorder;

/// One thing that happened in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The scheduling step it happened in: the number of polls so far (the first poll is
    /// step 1; events before it are step 0).
    pub step: u64,
    /// The virtual time, since the start of the run.
    pub time: Duration,
    /// The task that caused it, or `None` for the runtime itself (the clock, timers,
    /// teardown).
    pub task: Option<TaskId>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`Event`] records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `task` spawned `child`.
    Spawn {
        /// The new task.
        child: TaskId,
    },
    /// The scheduler chose `task` and polled it: this event starts a step.
    Poll,
    /// The task yielded (`sim::task::yield_now`).
    Yield,
    /// The task stopped at a scheduling point, before an async operation took effect:
    /// the scheduler chose another task to run first (or the task had used its
    /// cooperative budget of operations in one poll). The operation happens when the
    /// task is polled again.
    Preempt,
    /// A waker of `target` fired, making it runnable.
    Wake {
        /// The task made runnable.
        target: TaskId,
    },
    /// The task started waiting on a timer.
    Sleep {
        /// When the timer is due, since the start of the run.
        deadline: Duration,
    },
    /// The clock reached a timer of `task`.
    TimerFired,
    /// The task's future returned.
    Exit,
    /// `task` asked for `target` to be aborted.
    Abort {
        /// The task to be cancelled at its next scheduling point.
        target: TaskId,
    },
    /// The task was cancelled: its future was dropped unfinished.
    Cancelled,
    /// The task panicked.
    Panicked,
    /// The task was still alive when the main future returned (or the run failed) and
    /// was dropped unfinished.
    Dropped,
    /// An operation on a synchronisation resource (lock, channel, queue...).
    Resource {
        /// Which resource.
        resource: ResourceId,
        /// What was done.
        op: ResourceOp,
        /// The operation's number ([`ResourceOp::value_name`] says what it counts).
        value: u64,
    },
}

/// A synchronisation resource as traces and reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// Its id.
    pub id: ResourceId,
    /// What it is (`mutex`, `mpsc`, `queue`, ...).
    pub kind: &'static str,
    /// The name the user gave it, if any.
    pub name: Option<Arc<str>>,
    /// Where it was created (`file:line:column`).
    pub created_at: &'static std::panic::Location<'static>,
}

impl ResourceInfo {
    /// `kind name#rN` or `kind#rN`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {n}#{}", self.kind, self.id),
            None => format!("{}#{}", self.kind, self.id),
        }
    }
}

macro_rules! resource_ops {
    ($($(#[$doc:meta])* $op:ident = $code:literal, $text:literal, $value:literal;)*) => {
        /// What an [`EventKind::Resource`] event did.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ResourceOp {
            $($(#[$doc])* $op,)*
        }

        impl ResourceOp {
            /// The word used in the trace text.
            pub fn as_str(self) -> &'static str {
                match self { $(ResourceOp::$op => $text,)* }
            }

            /// What the event's `value` counts (empty: nothing).
            pub fn value_name(self) -> &'static str {
                match self { $(ResourceOp::$op => $value,)* }
            }

            pub(crate) fn code(self) -> u8 {
                match self { $(ResourceOp::$op => $code,)* }
            }

            pub(crate) fn from_code(code: u8) -> Option<Self> {
                match code { $($code => Some(ResourceOp::$op),)* _ => None }
            }
        }
    };
}

resource_ops! {
    /// The task starts waiting on the resource.
    Wait = 1, "wait", "";
    /// The task stopped waiting without the resource (timeout, cancellation).
    WaitCancelled = 2, "wait-cancelled", "";
    /// Acquired (a lock, `value` permits).
    Acquire = 3, "acquire", "n";
    /// Released (a lock, `value` permits).
    Release = 4, "release", "n";
    /// A message was sent; `value` is the queue length after.
    Send = 5, "send", "len";
    /// A message was received; `value` is the queue length after.
    Recv = 6, "recv", "len";
    /// Waiters were notified; `value` is how many were woken.
    Notify = 7, "notify", "woken";
    /// An event flag was set.
    Set = 8, "set", "";
    /// An event flag was cleared.
    Clear = 9, "clear", "";
    /// Closed (a channel, a semaphore, a queue shut down).
    Close = 10, "close", "";
    /// An item was put in a queue; `value` is the queue size after.
    Put = 11, "put", "len";
    /// An item was taken from a queue; `value` is the queue size after.
    Get = 12, "get", "len";
    /// `task_done` was called; `value` is the count of unfinished items after.
    TaskDone = 13, "task-done", "unfinished";
    /// A receiver lagged behind; `value` is how many messages it missed.
    Lagged = 14, "lagged", "missed";
    /// Passed a barrier or a join point; `value` is how many passed together.
    Pass = 15, "pass", "n";
    /// Acquired shared access (a read lock); `value` is how many readers hold it after.
    AcquireShared = 16, "acquire-shared", "readers";
    /// Released shared access (a read lock); `value` is how many readers hold it after.
    ReleaseShared = 17, "release-shared", "readers";
    /// A waiting task was served (notified, the event it waited on was set): it now
    /// knows what the notifier did before.
    Served = 18, "served", "";
    /// A socket was bound; `value` is its port.
    Bind = 19, "bind", "port";
    /// A connection was asked for; `value` is the port connected to.
    Connect = 20, "connect", "port";
    /// A connection was accepted; `value` is the peer's port.
    Accept = 21, "accept", "port";
    /// A connection was refused (no listener); `value` is the port.
    Refused = 22, "refused", "port";
    /// A connect gave up (its peer never answered: a partition, a crashed host).
    TimedOut = 23, "timed-out", "";
    /// Bytes (a TCP segment, a datagram) left a socket; `value` is how many.
    Transmit = 24, "transmit", "bytes";
    /// Bytes (a TCP segment, a datagram) reached a socket; `value` is how many.
    Deliver = 25, "deliver", "bytes";
    /// A datagram was lost (loss, a partition, a crashed host, no socket); `value` is
    /// its size.
    Lost = 26, "lost", "bytes";
    /// A datagram was duplicated on its link; `value` is its size.
    Duplicated = 27, "duplicate", "bytes";
    /// The end of a stream (a FIN) reached a socket.
    Eof = 28, "eof", "";
    /// A socket shut its writing side down (sent a FIN).
    Shutdown = 29, "shutdown", "";
    /// A connection was reset (its peer's host crashed).
    Reset = 30, "reset", "";
    /// A link was cut (a partition).
    Partition = 31, "partition", "";
    /// A cut link was repaired.
    Repair = 32, "repair", "";
    /// A link started holding its messages.
    Hold = 33, "hold", "";
    /// A held link let its messages go; `value` is how many.
    Unhold = 34, "unhold", "messages";
    /// A host crashed; `value` is how many of its tasks were dropped.
    Crash = 35, "crash", "tasks";
    /// A host was restarted (its start-up closure runs again).
    Restart = 36, "restart", "";
    /// A host was paused.
    Pause = 37, "pause", "";
    /// A host was resumed.
    Resume = 38, "resume", "";
    /// A BUGGIFY site was reached for the first time in the run; `value` is 1 if it is
    /// enabled for the run, 0 if not.
    BuggifySite = 39, "buggify-site", "enabled";
    /// An enabled BUGGIFY site fired.
    Buggify = 40, "buggify", "";
    /// A link's configuration changed (latency, loss, duplication, reordering).
    Configure = 41, "configure", "";
}

/// A task as the trace and reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// The name given with [`task::Builder::name`](crate::task::Builder::name), if any.
    pub name: Option<Arc<str>>,
    /// Where it was spawned (`file:line:column`).
    pub spawned_at: &'static std::panic::Location<'static>,
}

impl TaskInfo {
    /// `name#id`, or `#id` for an unnamed task (`main#0` for the main future).
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name}#{}", self.id),
            None => format!("#{}", self.id),
        }
    }
}

/// Every event of one run. See the [module docs](self).
#[derive(Clone, Default)]
pub struct Trace {
    chunks: Vec<Vec<u8>>,
    len: usize,
    tasks: Vec<TaskInfo>,
    resources: Vec<ResourceInfo>,
    /// The simulated host of each task, by task index (`sim::net`'s host numbers: the
    /// `host` resources in order); empty for a run without hosts.
    task_hosts: Vec<u32>,
}

impl Trace {
    pub(crate) fn new(
        chunks: Vec<Vec<u8>>,
        len: usize,
        tasks: Vec<TaskInfo>,
        resources: Vec<ResourceInfo>,
    ) -> Self {
        Trace {
            chunks,
            len,
            tasks,
            resources,
            task_hosts: Vec::new(),
        }
    }

    /// Records the host of each task (by task index), for pictures grouped by host.
    pub(crate) fn with_task_hosts(mut self, task_hosts: Vec<u32>) -> Self {
        self.task_hosts = task_hosts;
        self
    }

    /// The name of the simulated host task `id` ran on, if the run had hosts: the name
    /// of its host's `host` resource (they are registered in host order).
    pub(crate) fn host_of(&self, id: TaskId) -> Option<&str> {
        let host = *self.task_hosts.get(id.index())? as usize;
        self.resources
            .iter()
            .filter(|r| r.kind == "host")
            .nth(host)
            .and_then(|r| r.name.as_deref())
    }

    /// Every synchronisation resource used in the run, indexed by id.
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }

    pub(crate) fn resource_label(&self, id: ResourceId) -> String {
        match self.resources.get(id.0 as usize) {
            Some(r) => r.label(),
            None => format!("#{id}"),
        }
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was recorded (no run yet).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The events in order.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        codec::Decoder::new(&self.chunks)
    }

    /// Every task of the run, indexed by id.
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// The task with this id, if the run had it.
    pub fn task(&self, id: TaskId) -> Option<&TaskInfo> {
        self.tasks.get(id.index())
    }

    /// A stable 64-bit hash of every event and task name: equal traces have equal
    /// digests on every platform and Rust version (FNV-1a, not `DefaultHasher`).
    pub fn digest(&self) -> u64 {
        let mut h = Fnv::new();
        for c in &self.chunks {
            h.write(c);
        }
        for t in &self.tasks {
            h.write(t.name.as_deref().unwrap_or("").as_bytes());
            h.write(&[0xff]);
        }
        for r in &self.resources {
            h.write(r.kind.as_bytes());
            h.write(&[0xfe]);
            h.write(r.name.as_deref().unwrap_or("").as_bytes());
            h.write(&[0xff]);
        }
        h.finish()
    }

    /// The run as Chrome trace-event JSON, which ui.perfetto.dev and `chrome://tracing`
    /// open: a track per task (`name#id`), polls and waits as slices on virtual time,
    /// every other event as an instant, wake → poll, spawn → first poll and
    /// send → receive as flow arrows. `ts` is virtual microseconds; the events of one
    /// virtual instant are spread, in order, over at most its first microsecond so that
    /// steps taking no virtual time still have a width. A failing run's
    /// [`Failure::to_chrome_trace`](crate::Failure::to_chrome_trace) also marks the
    /// failure. The same trace always gives the same bytes.
    ///
    /// ```
    /// let mut rt = sim::Builder::new().seed(1).build();
    /// rt.block_on(async {
    ///     sim::spawn(async { sim::task::yield_now().await }).await.unwrap();
    /// }).unwrap();
    /// let json = rt.trace().to_chrome_trace();
    /// assert!(json.starts_with("{\"displayTimeUnit\""));
    /// assert!(json.contains("\"name\":\"thread_name\""));
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        chrome::write(self, &timeline::Timeline::new(self, None), None, &[])
    }

    /// The label of an event's actor: `name#id` / `#id` for a task, `runtime` for `None`.
    pub fn actor_label(&self, task: Option<TaskId>) -> String {
        match task {
            None => "runtime".to_string(),
            Some(id) => match self.task(id) {
                Some(info) => info.label(),
                None => format!("#{id}"),
            },
        }
    }

    /// One event as a line of the stable text format.
    pub fn render(&self, e: &Event) -> String {
        format!(
            "{:>6} {:>14} {:<18} {}",
            e.step,
            fmt_time(e.time),
            self.actor_label(e.task),
            self.describe(&e.kind)
        )
    }

    /// The event part of a trace line (`acquire mutex#r0 n=1`).
    pub(crate) fn describe(&self, kind: &EventKind) -> String {
        let label = |id: &TaskId| self.actor_label(Some(*id));
        match kind {
            EventKind::Spawn { child } => format!("spawn {}", label(child)),
            EventKind::Poll => "poll".into(),
            EventKind::Yield => "yield".into(),
            EventKind::Preempt => "preempted".into(),
            EventKind::Wake { target } => format!("wake {}", label(target)),
            EventKind::Sleep { deadline } => format!("sleep until {}", fmt_time(*deadline)),
            EventKind::TimerFired => "timer fired".into(),
            EventKind::Exit => "exit".into(),
            EventKind::Abort { target } => format!("abort {}", label(target)),
            EventKind::Cancelled => "cancelled".into(),
            EventKind::Panicked => "panicked".into(),
            EventKind::Dropped => "dropped at end of run".into(),
            EventKind::Resource {
                resource,
                op,
                value,
            } => match op.value_name() {
                "" => format!("{} {}", op.as_str(), self.resource_label(*resource)),
                name => format!(
                    "{} {} {name}={value}",
                    op.as_str(),
                    self.resource_label(*resource)
                ),
            },
        }
    }

    /// The last `n` of the first `end` events rendered as text lines (for failure
    /// reports, which stop before the run's teardown).
    pub(crate) fn tail(&self, end: usize, n: usize) -> Vec<String> {
        let end = end.min(self.len);
        self.events()
            .take(end)
            .skip(end.saturating_sub(n))
            .map(|e| self.render(&e))
            .collect()
    }
}

/// How a determinism-check report starts.
pub(crate) const RERUN_DIFFERS: &str = "the same seed ran twice and the traces differ";

/// Where two traces of the same seed part ways.
pub(crate) struct Difference {
    pub(crate) step: u64,
    pub(crate) time: Duration,
    pub(crate) reason: String,
}

/// The first event where `a` and `b` differ (compared as rendered lines, so task and
/// resource names count), or `None` if they are identical.
pub(crate) fn first_difference(a: &Trace, b: &Trace) -> Option<Difference> {
    let mut ea = a.events();
    let mut eb = b.events();
    for index in 0.. {
        let (x, y) = (ea.next(), eb.next());
        let (lx, ly) = (
            x.as_ref().map(|e| a.render(e)),
            y.as_ref().map(|e| b.render(e)),
        );
        if lx == ly {
            lx.as_ref()?; // Both ended together: identical.
            continue;
        }
        let at = x.as_ref().or(y.as_ref()).expect("one side has an event");
        let show = |l: Option<String>| {
            l.map_or("<the run had ended>".to_string(), |l| {
                format!("`{}`", l.trim())
            })
        };
        return Some(Difference {
            step: at.step,
            time: at.time,
            reason: format!(
                "{RERUN_DIFFERS} at event {index} (step {}): first run {}, second run {}; the code \
                 depends on something outside the simulation (wall clock, OS threads, a global, \
                 HashMap order, futures::select!)",
                at.step,
                show(lx),
                show(ly)
            ),
        });
    }
    None
}

/// Virtual time as seconds with microsecond precision, e.g. `1.250000s`.
pub(crate) fn fmt_time(t: Duration) -> String {
    format!("{}.{:06}s", t.as_secs(), t.subsec_micros())
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("events", &self.len)
            .field("tasks", &self.tasks.len())
            .field("digest", &format_args!("{:016x}", self.digest()))
            .finish()
    }
}

impl fmt::Display for Trace {
    /// The stable text format: a header line, then one line per event
    /// (`step`, virtual time, task label, event).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>6} {:>14} {:<18} event", "step", "time", "task")?;
        for e in self.events() {
            writeln!(f, "{}", self.render(&e))?;
        }
        Ok(())
    }
}

/// 64-bit FNV-1a: tiny, stable, and good enough to tell traces apart.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}
