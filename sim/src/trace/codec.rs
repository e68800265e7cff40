//! The compact event encoding: one tag byte, then LEB128 varints for the step delta,
//! the time delta (nanoseconds), the actor (`0` = runtime, else task id + 1) and the
//! payload of the event kind. A tag with the [`SAME`] bit set has no step, time or
//! actor: they are those of the event before (the common case inside one step).

use std::time::Duration;

use super::{Event, EventKind, ResourceId, ResourceOp};
use crate::ids::TaskId;

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
const PREEMPT: u8 = 12;
/// Resource events: `RESOURCE_BASE + op code`, payload resource id then value.
const RESOURCE_BASE: u8 = 64;
/// Tag bit: same step, time and actor as the event before (no header varints).
const SAME: u8 = 0x80;

/// Appends events to a byte buffer.
#[derive(Default)]
pub(crate) struct Recorder {
    /// Full chunks, each cut to the bytes it holds.
    full: Vec<Vec<u8>>,
    // Invariant: `chunk[..pos]` holds whole events; `chunk` never grows (a new one
    // replaces it when full), so recording writes in place and never copies old events.
    chunk: Box<[u8]>,
    pos: usize,
    len: usize,
    // Invariant: the step, time and actor of the last recorded event; deltas are
    // against them.
    last_step: u64,
    last_time_ns: u64,
    last_who: u64,
}

/// Bytes of the first chunk of the trace buffer (a short run stays small and cheap) and
/// the most per chunk; each chunk doubles the one before up to the most.
const FIRST_CHUNK_BYTES: usize = 512;
const CHUNK_BYTES: usize = 64 * 1024;

/// The longest encoded event: a tag and five varints of at most 10 bytes.
const MAX_EVENT: usize = 1 + 5 * 10;

/// Writes `v` as LEB128 at `out[*at..]`, the common one-byte case first.
#[inline(always)]
fn put(out: &mut [u8; MAX_EVENT], at: &mut usize, mut v: u64) {
    while v >= 0x80 {
        out[*at] = (v as u8) | 0x80;
        *at += 1;
        v >>= 7;
    }
    out[*at] = v as u8;
    *at += 1;
}

impl Recorder {
    #[inline(always)]
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
            // Relative to the event's time (shorter varints); a timer is registered only
            // before its deadline.
            EventKind::Sleep { deadline } => (
                SLEEP,
                Some((deadline.as_nanos() as u64).saturating_sub(time_ns)),
                None,
            ),
            EventKind::TimerFired => (TIMER_FIRED, None, None),
            EventKind::Exit => (EXIT, None, None),
            EventKind::Abort { target } => (ABORT, Some(u64::from(target.0)), None),
            EventKind::Cancelled => (CANCELLED, None, None),
            EventKind::Panicked => (PANICKED, None, None),
            EventKind::Dropped => (DROPPED, None, None),
            EventKind::Preempt => (PREEMPT, None, None),
        };
        if self.chunk.len() - self.pos < MAX_EVENT {
            self.next_chunk();
        }
        // One bounds check for the whole event; the writes below index a fixed array.
        let out: &mut [u8; MAX_EVENT] = (&mut self.chunk[self.pos..self.pos + MAX_EVENT])
            .try_into()
            .expect("a window of MAX_EVENT bytes");
        let (ds, dt, who) = (
            step - self.last_step,
            time_ns - self.last_time_ns,
            task.map_or(0, |t| u64::from(t.0) + 1),
        );
        let mut at = 0;
        if (ds | dt) == 0 && who == self.last_who {
            out[0] = tag | SAME;
            at = 1;
        } else if (ds | dt | who) < 0x80 {
            // The common case: a four-byte header.
            out[..4].copy_from_slice(&[tag, ds as u8, dt as u8, who as u8]);
            at = 4;
        } else {
            out[0] = tag;
            at += 1;
            put(out, &mut at, ds);
            put(out, &mut at, dt);
            put(out, &mut at, who);
        }
        if let Some(a) = a {
            put(out, &mut at, a);
        }
        if let Some(b) = b {
            put(out, &mut at, b);
        }
        self.pos += at;
        self.last_step = step;
        self.last_time_ns = time_ns;
        self.last_who = who;
        self.len += 1;
    }

    /// Retires the current chunk (cut to its events) and starts a new one.
    #[cold]
    fn next_chunk(&mut self) {
        let size = (self.chunk.len() * 2).clamp(FIRST_CHUNK_BYTES, CHUNK_BYTES);
        let old = std::mem::replace(&mut self.chunk, vec![0; size].into_boxed_slice());
        if self.pos > 0 {
            let mut old = old.into_vec();
            old.truncate(self.pos);
            self.full.push(old);
        }
        self.pos = 0;
    }

    /// The number of events recorded so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn finish(mut self) -> (Vec<Vec<u8>>, usize) {
        if self.pos > 0 {
            let mut last = std::mem::take(&mut self.chunk).into_vec();
            last.truncate(self.pos);
            self.full.push(last);
        }
        (self.full, self.len)
    }
}

/// Decodes the chunks written by [`Recorder`].
pub(crate) struct Decoder<'a> {
    chunks: &'a [Vec<u8>],
    chunk: usize,
    pos: usize,
    step: u64,
    time_ns: u64,
    who: u64,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(chunks: &'a [Vec<u8>]) -> Self {
        Decoder {
            chunks,
            chunk: 0,
            pos: 0,
            step: 0,
            time_ns: 0,
            who: 0,
        }
    }

    /// The next byte of the current event (events never cross chunks).
    fn byte(&mut self) -> u8 {
        let b = self.chunks[self.chunk][self.pos];
        self.pos += 1;
        b
    }

    fn get(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
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
        while self.pos >= self.chunks.get(self.chunk)?.len() {
            self.chunk += 1;
            self.pos = 0;
        }
        let mut tag = self.byte();
        if tag & SAME != 0 {
            tag &= !SAME;
        } else {
            self.step += self.get();
            self.time_ns += self.get();
            self.who = self.get();
        }
        let task = match self.who {
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
                deadline: Duration::from_nanos(self.time_ns + self.get()),
            },
            TIMER_FIRED => EventKind::TimerFired,
            EXIT => EventKind::Exit,
            ABORT => EventKind::Abort {
                target: self.task(),
            },
            CANCELLED => EventKind::Cancelled,
            PANICKED => EventKind::Panicked,
            DROPPED => EventKind::Dropped,
            PREEMPT => EventKind::Preempt,
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
        let (chunks, len) = r.finish();
        assert_eq!(len, events.len());
        let back: Vec<Event> = Decoder::new(&chunks).collect();
        assert_eq!(back, events);
    }
}
