//! The Chrome trace-event JSON export ([`Trace::to_chrome_trace`](super::Trace::to_chrome_trace)),
//! which ui.perfetto.dev and `chrome://tracing` open: the [`Timeline`] on virtual time.
//!
//! - a process per lane group (`pid` from 1, in order of first appearance): per
//!   simulated host (`host NAME`) in a run with `sim::net` hosts, else one, `tasks`; a
//!   thread per lane: task `n` is `tid` `n + 2`, named `name#n`, sorted by id; the
//!   runtime is `tid` 1, in the main future's process, sorted last;
//! - polls, waits (named by what is awaited) and clock advances are complete events
//!   (`X`); every other event is a thread-scoped instant (`i`) named as in the trace
//!   text (`acquire mutex#r0 n=1`, `timer fired`), the teardown's under category
//!   `teardown`; wake → poll, spawn → first poll and send → receive are flow pairs
//!   (`s`, then `f` with `bp: e`) sharing an `id`; a failure is a global instant.
//!
//! **Time.** `ts` and `dur` are virtual microseconds with nanosecond decimals. A virtual
//! instant often holds many steps (time moves only when every task waits), so the
//! events of one instant are spread, in order, over the first microsecond after it
//! (less if the next instant is nearer): `ts` minus the event's virtual time is always
//! under one microsecond, and the order of `ts` is the order of the trace. Past a
//! thousand events in one instant some share a nanosecond.
//!
//! The output is a function of the trace alone: same run, same bytes.

use std::fmt::Write as _;

use super::timeline::{DEFAULT_GROUP, FlowKind, SliceKind, Timeline};
use super::{EventKind, ResourceOp, Trace, fmt_time};
use crate::json;

/// A failure to mark: its kind (the instant's name) and its headline.
pub(crate) struct Marker {
    pub(crate) kind: String,
    pub(crate) headline: String,
}

/// Picture times in nanoseconds: where each position `0..events + 2` starts (the
/// events, then where the run's open slices end) and where its slot ends. Each virtual
/// instant is cut into one slot per event and one more, so that what ends right after
/// an instant's last event (a poll) ends inside that instant. See the module docs.
struct Axis {
    start: Vec<u64>,
    slot_end: Vec<u64>,
}

impl Axis {
    fn new(t: &Timeline) -> Axis {
        let n = t.events.len() + 2;
        let last = t.events.last().map_or(0, |e| e.time.as_nanos() as u64);
        let time = |p: usize| t.events.get(p).map_or(last, |e| e.time.as_nanos() as u64);
        let (mut start, mut slot_end) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut a = 0;
        while a < n {
            let at = time(a);
            let mut b = a;
            while b + 1 < n && time(b + 1) == at {
                b += 1;
            }
            let width = if b + 1 < n {
                time(b + 1).saturating_sub(at).min(1000)
            } else {
                1000
            };
            let slots = (b - a + 2) as u64;
            for k in 0..=(b - a) as u64 {
                start.push(at + k * width / slots);
                slot_end.push(at + (k + 1) * width / slots);
            }
            a = b + 1;
        }
        Axis { start, slot_end }
    }

    /// Where a boundary is: at position `p`, or right after position `p - 1`.
    fn at(&self, p: usize, after: bool) -> u64 {
        if after && p > 0 {
            self.slot_end[p - 1]
        } else {
            self.start[p]
        }
    }
}

