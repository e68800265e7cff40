//! The run as a picture, derived from a finished trace: one lane per task (and one for
//! the runtime), slices on the lanes (polls, waits, runnable spans, clock advances),
//! arrows between them (wake → poll, spawn → first poll, send → receive) and the
//! context switches. The Chrome export ([`super::chrome`]) and the HTML report
//! (`crate::report`) draw this one model, each on its own time axis.
//!
//! Positions are event indices: a slice `[start, end)` covers the events `start..end`
//! of the trace, an arrow goes from one event to another. How the trace's events
//! become slices:
//!
//! - a **poll** runs from its `poll` event to the first event of another step (or the
//!   executor's clock advance, told from a `time::advance` inside the poll by what
//!   follows the fired timers: the runtime's wakes);
//! - after a poll that did not finish the task, the task **waits** (on what the poll
//!   registered: the resources of its `wait` events, `sleep until ..`, else `waiting`)
//!   until a wake names it, or is **runnable** (it yielded, was preempted, or was woken
//!   during the poll) until it is polled again;
//! - a **message** arrow pairs a `send`/`put` with the `recv`/`get` that took it, for
//!   the kinds whose order is known (`mpsc`, `oneshot`, `queue` first in first out,
//!   `lifo-queue` last in first out). The trace records no message identity, so the
//!   pairing is derived and checked against the queue lengths the events carry: a
//!   resource whose lengths disagree gets no more arrows;
//! - a **context switch** is a poll of another task than the poll before: exactly the
//!   changes of task in the run's schedule (its decisions at scheduling points that
//!   went on with the same task are not switches, and one that switched is followed
//!   by the chosen task's poll).
//!
//! This module reads a trace; it never records or changes one.

use std::collections::VecDeque;

use super::{Event, EventKind, ResourceOp, TaskInfo, Trace, fmt_time};
use crate::ids::TaskId;

/// The group of lanes of a run without simulated hosts. [`group_of`] is the one place
/// that decides a lane's group.
pub(crate) const DEFAULT_GROUP: &str = "tasks";

/// The group a task's lane belongs to (an exporter's process, a block of lanes): its
/// simulated host (`host NAME`) in a run with `sim::net` hosts, else [`DEFAULT_GROUP`].
pub(crate) fn group_of(trace: &Trace, task: &TaskInfo) -> String {
    match trace.host_of(task.id) {
        Some(name) => format!("host {name}"),
        None => DEFAULT_GROUP.to_string(),
    }
}

/// A row of the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lane {
    /// The task, or `None` for the runtime (the clock, teardown).
    pub(crate) task: Option<TaskId>,
    /// `name#id`, or `runtime`.
    pub(crate) label: String,
    /// See [`group_of`].
    pub(crate) group: String,
}

/// What a slice shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SliceKind {
    /// The task was polled (step `.0`).
    Poll(u64),
    /// The task waited for something.
    Wait,
    /// The task could run and waited for the scheduler.
    Runnable,
    /// The executor moved the clock and fired timers (the runtime's lane).
    Advance,
}

/// A span of one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slice {
    /// Index into [`Timeline::lanes`].
    pub(crate) lane: usize,
    /// The first event it covers.
    pub(crate) start: usize,
    /// The first event after it (`start <= end`).
    pub(crate) end: usize,
    /// It starts right after event `start - 1` rather than at event `start`: a wait or
    /// runnable span that follows a poll, which may be the last event of an earlier
    /// virtual instant than event `start`.
    pub(crate) starts_after: bool,
    /// It ends right after event `end - 1` rather than at event `end`: a poll.
    pub(crate) ends_after: bool,
    /// What it shows.
    pub(crate) kind: SliceKind,
    /// A wait's target (`mutex#r0`, `sleep until 0.001000s`); empty otherwise.
    pub(crate) label: String,
    /// Still going on when the modelled events end (a blocked task's wait).
    pub(crate) open: bool,
}

