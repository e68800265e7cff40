//! `Core`: the state of one run, as parts that each own their invariants (the
//! [task table](super::task_table), the [decider](super::decider) with the ready set
//! and the scheduler, the [clock and timers](super::timers), the
//! [detectors](crate::detect), the trace recorder), and the few operations that span
//! them. The executor drives it; tasks, timers and primitives reach it only through
//! their [facets](super::facets).

use std::any::Any;
use std::collections::BTreeSet;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use super::decider::{AtPoint, Decider};
use super::extension::Extensions;
use super::hosts::{HostIndex, Hosts};
use super::raw::BoxTask;
use super::task_table::{Joined, Leftovers, Outcome, TaskTable};
use super::timers::{TimerKey, Timers};
use super::waker;
use super::wakeup::{RunSync, Woken};
use super::{Config, Stop};
use crate::detect::Detectors;
use crate::detect::waits::{BlockedWaits, Target};
use crate::ids::{ResourceId, TaskId};
use crate::rng::{DetRng, SharedBytes, Stream};
use crate::sched::{self, Divergence, Schedule};
use crate::trace::{EventKind, Recorder, ResourceInfo, ResourceOp, TaskInfo};

/// What the executor does next.
pub(crate) enum Next {
    Poll(Turn),
    /// The clock advanced; wake the wakers left in the executor's buffer (outside the
    /// core borrow).
    Fire,
}

/// A task's turn to run: everything polling it needs, taken in one core borrow.
pub(crate) struct Turn {
    pub(crate) id: TaskId,
    /// The task's future (`None` for main, whose future the executor holds).
    pub(crate) future: Option<BoxTask>,
    /// Cancel it instead of polling it.
    pub(crate) abort: bool,
    /// The task's waker. Never dropped: a task waker owns nothing (see `waker`), so
    /// this skips a call through its vtable per step.
    pub(crate) waker: std::mem::ManuallyDrop<Waker>,
    pub(crate) span: Option<tracing::Span>,
}

/// What a JoinHandle poll found.
pub(crate) enum JoinPoll {
    /// Not finished; `replaced` is the joiner's previous waker, to drop outside the
    /// borrow (a waker's drop may run arbitrary code).
    Pending {
        replaced: Option<Waker>,
    },
    /// The scheduling point before the join: the joiner yields first (and `wake`s its
    /// waker after the borrow if it was not queued directly).
    Yield {
        wake: bool,
    },
    /// The finished cell: take the output from it outside the borrow.
    Output(BoxTask),
    Cancelled,
    Panicked(Box<dyn Any + Send>),
}

/// What a finished run leaves for its report.
pub(super) struct Finished {
    pub(super) trace: (Vec<Vec<u8>>, usize),
    pub(super) tasks: Vec<TaskInfo>,
    pub(super) resources: Vec<ResourceInfo>,
    pub(super) schedule: Schedule,
    /// Panics of destructors run while futures were dropped: (task, message, location).
    pub(super) drop_panics: Vec<(TaskId, String, Option<String>)>,
    /// Under `Strategy::Bytes`, the input that replays the run decision for decision.
    pub(super) replay_input: Option<Vec<u8>>,
    /// Under `Strategy::Bytes`, what the first bytes of the input decided.
    pub(super) input_choices: Vec<crate::rng::Choice>,
    /// The host of each task, by task index; empty for a run without hosts.
    pub(super) task_hosts: Vec<HostIndex>,
}

