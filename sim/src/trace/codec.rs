//! The compact event encoding: one tag byte, then LEB128 varints for the step delta,
//! the time delta (nanoseconds), the actor (`0` = runtime, else task id + 1) and the
//! payload of the event kind.

use std::time::Duration;

use super::{Event, EventKind, ResourceId, ResourceOp};
use crate::task::TaskId;

const SPAWN: u8 = 1;
const POLL: u8 = 2;
const YIELD: u8 = 3;
const WAKE: u8 = 4;
const SLEEP: u8 = 5;
const TIMER_FIRED: u8 = 6;
const EXIT: u8 = 7;
const ABORT: u8 = 8;
const CANCELLED: u8 = 9;
const PANICKED: u8 = 10;
const DROPPED: u8 = 11;
/// Resource events: `RESOURCE_BASE + op code`, payload resource id then value.
const RESOURCE_BASE: u8 = 64;

/// Appends events to a byte buffer.
#[derive(Default)]
pub(crate) struct Recorder {
    bytes: Vec<u8>,
    len: usize,
    // Invariant: the step and time of the last recorded event; deltas are against them.
    last_step: u64,
    last_time_ns: u64,
}

/// The longest encoded event: a tag and four varints of at most 10 bytes.
const MAX_EVENT: usize = 1 + 4 * 10;

/// One event being encoded on the stack, appended to the buffer in one copy.
struct Scratch {
    buf: [u8; MAX_EVENT],
    len: usize,
}

impl Scratch {
    fn new(tag: u8) -> Self {
        let mut buf = [0; MAX_EVENT];
        buf[0] = tag;
        Scratch { buf, len: 1 }
    }

    /// LEB128, with the common one-byte case first.
    #[inline]
    fn put(&mut self, mut v: u64) {
        if v < 0x80 {
            self.buf[self.len] = v as u8;
            self.len += 1;
            return;
        }
        while v >= 0x80 {
            self.buf[self.len] = (v as u8) | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.buf[self.len] = v as u8;
        self.len += 1;
    }
}

impl Recorder {
    pub(crate) fn record(
        &mut self,
        step: u64,
        time: Duration,
        task: Option<TaskId>,
        kind: EventKind,
    ) {
        let time_ns = time.as_nanos() as u64;
        let (tag, a, b) = match kind {
            EventKind::Resource {
                resource,
                op,
                value,
            } => (
                RESOURCE_BASE + op.code(),
                Some(u64::from(resource.0)),
                Some(value),
            ),
            EventKind::Spawn { child } => (SPAWN, Some(u64::from(child.0)), None),
            EventKind::Poll => (POLL, None, None),
            EventKind::Yield => (YIELD, None, None),
            EventKind::Wake { target } => (WAKE, Some(u64::from(target.0)), None),
            EventKind::Sleep { deadline } => (SLEEP, Some(deadline.as_nanos() as u64), None),
            EventKind::TimerFired => (TIMER_FIRED, None, None),
            EventKind::Exit => (EXIT, None, None),
            EventKind::Abort { target } => (ABORT, Some(u64::from(target.0)), None),
            EventKind::Cancelled => (CANCELLED, None, None),
            EventKind::Panicked => (PANICKED, None, None),
            EventKind::Dropped => (DROPPED, None, None),
        };
        let mut e = Scratch::new(tag);
        e.put(step - self.last_step);
        e.put(time_ns - self.last_time_ns);
        e.put(task.map_or(0, |t| u64::from(t.0) + 1));
        for v in [a, b].into_iter().flatten() {
            e.put(v);
        }
        self.bytes.extend_from_slice(&e.buf[..e.len]);
        self.last_step = step;
        self.last_time_ns = time_ns;
        self.len += 1;
    }

    /// The number of events recorded so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn finish(self) -> (Vec<u8>, usize) {
        (self.bytes, self.len)
    }
}

/// Decodes a buffer written by [`Recorder`].
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    step: u64,
    time_ns: u64,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Decoder {
            bytes,
            pos: 0,
            step: 0,
            time_ns: 0,
        }
    }

    fn get(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.bytes[self.pos];
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn task(&mut self) -> TaskId {
        TaskId(self.get() as u32)
    }
}

impl Iterator for Decoder<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let &tag = self.bytes.get(self.pos)?;
        self.pos += 1;
        self.step += self.get();
        self.time_ns += self.get();
        let task = match self.get() {
            0 => None,
            n => Some(TaskId((n - 1) as u32)),
        };
        let kind = match tag {
            SPAWN => EventKind::Spawn { child: self.task() },
            POLL => EventKind::Poll,
            YIELD => EventKind::Yield,
            WAKE => EventKind::Wake {
                target: self.task(),
            },
            SLEEP => EventKind::Sleep {
                deadline: Duration::from_nanos(self.get()),
            },
            TIMER_FIRED => EventKind::TimerFired,
            EXIT => EventKind::Exit,
            ABORT => EventKind::Abort {
                target: self.task(),
            },
            CANCELLED => EventKind::Cancelled,
            PANICKED => EventKind::Panicked,
            DROPPED => EventKind::Dropped,
            op if op > RESOURCE_BASE => EventKind::Resource {
                op: ResourceOp::from_code(op - RESOURCE_BASE)
                    .unwrap_or_else(|| panic!("corrupt trace buffer: unknown resource op {op}")),
                resource: ResourceId(self.get() as u32),
                value: self.get(),
            },
            other => panic!("corrupt trace buffer: unknown event tag {other}"),
        };
        Some(Event {
            step: self.step,
            time: Duration::from_nanos(self.time_ns),
            task,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let events = vec![
            Event {
                step: 0,
                time: Duration::ZERO,
                task: Some(TaskId(0)),
                kind: EventKind::Spawn { child: TaskId(1) },
            },
            Event {
                step: 1,
                time: Duration::ZERO,
                task: Some(TaskId(1)),
                kind: EventKind::Poll,
            },
            Event {
                step: 1,
                time: Duration::ZERO,
                task: Some(TaskId(1)),
                kind: EventKind::Sleep {
                    deadline: Duration::from_millis(1500),
                },
            },
            Event {
                step: 1,
                time: Duration::from_millis(1500),
                task: None,
                kind: EventKind::Wake {
                    target: TaskId(300),
                },
            },
            Event {
                step: 2,
                time: Duration::from_millis(1500),
                task: Some(TaskId(2)),
                kind: EventKind::Resource {
                    resource: ResourceId(7),
                    op: ResourceOp::Send,
                    value: 3,
                },
            },
            Event {
                step: 90_000,
                time: Duration::from_secs(7200),
                task: Some(TaskId(70_000)),
                kind: EventKind::Dropped,
            },
        ];
        let mut r = Recorder::default();
        for e in &events {
            r.record(e.step, e.time, e.task, e.kind.clone());
        }
        let (bytes, len) = r.finish();
        assert_eq!(len, events.len());
        let back: Vec<Event> = Decoder::new(&bytes).collect();
        assert_eq!(back, events);
    }
}