impl Slice {
    /// A poll-kind slice of `lane` between two boundaries (event, right after it?).
    fn new(lane: usize, start: (usize, bool), end: (usize, bool)) -> Slice {
        Slice {
            lane,
            start: start.0,
            end: end.0,
            starts_after: start.1,
            ends_after: end.1,
            kind: SliceKind::Poll(0),
            label: String::new(),
            open: false,
        }
    }

    fn kind(self, kind: SliceKind) -> Slice {
        Slice { kind, ..self }
    }

    fn label(self, label: String) -> Slice {
        Slice { label, ..self }
    }
}

/// What an arrow stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlowKind {
    /// A wake, to the poll it led to.
    Wake,
    /// A spawn, to the child's first poll.
    Spawn,
    /// A message sent, to where it was received.
    Message,
}

impl FlowKind {
    /// The word exporters use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FlowKind::Wake => "wake",
            FlowKind::Spawn => "spawn",
            FlowKind::Message => "message",
        }
    }
}

/// An arrow from one event to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flow {
    /// What it stands for.
    pub(crate) kind: FlowKind,
    /// The lane and event it starts at.
    pub(crate) from: (usize, usize),
    /// The lane and event it ends at (a later event).
    pub(crate) to: (usize, usize),
}

/// A poll of another task than the poll before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Switch {
    /// The `poll` event.
    pub(crate) at: usize,
    /// The task polled before.
    pub(crate) from: TaskId,
    /// The task polled now.
    pub(crate) to: TaskId,
}

/// Where the modelled run stops, and what its failure says about the tasks left
/// waiting.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ending {
    /// Events before the stop; the rest of the trace is the run's teardown.
    pub(crate) events: usize,
    /// What blocked tasks wait on, as the failure names it; replaces the label of the
    /// task's last wait.
    pub(crate) waits: Vec<(TaskId, String)>,
}

/// The picture's model of one run. See the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    /// Every event of the trace, teardown included.
    pub(crate) events: Vec<Event>,
    /// The modelled events are `events[..end]` (the rest is teardown).
    pub(crate) end: usize,
    /// Tasks in id order, then the runtime.
    pub(crate) lanes: Vec<Lane>,
    /// Whether any event is the runtime's (else its lane stays empty).
    pub(crate) runtime_used: bool,
    /// Ordered by start, then lane.
    pub(crate) slices: Vec<Slice>,
    /// Ordered by start.
    pub(crate) flows: Vec<Flow>,
    /// In order.
    pub(crate) switches: Vec<Switch>,
}

/// What one task is doing between its events.
#[derive(Default)]
struct TaskState {
    /// An open wait: where it started (and whether right after the event before) and
    /// its label.
    wait: Option<(usize, bool, String)>,
    /// An open runnable span: where it started (and whether right after the event
    /// before).
    runnable: Option<(usize, bool)>,
    /// The arrow that will end at the task's next poll.
    flow_in: Option<(FlowKind, usize, usize)>,
    /// What the current poll registered to wait on.
    labels: Vec<String>,
    /// The current poll left the task runnable (woken, yielded, preempted).
    runnable_after_poll: bool,
    /// It returned, panicked or was cancelled.
    ended: bool,
}

/// How messages of one resource are taken out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Fifo,
    Lifo,
    Unknown,
}

/// The messages in flight on one resource.
struct Channel {
    order: Order,
    /// Where each message still in the resource was sent (lane, event).
    pending: VecDeque<(usize, usize)>,
}

impl Channel {
    fn new(kind: &str) -> Self {
        Channel {
            order: match kind {
                "mpsc" | "oneshot" | "queue" => Order::Fifo,
                "lifo-queue" => Order::Lifo,
                _ => Order::Unknown,
            },
            pending: VecDeque::new(),
        }
    }

    /// A message entered; `len` is the length the event says it has now.
    fn sent(&mut self, from: (usize, usize), len: u64) {
        if self.order == Order::Unknown {
            return;
        }
        self.pending.push_back(from);
        self.check(len);
    }

