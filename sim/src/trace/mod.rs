//! The structured record of a run: every scheduling event with its step, virtual time
//! and task.
//!
//! The recorder ([`Recorder`]) appends events to a compact varint byte buffer (about
//! five bytes an event), so keeping the trace on costs little time and memory. A
//! finished [`Trace`] decodes lazily into [`Event`]s; its `Display` is a stable text
//! format (no addresses, no wall-clock values, no source paths) meant for snapshot
//! tests, and [`Trace::digest`] is a stable 64-bit hash of the events.
//!
//! This module only records and renders: it never influences a scheduling decision.

mod codec;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::task::TaskId;

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
#[derive(Clone, Debug, Default)]
pub struct Trace {
    bytes: Vec<u8>,
    len: usize,
    tasks: Vec<TaskInfo>,
}

impl Trace {
    pub(crate) fn new(bytes: Vec<u8>, len: usize, tasks: Vec<TaskInfo>) -> Self {
        Trace { bytes, len, tasks }
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
        codec::Decoder::new(&self.bytes)
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
        h.write(&self.bytes);
        for t in &self.tasks {
            h.write(t.name.as_deref().unwrap_or("").as_bytes());
            h.write(&[0xff]);
        }
        h.finish()
    }

    /// `label` of a task id, or `runtime` for `None`.
    pub(crate) fn actor_label(&self, task: Option<TaskId>) -> String {
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

    fn describe(&self, kind: &EventKind) -> String {
        let label = |id: &TaskId| self.actor_label(Some(*id));
        match kind {
            EventKind::Spawn { child } => format!("spawn {}", label(child)),
            EventKind::Poll => "poll".into(),
            EventKind::Yield => "yield".into(),
            EventKind::Wake { target } => format!("wake {}", label(target)),
            EventKind::Sleep { deadline } => format!("sleep until {}", fmt_time(*deadline)),
            EventKind::TimerFired => "timer fired".into(),
            EventKind::Exit => "exit".into(),
            EventKind::Abort { target } => format!("abort {}", label(target)),
            EventKind::Cancelled => "cancelled".into(),
            EventKind::Panicked => "panicked".into(),
            EventKind::Dropped => "dropped at end of run".into(),
        }
    }

    /// The last `n` events rendered as text lines (for failure reports).
    pub(crate) fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.len.saturating_sub(n);
        self.events()
            .skip(skip)
            .map(|e| self.render(&e))
            .collect()
    }
}

/// Virtual time as seconds with microsecond precision, e.g. `1.250000s`.
pub(crate) fn fmt_time(t: Duration) -> String {
    format!("{}.{:06}s", t.as_secs(), t.subsec_micros())
}

impl fmt::Display for Trace {
    /// The stable text format: a header line, then one line per event
    /// (`step`, virtual time, task label, event).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6} {:>14} {:<18} event",
            "step", "time", "task"
        )?;
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