pub(crate) struct Core {
    pub(super) config: Config,
    pub(super) sync: Arc<RunSync>,
    /// Steps (polls) taken so far.
    pub(super) step: u64,
    /// The task being polled, if any.
    pub(super) current: Option<TaskId>,
    /// The task polled at the last step; `None` after a clock advance. Wakes drained
    /// at the next step are attributed to it.
    last_actor: Option<TaskId>,
    tasks: TaskTable,
    decider: Decider,
    timers: Timers,
    detectors: Detectors,
    /// A failure found during a poll (a race, a divergence at a scheduling point),
    /// reported at the next step.
    pending: Option<Stop>,
    trace: Recorder,
    /// Invariant: indexed by ResourceId; resources are never removed during a run.
    resources: Vec<ResourceInfo>,
    user_rng: DetRng,
    /// The run's queue of woken tasks (shared with the wakers, see `wakeup`).
    woken: Woken,
    /// The drained queue's buffer, kept to swap with `woken` without allocating.
    spare: Vec<TaskId>,
    /// Panics of destructors run while futures were dropped: (task, message, location).
    drop_panics: Vec<(TaskId, String, Option<String>)>,
    /// The input of a `Strategy::Bytes` run, shared with its scheduler and user
    /// generator.
    bytes: Option<SharedBytes>,
    /// The host of each task and the paused hosts; `None` until a run declares a host
    /// (`sim::net`), so runs without hosts pay nothing.
    hosts: Option<Box<Hosts>>,
    /// State kept in the run by modules outside the engine (the network).
    extensions: Extensions,
}

impl Core {
    /// A generator on `stream` of this run (see [`rng_of`]).
    pub(crate) fn rng(&self, stream: Stream) -> DetRng {
        rng_of(self.bytes.as_ref(), self.config.effective_seed(), stream)
    }

    pub(crate) fn new(config: Config, sync: Arc<RunSync>, woken: Woken) -> Self {
        let seed = config.effective_seed();
        let built = sched::build(
            &config.strategy,
            seed,
            config.pct_steps.unwrap_or(super::DEFAULT_PCT_STEPS),
            config.driver.as_ref(),
        );
        let bytes = built.bytes.clone();
        let user_rng = rng_of(bytes.as_ref(), seed, Stream::User);
        Core {
            sync,
            step: 0,
            current: None,
            last_actor: None,
            tasks: TaskTable::default(),
            decider: Decider::new(built, seed),
            timers: Timers::default(),
            detectors: Detectors::default(),
            pending: None,
            trace: Recorder::default(),
            resources: Vec::new(),
            user_rng,
            woken,
            spare: Vec::new(),
            drop_panics: Vec::new(),
            bytes,
            hosts: None,
            extensions: Extensions::default(),
            config,
        }
    }