/// The export; `marker` marks the failure where the modelled events end, `other`
/// goes into `otherData`.
pub(crate) fn write(
    trace: &Trace,
    t: &Timeline,
    marker: Option<&Marker>,
    other: &[(&str, String)],
) -> String {
    let axis = Axis::new(t);
    let total = t.events.len();
    let mut out = String::with_capacity(128 * (total + t.slices.len() + 2 * t.flows.len()));
    out.push_str("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"corosim\",\"clock\":");
    json::string(
        &mut out,
        "virtual time in microseconds; the events of one virtual instant are spread, in \
         order, over at most its first microsecond",
    );
    for (key, value) in other {
        out.push(',');
        json::string(&mut out, key);
        out.push(':');
        json::string(&mut out, value);
    }
    out.push_str("},\"traceEvents\":[\n");

    // Processes are groups in order of first appearance; threads are lanes.
    let mut groups: Vec<&str> = Vec::new();
    let mut ids = Vec::with_capacity(t.lanes.len());
    for lane in &t.lanes {
        let pid = match groups.iter().position(|g| *g == lane.group) {
            Some(i) => i + 1,
            None => {
                groups.push(&lane.group);
                groups.len()
            }
        };
        let tid = lane.task.map_or(1, |id| u64::from(id.as_u32()) + 2);
        ids.push((pid, tid));
    }
    if groups.is_empty() {
        groups.push(DEFAULT_GROUP);
    }
    let mut first = true;
    let mut line = |out: &mut String, body: &str| {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str(body);
    };
    for (i, g) in groups.iter().enumerate() {
        let pid = i + 1;
        line(
            &mut out,
            &format!(
                "{{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":{pid},\"tid\":1,\"args\":{{\"name\":{}}}}}",
                json::quoted(g)
            ),
        );
        line(
            &mut out,
            &format!(
                "{{\"name\":\"process_sort_index\",\"ph\":\"M\",\"ts\":0,\"pid\":{pid},\"tid\":1,\"args\":{{\"sort_index\":{i}}}}}"
            ),
        );
    }
    for (i, lane) in t.shown_lanes() {
        let (pid, tid) = ids[i];
        line(
            &mut out,
            &format!(
                "{{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
                json::quoted(&lane.label)
            ),
        );
        line(
            &mut out,
            &format!(
                "{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"ts\":0,\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{}}}}}",
                lane.task
                    .map_or(t.lanes.len() as u64, |id| u64::from(id.as_u32()))
            ),
        );
    }

    let mut buf = String::new();
    let mut switches = t.switches.iter().peekable();
    for s in &t.slices {
        let (name, cat, args) = match s.kind {
            SliceKind::Runnable => continue,
            SliceKind::Poll(step) => {
                let mut args = format!("{{\"step\":{step}");
                while switches.peek().is_some_and(|w| w.at < s.start) {
                    switches.next();
                }
                if let Some(w) = switches.peek().filter(|w| w.at == s.start) {
                    let from = trace.actor_label(Some(w.from));
                    let _ = write!(args, ",\"context_switch_from\":{}", json::quoted(&from));
                }
                args.push('}');
                ("poll".to_string(), "poll", args)
            }
            SliceKind::Wait => {
                let args = if s.open {
                    "{\"until\":\"the end of the run\"}".to_string()
                } else {
                    "{}".to_string()
                };
                (format!("wait {}", s.label), "wait", args)
            }
            SliceKind::Advance => {
                let to = t
                    .events
                    .get(s.start)
                    .map_or(String::new(), |e| fmt_time(e.time));
                (
                    "clock advance".to_string(),
                    "clock",
                    format!("{{\"to\":{}}}", json::quoted(&to)),
                )
            }
        };
        let start = axis.at(s.start, s.starts_after);
        let end = if s.open {
            axis.at(total + 1, false)
        } else {
            axis.at(s.end, s.ends_after)
        };
        let (pid, tid) = ids[s.lane];
        buf.clear();
        buf.push_str("{\"name\":");
        json::string(&mut buf, &name);
        let _ = write!(buf, ",\"cat\":\"{cat}\",\"ph\":\"X\",\"ts\":");
        json::micros(&mut buf, start);
        buf.push_str(",\"dur\":");
        json::micros(&mut buf, end.saturating_sub(start));
        let _ = write!(buf, ",\"pid\":{pid},\"tid\":{tid},\"args\":{args}}}");
        line(&mut out, &buf);
    }

    for (i, e) in t.events.iter().enumerate() {
        let cat = match e.kind {
            EventKind::Poll => continue,
            _ if i >= t.end => "teardown",
            EventKind::Sleep { .. } | EventKind::TimerFired => "timer",
            EventKind::Resource {
                op: ResourceOp::Wait,
                ..
            } => "wait",
            EventKind::Resource { .. } => "resource",
            EventKind::Wake { .. } => "wake",
            _ => "task",
        };
        let (pid, tid) = ids[t.lane_of(e.task)];
        buf.clear();
        buf.push_str("{\"name\":");
        json::string(&mut buf, &trace.describe(&e.kind));
        let _ = write!(buf, ",\"cat\":\"{cat}\",\"ph\":\"i\",\"s\":\"t\",\"ts\":");
        json::micros(&mut buf, axis.at(i, false));
        let _ = write!(
            buf,
            ",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"step\":{}}}}}",
            e.step
        );
        line(&mut out, &buf);
    }

    for (k, f) in t.flows.iter().enumerate() {
        let name = f.kind.as_str();
        for (ph, (lane, at)) in [("s", f.from), ("f", f.to)] {
            let (pid, tid) = ids[lane];
            buf.clear();
            let _ = write!(
                buf,
                "{{\"name\":\"{name}\",\"cat\":\"{name}\",\"ph\":\"{ph}\",\"id\":{},\"ts\":",
                k + 1
            );
            json::micros(&mut buf, axis.at(at, false));
            let _ = write!(buf, ",\"pid\":{pid},\"tid\":{tid}");
            if ph == "f" {
                buf.push_str(",\"bp\":\"e\"");
            }
            buf.push('}');
            line(&mut out, &buf);
        }
    }
    debug_assert!(
        t.flows
            .iter()
            .all(|f| f.kind != FlowKind::Message || f.from.1 < f.to.1)
    );

    if let Some(m) = marker {
        buf.clear();
        buf.push_str("{\"name\":");
        json::string(&mut buf, &m.kind);
        buf.push_str(",\"cat\":\"failure\",\"ph\":\"i\",\"s\":\"g\",\"ts\":");
        json::micros(&mut buf, axis.at(t.end, true));
        buf.push_str(",\"pid\":1,\"tid\":1,\"args\":{\"report\":");
        json::string(&mut buf, &m.headline);
        buf.push_str("}}");
        line(&mut out, &buf);
    }
    out.push_str("\n]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::timeline::Timeline;

    #[test]
    fn the_axis_spreads_an_instant_over_its_first_microsecond_in_order() {
        let mut rt = crate::Builder::new().seed(3).build();
        rt.block_on(async {
            for _ in 0..3 {
                crate::task::yield_now().await;
            }
            crate::time::sleep(std::time::Duration::from_nanos(1500)).await;
            crate::task::yield_now().await;
        })
        .unwrap();
        let t = Timeline::new(rt.trace(), None);
        let axis = Axis::new(&t);
        let ts = &axis.start;
        assert_eq!(ts.len(), t.events.len() + 2);
        for (p, w) in ts.windows(2).enumerate() {
            assert!(
                w[0] < axis.slot_end[p] && axis.slot_end[p] <= w[1],
                "{ts:?}"
            );
        }
        for (e, ts) in t.events.iter().zip(ts) {
            let at = e.time.as_nanos() as u64;
            assert!(*ts >= at && *ts - at < 1000, "{ts} for {at}");
        }
        let distinct: std::collections::BTreeSet<_> = ts.iter().collect();
        assert_eq!(
            distinct.len(),
            ts.len(),
            "every position its own nanosecond"
        );
    }
}