    /// A message left; returns where it was sent, if the pairing is known.
    fn received(&mut self, len: u64) -> Option<(usize, usize)> {
        let from = match self.order {
            Order::Fifo => self.pending.pop_front(),
            Order::Lifo => self.pending.pop_back(),
            Order::Unknown => return None,
        };
        self.check(len);
        if self.order == Order::Unknown {
            return None;
        }
        if from.is_none() {
            self.order = Order::Unknown;
        }
        from
    }

    /// `dropped` messages were thrown away (a queue shut down at once).
    fn dropped(&mut self, dropped: u64) {
        if dropped == 0 || self.order == Order::Unknown {
            return;
        }
        if dropped == self.pending.len() as u64 {
            self.pending.clear();
        } else {
            self.order = Order::Unknown;
        }
    }

    /// The pairing holds only while our count agrees with the trace's.
    fn check(&mut self, len: u64) {
        if len != self.pending.len() as u64 {
            self.order = Order::Unknown;
            self.pending.clear();
        }
    }
}

impl Timeline {
    /// The model of `trace`, up to `ending` (default: every event).
    pub(crate) fn new(trace: &Trace, ending: Option<&Ending>) -> Timeline {
        let events: Vec<Event> = trace.events().collect();
        let end = ending.map_or(events.len(), |e| e.events.min(events.len()));
        let mut lanes: Vec<Lane> = trace
            .tasks()
            .iter()
            .map(|t| Lane {
                task: Some(t.id),
                label: t.label(),
                group: group_of(trace, t),
            })
            .collect();
        // The runtime's lane goes with the main future's (its host's process).
        let group = lanes
            .first()
            .map_or_else(|| DEFAULT_GROUP.to_string(), |l| l.group.clone());
        lanes.push(Lane {
            task: None,
            label: "runtime".to_string(),
            group,
        });
        let mut b = Build {
            trace,
            events: &events,
            end,
            runtime: lanes.len() - 1,
            tasks: (0..lanes.len() - 1).map(|_| TaskState::default()).collect(),
            channels: trace
                .resources()
                .iter()
                .map(|r| Channel::new(r.kind))
                .collect(),
            current: None,
            last_polled: None,
            advance: None,
            jump_until: 0,
            runtime_used: false,
            slices: Vec::new(),
            flows: Vec::new(),
            switches: Vec::new(),
        };
        for i in 0..end {
            b.event(i);
        }
        b.finish(ending.map_or(&[], |e| e.waits.as_slice()));
        let Build {
            mut slices,
            mut flows,
            switches,
            runtime_used,
            ..
        } = b;
        slices.sort_by_key(|s| (s.start, s.lane));
        flows.sort_by_key(|f| (f.from.1, f.to.1));
        Timeline {
            events,
            end,
            lanes,
            runtime_used,
            slices,
            flows,
            switches,
        }
    }

    /// The lane of an event's actor.
    pub(crate) fn lane_of(&self, task: Option<TaskId>) -> usize {
        match task {
            Some(t) if t.index() < self.lanes.len() - 1 => t.index(),
            _ => self.lanes.len() - 1,
        }
    }

    /// The lanes an exporter shows: every task's, and the runtime's if it did anything.
    pub(crate) fn shown_lanes(&self) -> impl Iterator<Item = (usize, &Lane)> {
        let runtime = self.lanes.len() - 1;
        self.lanes
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != runtime || self.runtime_used)
    }
}

/// The state of one pass over the events.
struct Build<'a> {
    trace: &'a Trace,
    events: &'a [Event],
    end: usize,
    runtime: usize,
    tasks: Vec<TaskState>,
    // Indexed by resource id.
    channels: Vec<Channel>,
    /// The poll in progress: task, first event, step.
    current: Option<(TaskId, usize, u64)>,
    last_polled: Option<TaskId>,
    /// An open clock advance of the executor: its first event.
    advance: Option<usize>,
    /// Timers fired up to here belong to a `time::advance` inside the current poll.
    jump_until: usize,
    runtime_used: bool,
    slices: Vec<Slice>,
    flows: Vec<Flow>,
    switches: Vec<Switch>,
}