    #[inline]
    fn record(&mut self, task: Option<TaskId>, kind: EventKind) {
        self.trace.record(self.step, self.timers.now(), task, kind);
    }

    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.sync.run_id
    }

    /// The virtual time since the start of the run.
    pub(crate) fn now(&self) -> Duration {
        self.timers.now()
    }

    /// The generator user code draws from.
    pub(crate) fn user_rng(&mut self) -> &mut DetRng {
        &mut self.user_rng
    }

    /// Events recorded so far.
    pub(super) fn events(&self) -> usize {
        self.trace.len()
    }

    // --- resources (the `Resources` facet) -------------------------------------------

    /// Registers a synchronisation resource for traces and reports; an `owned` one
    /// (a lock, a semaphore) has holders the deadlock detector tracks, even while free.
    pub(crate) fn register_resource(
        &mut self,
        kind: &'static str,
        name: Option<Arc<str>>,
        created_at: &'static Location<'static>,
        owned: bool,
    ) -> ResourceId {
        let id = ResourceId(
            u32::try_from(self.resources.len()).expect("more than 2^32 resources in one run"),
        );
        self.resources.push(ResourceInfo {
            id,
            kind,
            name,
            created_at,
        });
        if owned {
            self.detectors.track(id);
        }
        id
    }

    /// Records an operation of the current task on a resource (and its happens-before
    /// edge, when race detection is on).
    #[inline]
    pub(crate) fn resource_event(&mut self, resource: ResourceId, op: ResourceOp, value: u64) {
        self.record(
            self.current,
            EventKind::Resource {
                resource,
                op,
                value,
            },
        );
        self.detectors.resource_op(self.current, resource, op);
    }

    /// A new race-checked cell (turns race detection on for the run).
    pub(crate) fn new_race_cell(&mut self, resource: ResourceId) -> usize {
        self.detectors.new_race_cell(resource)
    }

    /// An access to a race-checked cell by the current task; a race stops the run at
    /// the next step.
    pub(crate) fn race_access(
        &mut self,
        cell: usize,
        write: bool,
        location: &'static Location<'static>,
    ) {
        let Some(task) = self.current else { return };
        let (step, now) = (self.step, self.now());
        if let Some((resource, first, second)) = self
            .detectors
            .race_access(cell, task, write, location, step, now)
        {
            self.pending.get_or_insert(Stop::Race {
                resource,
                first,
                second,
            });
        }
    }

    /// The current task starts waiting on `target`: records `wait` (for a resource)
    /// and feeds the wait-for graph.
    #[inline]
    fn begin_wait(&mut self, target: Target) {
        let Some(task) = self.current else { return };
        if let Target::Resource(r) = target {
            self.resource_event(r, ResourceOp::Wait, 0);
        }
        self.detectors.begin_wait(task, target);
    }

    /// The current task starts waiting on `resource`.
    #[inline]
    pub(crate) fn begin_wait_on(&mut self, resource: ResourceId) {
        self.begin_wait(Target::Resource(resource));
    }

    /// The current task stopped waiting on `resource`: served, or (`cancelled`) its
    /// waiting future was dropped. A future is dropped by the task that polled it,
    /// except at the end of a run (no current task), when only the event is recorded.
    #[inline]
    pub(crate) fn end_wait_on(&mut self, resource: ResourceId, cancelled: bool) {
        if cancelled {
            self.resource_event(resource, ResourceOp::WaitCancelled, 0);
        }
        if let Some(task) = self.current {
            self.detectors.end_wait(task, Target::Resource(resource));
        }
    }

    /// `task` now holds `resource` (once more).
    #[inline]
    pub(crate) fn hold(&mut self, resource: ResourceId, task: TaskId) {
        self.detectors.hold(resource, task);
    }

    /// `task` released one hold of `resource`.
    #[inline]
    pub(crate) fn release(&mut self, resource: ResourceId, task: TaskId) {
        self.detectors.release(resource, task);
    }

    // --- timers (the `Clock` facet) --------------------------------------------------

    /// Registers a timer of the current task.
    pub(crate) fn add_timer(&mut self, deadline: Duration, waker: Waker) -> TimerKey {
        self.record(self.current, EventKind::Sleep { deadline });
        self.timers.register(deadline, waker, self.current)
    }

    /// Cancels a timer (a stale key is a no-op); returns the waker to drop outside.
    pub(crate) fn cancel_timer(&mut self, key: TimerKey) -> Option<Waker> {
        self.timers.cancel(key)
    }

    /// Refreshes an armed timer's waker; `false` if the key is stale.
    pub(crate) fn set_timer_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        self.timers.set_waker(key, waker)
    }

    /// Moves the clock forward to `to` in the middle of the current task's poll, while
    /// other tasks may be runnable (`sim::time::advance`): every timer due by then
    /// fires, deadline by deadline, each recorded at its own deadline. The fired
    /// wakers of this run's tasks are queued here; the others are left in `fired` to
    /// wake after the borrow. A jump past `max_time` fires nothing and stops the run
    /// with [`Stop::TimeLimit`] at the next step.
    pub(crate) fn jump_to(&mut self, to: Duration, fired: &mut Vec<Waker>) {
        if to > self.config.max_time {
            self.pending
                .get_or_insert(Stop::TimeLimit { next_timer: to });
            return;
        }
        let (trace, step) = (&mut self.trace, self.step);
        while let Some(t) = self.timers.next_deadline().filter(|&t| t <= to) {
            self.timers.advance_to(t, |owner, waker| {
                trace.record(step, t, owner, EventKind::TimerFired);
                fired.push(waker);
            });
        }
        self.timers.advance_to(to.max(self.timers.now()), |_, _| {});
        if self.wake_own(fired.iter()) {
            fired.clear();
        }
    }

    // --- tasks (the `Tasks` facet) ---------------------------------------------------

    /// Adds a task (the main future has `future == None`) and makes it runnable.
    pub(crate) fn spawn(
        &mut self,
        future: Option<BoxTask>,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskId {
        self.spawn_on(future, name, location, None)
    }

    /// [`spawn`](Self::spawn) on `host` (`None`: the spawning task's host).
    pub(crate) fn spawn_on(
        &mut self,
        future: Option<BoxTask>,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
        host: Option<HostIndex>,
    ) -> TaskId {
        let id = self.tasks.add(future, name, location);
        if let Some(hosts) = &mut self.hosts {
            hosts.spawned(self.current, id, host);
        }
        if id != TaskId::MAIN {
            self.record(self.current, EventKind::Spawn { child: id });
        }
        self.detectors.spawned(self.current, id);
        self.decider.spawned(id);
        self.make_ready(id);
        id
    }

    /// Whether task `id` has finished.
    pub(crate) fn is_finished(&self, id: TaskId) -> bool {
        !self.tasks.is_live(id)
    }

    /// The name of task `id`, if it has one.
    pub(crate) fn task_name(&self, id: TaskId) -> Option<&Arc<str>> {
        self.tasks.name(id)
    }

    /// Enters (`true`) or leaves a blocking section of the current task, in which its
    /// scheduling points make no decision; returns whether it was in one.
    pub(crate) fn set_blocking(&mut self, on: bool) -> bool {
        self.decider.set_blocking(on)
    }

    /// Whether the current task is inside a blocking section.
    pub(crate) fn is_blocking(&self) -> bool {
        self.current.is_some() && self.decider.is_blocking()
    }

    /// The earliest pending timer's deadline.
    pub(crate) fn next_timer(&mut self) -> Option<Duration> {
        self.timers.next_deadline()
    }

    /// Whether the task being polled has budget left (see `Decider`).
    pub(crate) fn has_budget_remaining(&self) -> bool {
        self.decider.has_budget_remaining()
    }

    /// The current task yields: recorded, and a hint to the scheduler.
    pub(crate) fn yield_current(&mut self) {
        self.record(self.current, EventKind::Yield);
        if let Some(id) = self.current {
            self.decider.yielded(id);
        }
    }

    /// One poll of task `id`'s JoinHandle by the current task.
    pub(crate) fn poll_join(&mut self, id: TaskId, waker: &Waker) -> JoinPoll {
        // The scheduling point comes before a join that completes at once (a join that
        // waits is a switch anyway).
        if self.tasks.join_point_due(id) {
            match self.point_waking(waker, false) {
                (false, _) => {}
                (true, wake) => return JoinPoll::Yield { wake },
            }
        }
        match self.tasks.join(id, waker) {
            Joined::Pending { replaced } => {
                self.begin_wait(Target::Task(id));
                JoinPoll::Pending { replaced }
            }
            Joined::Output(cell) => {
                self.detectors.joined(self.current, id);
                JoinPoll::Output(cell)
            }
            Joined::Cancelled => JoinPoll::Cancelled,
            Joined::Panicked(payload) => JoinPoll::Panicked(payload),
        }
    }

    /// A JoinHandle was dropped: the task runs on detached; returns its finished cell.
    pub(crate) fn detach(&mut self, id: TaskId) -> Option<BoxTask> {
        self.tasks.detach(id)
    }

    /// Requests cancellation: the task is dropped when next scheduled.
    pub(crate) fn abort(&mut self, id: TaskId) {
        if self.tasks.request_abort(id) {
            self.record(self.current, EventKind::Abort { target: id });
            self.make_ready(id);
        }
    }

    // --- scheduling ------------------------------------------------------------------

    #[inline(always)]
    fn make_ready(&mut self, id: TaskId) -> bool {
        self.tasks.is_live(id)
            && self.current != Some(id)
            && !self
                .hosts
                .as_mut()
                .is_some_and(|h| h.set_aside_if_paused(id))
            && self.decider.make_ready(id)
    }

    /// Queues the tasks of `wakers` for the executor if every one is a task waker of
    /// this run: the same queue order as waking them one by one after the borrow, in
    /// one step and without their vtable. Returns whether it did (else the caller
    /// wakes them after the borrow).
    pub(crate) fn wake_own<'w>(&self, wakers: impl Iterator<Item = &'w Waker> + Clone) -> bool {
        let run = self.sync.run_id;
        if !wakers.clone().all(|w| waker::own_task(w, run).is_some()) {
            return false;
        }
        let mut woken = self.woken.borrow_mut();
        woken.extend(wakers.filter_map(|w| waker::own_task(w, run)));
        true
    }

    #[inline]
    fn drain_wakes(&mut self) {
        if !self.woken.borrow().is_empty() {
            self.drain_woken();
        }
    }

    /// Moves the woken tasks into the ready set (recording who woke them).
    fn drain_woken(&mut self) {
        std::mem::swap(&mut *self.woken.borrow_mut(), &mut self.spare);
        let mut ids = std::mem::take(&mut self.spare);
        for &id in &ids {
            if self.make_ready(id) {
                // A task waking itself (a yield, a preemption) stays runnable: no news.
                if self.last_actor != Some(id) {
                    self.record(self.last_actor, EventKind::Wake { target: id });
                }
            } else if self.current == Some(id) {
                // The running task woke itself (at a scheduling point): it becomes
                // ready once its poll ends.
                self.woken.borrow_mut().push(id);
            }
        }
        ids.clear();
        self.spare = ids;
    }

    /// [`point`](Self::point), and when the task must yield, its wake, queued here when
    /// `waker` is its own task waker. Returns (must yield, `waker` must still be woken
    /// after the borrow).
    #[inline]
    pub(crate) fn point_waking(&mut self, waker: &Waker, user: bool) -> (bool, bool) {
        let yields = self.point(user);
        (yields, yields && !self.wake_own(std::iter::once(waker)))
    }

    /// A scheduling point of the running task, just before one of its async operations
    /// takes effect: whether the task must yield first (return `Pending`, woken) and
    /// perform the operation when polled again. It must when the scheduler chooses
    /// another task, when a failure is pending, or when the task has passed
    /// [`COOP_BUDGET`](super::decider::COOP_BUDGET) points in this poll. With no other
    /// task ready there is no decision to make: nothing is asked and nothing recorded.
    /// `user`: the user placed the point (`sim::task::scheduling_point`), rather than
    /// an operation of a primitive.
    #[inline]
    pub(crate) fn point(&mut self, user: bool) -> bool {
        let Some(running) = self.current else {
            return false;
        };
        let others_woken = !self.woken.borrow().is_empty();
        match self.decider.at_point(others_woken) {
            AtPoint::Go => false,
            AtPoint::Yield => true,
            AtPoint::BudgetSpent => {
                self.record(Some(running), EventKind::Preempt);
                true
            }
            AtPoint::Decide => self.point_decision(running, user),
        }
    }

    /// The decision at a scheduling point (the slow path of [`point`](Self::point)).
    fn point_decision(&mut self, running: TaskId, user: bool) -> bool {
        self.drain_wakes();
        match self
            .decider
            .decide_at_point(running, self.trace.len(), user)
        {
            Ok(false) => false,
            Ok(true) => {
                self.record(Some(running), EventKind::Preempt);
                true
            }
            Err(d) => {
                let stop = self.divergence(d);
                self.pending.get_or_insert(stop);
                true
            }
        }
    }

    fn divergence(&self, d: Divergence) -> Stop {
        Stop::NonDeterminism {
            reason: d.reason(self.decider.decisions() + 1, self.step + 1),
        }
    }

    /// Whether the run, having ended without a failure, diverged from the schedule it
    /// replays (decisions left over).
    pub(crate) fn replay_left_over(&self) -> Option<Stop> {
        self.decider.finished().map(|d| self.divergence(d))
    }

    // --- the run loop's steps --------------------------------------------------------

    /// Decides what happens next: poll a task, advance the clock (leaving the wakers of
    /// the timers that fired in `fired`), or stop.
    pub(crate) fn next(&mut self, fired: &mut Vec<Waker>) -> Result<Next, Stop> {
        self.drain_wakes();
        if let Some(reason) = self.sync.take_foreign() {
            return Err(Stop::NonDeterminism { reason });
        }
        if self.pending.is_some() {
            // Checked first: `take` would copy the whole (large) `Stop` every step.
            return Err(self.pending.take().expect("checked"));
        }
        if let Some(stop) = self.partial_deadlock() {
            return Err(stop);
        }
        if self.decider.nothing_ready() {
            return match self.timers.next_deadline() {
                None => Err(self.deadlock(self.tasks.live_tasks().into_iter().collect(), false)),
                Some(t) if t > self.config.max_time => Err(Stop::TimeLimit { next_timer: t }),
                Some(t) => {
                    self.advance_to(t, fired);
                    if self.wake_own(fired.iter()) {
                        fired.clear();
                    }
                    Ok(Next::Fire)
                }
            };
        }
        if self.step >= self.config.max_steps {
            return Err(Stop::StepLimit);
        }
        let id = self
            .decider
            .next(self.trace.len())
            .map_err(|d| self.divergence(d))?;
        self.step += 1;
        self.current = Some(id);
        self.last_actor = Some(id);
        self.record(Some(id), EventKind::Poll);
        Ok(Next::Poll(self.begin_poll(id)))
    }

    #[inline]
    fn advance_to(&mut self, t: Duration, fired: &mut Vec<Waker>) {
        self.last_actor = None;
        let (trace, step) = (&mut self.trace, self.step);
        self.timers.advance_to(t, |owner, waker| {
            trace.record(step, t, owner, EventKind::TimerFired);
            fired.push(waker);
        });
    }

    /// Takes a task's future out for polling, with what polling needs.
    #[inline]
    fn begin_poll(&mut self, id: TaskId) -> Turn {
        // Join waits are re-registered by every pending JoinHandle polled this time.
        self.detectors.clear_joins(id);
        let waker = waker::waker(self.sync.run_id, id);
        let (future, abort, span) = self.tasks.take_turn(id);
        Turn {
            id,
            future,
            abort,
            waker: std::mem::ManuallyDrop::new(waker),
            span,
        }
    }

    #[inline]
    pub(crate) fn end_poll(&mut self, id: TaskId, future: Option<BoxTask>) {
        let aborting = self.tasks.put_back(id, future);
        self.current = None;
        if aborting {
            self.make_ready(id); // It aborted itself: cancel it at its next turn.
        }
    }

    /// Marks a task done. The returned leftovers (the cell to drop unless a JoinHandle
    /// will take its output, the joiner to wake) are handled outside the borrow.
    #[inline]
    pub(crate) fn finish(
        &mut self,
        id: TaskId,
        outcome: Outcome,
        cell: Option<BoxTask>,
    ) -> Leftovers {
        if self.current == Some(id) {
            self.current = None;
        }
        self.record(Some(id), outcome.event());
        self.detectors.clear_task(id);
        self.tasks.finish(id, outcome, cell)
    }

    /// A task panicked and its panic goes to its JoinHandle.
    pub(crate) fn finish_panicked(
        &mut self,
        id: TaskId,
        payload: Box<dyn Any + Send>,
    ) -> Leftovers {
        self.tasks.keep_panic(id, payload);
        self.finish(id, Outcome::Panicked, None)
    }

    /// A destructor panicked while task `task`'s future (or output) was dropped: kept
    /// for the report, after the failure that ended the run if there is one.
    pub(crate) fn drop_panicked(&mut self, task: TaskId, payload: &(dyn Any + Send)) {
        let (message, location) = super::panic::take_report(payload);
        self.drop_panics.push((task, message, location));
    }

    // --- detection -------------------------------------------------------------------

    /// A partial deadlock closed by the last new wait, if any (cheap when none).
    #[inline]
    fn partial_deadlock(&mut self) -> Option<Stop> {
        if !self.config.detect_partial_deadlocks {
            self.detectors.skip_check();
            return None;
        }
        let (tasks, decider, current, timers) =
            (&self.tasks, &self.decider, self.current, &self.timers);
        let blocked = |t| tasks.is_live(t) && !decider.is_ready(t) && current != Some(t);
        let dead = self
            .detectors
            .partial_deadlock(blocked, || timers.owners())?;
        Some(self.deadlock(dead, true))
    }

    /// The deadlock report data for `tasks` (every blocked task for a global one).
    fn deadlock(&self, tasks: BTreeSet<TaskId>, partial: bool) -> Stop {
        let (blocked, cycles) = self.detectors.deadlock(tasks);
        let notes = self.wait_notes(&blocked);
        Stop::Deadlock {
            blocked,
            cycles,
            partial,
            notes,
        }
    }

    /// What the run's extensions add about the resources in `waits` (a socket's peer
    /// and link), for reports; empty in runs without extensions.
    pub(crate) fn wait_notes(&self, waits: &BlockedWaits) -> Vec<(ResourceId, String)> {
        if self.extensions.is_empty() {
            return Vec::new();
        }
        let mut resources: Vec<ResourceId> = waits
            .iter()
            .flat_map(|(_, w)| w.iter())
            .filter_map(|(t, _)| match t {
                Target::Resource(r) => Some(*r),
                Target::Task(_) => None,
            })
            .collect();
        resources.sort();
        resources.dedup();
        resources
            .into_iter()
            .filter_map(|r| Some((r, self.extensions.describe_wait(r)?)))
            .collect()
    }

    /// The live spawned tasks with what they wait on (for leak reports).
    pub(crate) fn blocked_waits(&self) -> BlockedWaits {
        let live = self.tasks.live_tasks().into_iter();
        self.detectors.waits_of(live.filter(|&t| t != TaskId::MAIN))
    }

    // --- hosts and extensions (the `Network` facet) ----------------------------------

    /// The extension of type `T`, created by `init` at its first use in the run.
    pub(crate) fn extension<T: super::extension::Extension>(
        &mut self,
        init: impl FnOnce() -> T,
    ) -> std::rc::Rc<T> {
        self.extensions.get_or_insert(init)
    }

    /// The extension of type `T`, if the run has one.
    pub(crate) fn find_extension<T: super::extension::Extension>(&self) -> Option<std::rc::Rc<T>> {
        self.extensions.get()
    }

    /// Declares host `host` (tasks spawned from now on are placed on hosts).
    pub(crate) fn declare_host(&mut self, host: HostIndex) {
        self.hosts.get_or_insert_with(Box::default).declare(host);
    }

    /// The host of the task being polled (0 outside a task or without hosts).
    pub(crate) fn current_host(&self) -> HostIndex {
        match (&self.hosts, self.current) {
            (Some(h), Some(t)) => h.of(t),
            _ => 0,
        }
    }

    /// Pauses `host`: its tasks stay out of the ready set until it resumes.
    pub(crate) fn pause_host(&mut self, host: HostIndex) {
        let hosts = self.hosts.get_or_insert_with(Box::default);
        hosts.pause(host);
        for id in hosts.tasks_of(host, self.tasks.ids()) {
            if self.decider.remove_ready(id) {
                hosts.set_aside_if_paused(id);
            }
        }
    }

    /// Resumes `host`: its tasks that became runnable meanwhile are ready again.
    pub(crate) fn resume_host(&mut self, host: HostIndex) {
        let Some(hosts) = &mut self.hosts else { return };
        for id in hosts.resume(host) {
            self.make_ready(id);
        }
    }

    /// Whether `host` is paused.
    pub(crate) fn is_host_paused(&self, host: HostIndex) -> bool {
        self.hosts.as_ref().is_some_and(|h| h.is_paused(host))
    }

    /// Cancels every live task of `host` at once (a crash): each is marked cancelled
    /// and leaves the ready set; returns their futures and joiners to drop and wake
    /// outside the borrow. The task being polled, if it is one of them, is cancelled at
    /// its next turn instead (its future is in use).
    pub(crate) fn cancel_host_tasks(&mut self, host: HostIndex) -> Vec<(TaskId, Leftovers)> {
        let Some(hosts) = &mut self.hosts else {
            return Vec::new();
        };
        let ids = hosts.tasks_of(host, self.tasks.ids());
        let mut out = Vec::new();
        for id in ids {
            if !self.tasks.is_live(id) {
                continue;
            }
            if self.current == Some(id) || id == TaskId::MAIN {
                self.abort(id);
                continue;
            }
            self.decider.remove_ready(id);
            if let Some(h) = &mut self.hosts {
                h.forget(id);
            }
            let cell = self.tasks.take_cell(id);
            out.push((id, self.finish(id, Outcome::Cancelled, cell)));
        }
        out
    }

    /// Arms a timer for `deadline` that wakes `waker`, owned (for the deadlock
    /// detector) by the task of `waker` when it is a task of this run, else by the
    /// current task. Records nothing: its user records what it is for.
    pub(crate) fn add_timer_for(&mut self, deadline: Duration, waker: Waker) -> TimerKey {
        let owner = waker::own_task(&waker, self.sync.run_id).or(self.current);
        self.timers.register(deadline, waker, owner)
    }

    /// Records `op` on `resource` for the current task, without the race detector's
    /// edge (events of the network's hosts and links).
    pub(crate) fn note_event(&mut self, resource: ResourceId, op: ResourceOp, value: u64) {
        self.record(
            self.current,
            EventKind::Resource {
                resource,
                op,
                value,
            },
        );
    }

    /// Gives resource `id` a name (sockets are named by their addresses once known).
    pub(crate) fn name_resource(&mut self, id: ResourceId, name: Arc<str>) {
        if let Some(info) = self.resources.get_mut(id.as_u32() as usize) {
            info.name = Some(name);
        }
    }

    // --- the end of a run ------------------------------------------------------------

    /// End of run: marks every live task dropped and hands back what to drop: first
    /// the live tasks' futures, then finished cells and timers.
    pub(crate) fn teardown(&mut self) -> (Vec<(TaskId, BoxTask)>, Vec<Waker>) {
        self.current = None;
        let mut futures = Vec::new();
        if self.tasks.is_empty() {
            return (futures, self.timers.clear()); // Nothing to drop: skip the scan.
        }
        for id in self.tasks.ids() {
            let cell = self.tasks.take_cell(id);
            if self.tasks.is_live(id) {
                let left = self.finish(id, Outcome::Dropped, cell);
                futures.extend(left.drop.map(|f| (id, f)));
                drop(left.wake); // The joiner is being dropped too.
            } else if let Some(cell) = cell {
                futures.push((id, cell));
            }
        }
        (futures, self.timers.clear())
    }

    /// What the finished run leaves for its report.
    pub(super) fn into_finished(self) -> Finished {
        let task_hosts = match &self.hosts {
            Some(hosts) => self.tasks.ids().map(|id| hosts.of(id)).collect(),
            None => Vec::new(),
        };
        Finished {
            task_hosts,
            tasks: self.tasks.infos(),
            trace: self.trace.finish(),
            resources: self.resources,
            schedule: self.decider.into_schedule(),
            drop_panics: self.drop_panics,
            input_choices: self
                .bytes
                .as_ref()
                .map(|b| crate::rng::source(b).choices().to_vec())
                .unwrap_or_default(),
            replay_input: self.bytes.map(|b| crate::rng::source(&b).replay_input()),
        }
    }
}

/// A generator on `stream`: from `seed`, or from the run's input bytes when it has
/// them (every draw of a `Strategy::Bytes` run comes from its input).
fn rng_of(bytes: Option<&SharedBytes>, seed: u64, stream: Stream) -> DetRng {
    match bytes {
        Some(bytes) => DetRng::from_bytes(bytes.clone(), stream),
        None => DetRng::new(seed, stream),
    }
}