impl Build<'_> {
    fn lane(&self, task: Option<TaskId>) -> usize {
        match task {
            Some(t) if t.index() < self.runtime => t.index(),
            _ => self.runtime,
        }
    }

    fn event(&mut self, i: usize) {
        let events = self.events;
        let e = &events[i];
        if let Some((t, start, step)) = self.current {
            if e.step != step || (e.kind == EventKind::TimerFired && self.executor_advance(i)) {
                self.end_poll(t, start, i);
            }
        }
        self.runtime_used |= e.task.is_none();
        let lane = self.lane(e.task);
        match &e.kind {
            EventKind::Poll => {
                let Some(t) = e.task else { return };
                if let Some(start) = self.advance.take() {
                    let slice = Slice::new(self.runtime, (start, false), (i, false));
                    self.slices.push(slice.kind(SliceKind::Advance));
                }
                self.close(t, i, false);
                let st = &mut self.tasks[t.index()];
                if let Some((kind, from_lane, from)) = st.flow_in.take() {
                    self.flows.push(Flow {
                        kind,
                        from: (from_lane, from),
                        to: (lane, i),
                    });
                }
                st.labels.clear();
                st.runnable_after_poll = false;
                if let Some(from) = self.last_polled.filter(|&l| l != t) {
                    self.switches.push(Switch { at: i, from, to: t });
                }
                self.last_polled = Some(t);
                self.current = Some((t, i, e.step));
            }
            EventKind::Spawn { child } => {
                if let Some(st) = self.tasks.get_mut(child.index()) {
                    st.flow_in.get_or_insert((FlowKind::Spawn, lane, i));
                }
            }
            EventKind::Wake { target } => {
                let target = *target;
                if target.index() >= self.tasks.len() {
                    return;
                }
                let polled = self.current.map(|c| c.0) == Some(target);
                if let Some((start, after, label)) = self.tasks[target.index()].wait.take() {
                    let slice = Slice::new(target.index(), (start, after), (i, false));
                    self.slices.push(slice.kind(SliceKind::Wait).label(label));
                }
                let st = &mut self.tasks[target.index()];
                if polled {
                    st.runnable_after_poll = true;
                } else if !st.ended {
                    st.runnable.get_or_insert((i, false));
                }
                st.flow_in.get_or_insert((FlowKind::Wake, lane, i));
            }
            EventKind::Sleep { deadline } => {
                let label = format!("sleep until {}", fmt_time(*deadline));
                if let Some(st) = self.polled_state(e.task) {
                    st.labels.push(label);
                }
            }
            EventKind::TimerFired => {
                if self.current.is_none() && self.advance.is_none() {
                    self.advance = Some(i);
                }
            }
            EventKind::Yield | EventKind::Preempt => {
                if let Some(st) = self.polled_state(e.task) {
                    st.runnable_after_poll = true;
                }
            }
            EventKind::Exit | EventKind::Panicked | EventKind::Cancelled | EventKind::Dropped => {
                if let Some(t) = e.task.filter(|t| t.index() < self.tasks.len()) {
                    self.tasks[t.index()].ended = true;
                    self.close(t, i, false);
                }
            }
            EventKind::Abort { .. } => {}
            EventKind::Resource {
                resource,
                op,
                value,
            } => {
                let r = resource.0 as usize;
                match op {
                    ResourceOp::Wait => {
                        let label = self.trace.resource_label(*resource);
                        if let Some(st) = self.polled_state(e.task) {
                            st.labels.push(label);
                        }
                    }
                    ResourceOp::Send | ResourceOp::Put => {
                        if let Some(ch) = self.channels.get_mut(r) {
                            ch.sent((lane, i), *value);
                        }
                    }
                    ResourceOp::Recv | ResourceOp::Get => {
                        if let Some(from) =
                            self.channels.get_mut(r).and_then(|c| c.received(*value))
                        {
                            self.flows.push(Flow {
                                kind: FlowKind::Message,
                                from,
                                to: (lane, i),
                            });
                        }
                    }
                    ResourceOp::Close => {
                        if let Some(ch) = self.channels.get_mut(r) {
                            ch.dropped(*value);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The state of `task` if it is the one being polled (what it registers during a
    /// poll describes what it waits on after it).
    fn polled_state(&mut self, task: Option<TaskId>) -> Option<&mut TaskState> {
        let t = task?;
        if self.current.map(|c| c.0) != Some(t) {
            return None;
        }
        self.tasks.get_mut(t.index())
    }

    /// Whether the timer fired at `i`, inside a step, is the executor's clock advance
    /// (the poll is over) rather than a `time::advance` inside the poll: the executor
    /// wakes the timers' tasks as the runtime, a poll's own advance wakes them as the
    /// polled task.
    fn executor_advance(&mut self, i: usize) -> bool {
        if i < self.jump_until {
            return false;
        }
        let step = self.events[i].step;
        let mut j = i;
        while j < self.end && self.events[j].kind == EventKind::TimerFired {
            j += 1;
        }
        let executor = match self.events.get(j).filter(|_| j < self.end) {
            None => true,
            Some(next) => {
                next.step != step
                    || matches!(next.kind, EventKind::Wake { .. }) && next.task.is_none()
            }
        };
        if !executor {
            self.jump_until = j;
        }
        executor
    }

    /// The poll of `t` that started at `start` ended with event `at - 1`.
    fn end_poll(&mut self, t: TaskId, start: usize, at: usize) {
        self.current = None;
        let step = self.events[start].step;
        let slice = Slice::new(t.index(), (start, false), (at, true));
        self.slices.push(slice.kind(SliceKind::Poll(step)));
        let st = &mut self.tasks[t.index()];
        if st.ended {
            return;
        }
        if st.runnable_after_poll {
            st.runnable.get_or_insert((at, true));
        } else {
            let label = if st.labels.is_empty() {
                "waiting".to_string()
            } else {
                st.labels.join(" | ")
            };
            st.wait = Some((at, true, label));
        }
    }

    /// Closes `t`'s open wait and runnable span at event `at` (`open`: they go on).
    fn close(&mut self, t: TaskId, at: usize, open: bool) {
        let Some(st) = self.tasks.get_mut(t.index()) else {
            return;
        };
        let (wait, runnable) = (st.wait.take(), st.runnable.take());
        let lane = t.index();
        if let Some((start, after, label)) = wait {
            let slice = Slice::new(lane, (start, after), (at, false)).kind(SliceKind::Wait);
            self.slices.push(Slice {
                open,
                ..slice.label(label)
            });
        }
        if let Some((start, after)) = runnable {
            let slice = Slice::new(lane, (start, after), (at, false)).kind(SliceKind::Runnable);
            self.slices.push(Slice { open, ..slice });
        }
    }

    /// Closes everything still open where the modelled events end; a blocked task's
    /// wait takes the failure's words for what it waits on.
    fn finish(&mut self, waits: &[(TaskId, String)]) {
        let end = self.end;
        if let Some((t, start, _)) = self.current {
            self.end_poll(t, start, end);
        }
        if let Some(start) = self.advance.take() {
            let slice = Slice::new(self.runtime, (start, false), (end, true));
            self.slices.push(slice.kind(SliceKind::Advance));
        }
        for (t, label) in waits {
            if let Some((_, _, l)) = self.tasks.get_mut(t.index()).and_then(|s| s.wait.as_mut()) {
                l.clone_from(label);
            }
        }
        for t in 0..self.tasks.len() {
            self.close(TaskId(t as u32), end, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline<F: std::future::Future>(seed: u64, f: F) -> (Trace, Timeline) {
        let mut rt = crate::Builder::new().seed(seed).build();
        let _ = rt.block_on(f);
        let trace = rt.trace().clone();
        let t = Timeline::new(&trace, None);
        (trace, t)
    }

    #[test]
    fn a_sleep_is_a_wait_ended_by_the_runtimes_wake() {
        let (_, t) = timeline(1, async {
            sim_sleep(5).await;
        });
        let wait = t
            .slices
            .iter()
            .find(|s| s.kind == SliceKind::Wait)
            .expect("a wait");
        assert_eq!(wait.label, "sleep until 0.005000s");
        assert!(!wait.open);
        let advance = t
            .slices
            .iter()
            .find(|s| s.kind == SliceKind::Advance)
            .expect("the clock advance");
        assert_eq!(advance.lane, t.lanes.len() - 1);
        assert!(t.runtime_used);
        let wake = t.flows.iter().find(|f| f.kind == FlowKind::Wake).unwrap();
        assert_eq!(wake.from.0, t.lanes.len() - 1, "woken by the runtime");
        assert_eq!(wake.to.0, 0);
        assert_eq!(t.events[wake.to.1].kind, EventKind::Poll);
    }

    async fn sim_sleep(ms: u64) {
        crate::time::sleep(std::time::Duration::from_millis(ms)).await;
    }

    #[test]
    fn messages_pair_in_fifo_order_and_every_switch_is_a_change_of_task() {
        for seed in 0..20 {
            let mut rt = crate::Builder::new().seed(seed).build();
            rt.block_on(async {
                let (tx, mut rx) = crate::sync::mpsc::channel::<u32>(2);
                let producers: Vec<_> = (0..2)
                    .map(|p| {
                        let tx = tx.clone();
                        crate::spawn(async move {
                            for k in 0..3 {
                                tx.send(p * 10 + k).await.unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let mut got = 0;
                while rx.recv().await.is_some() {
                    got += 1;
                }
                assert_eq!(got, 6);
                for p in producers {
                    p.await.unwrap();
                }
            })
            .unwrap();
            let t = Timeline::new(rt.trace(), None);
            let messages: Vec<_> = t
                .flows
                .iter()
                .filter(|f| f.kind == FlowKind::Message)
                .collect();
            assert_eq!(messages.len(), 6, "seed {seed}");
            for f in &messages {
                assert!(f.from.1 < f.to.1);
                assert!(matches!(
                    t.events[f.from.1].kind,
                    EventKind::Resource {
                        op: ResourceOp::Send,
                        ..
                    }
                ));
                assert_eq!(f.to.0, 0, "main receives");
            }
            assert_eq!(
                t.switches.len(),
                rt.schedule().context_switches(),
                "seed {seed}"
            );
            // Slices of one lane never overlap.
            for lane in 0..t.lanes.len() {
                let mut spans: Vec<_> = t.slices.iter().filter(|s| s.lane == lane).collect();
                spans.sort_by_key(|s| (s.start, s.end));
                for w in spans.windows(2) {
                    assert!(w[0].end <= w[1].start, "seed {seed}: {:?} {:?}", w[0], w[1]);
                }
            }
        }
    }

    #[test]
    fn an_unknown_order_or_a_disagreeing_length_gives_no_arrows() {
        let mut ch = Channel::new("priority-queue");
        ch.sent((0, 1), 1);
        assert_eq!(ch.received(0), None);
        let mut ch = Channel::new("mpsc");
        ch.sent((0, 1), 1);
        ch.sent((0, 2), 5); // a send the trace did not show: stop pairing
        assert_eq!(ch.received(1), None);
        let mut ch = Channel::new("lifo-queue");
        ch.sent((0, 1), 1);
        ch.sent((0, 2), 2);
        assert_eq!(ch.received(1), Some((0, 2)));
        assert_eq!(ch.received(0), Some((0, 1)));
        assert_eq!(ch.received(0), None, "nothing left: stop pairing");
        assert_eq!(ch.order, Order::Unknown);
    }
}
