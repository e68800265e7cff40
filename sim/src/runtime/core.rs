//! `Core`: all state of one run, in one struct. The executor drives it; tasks, timers
//! and primitives reach it through [`context`](super::context).

use std::any::Any;
use std::collections::btree_map::Entry;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use super::raw::BoxTask;
use super::tasks::Chunked;
use super::timers::{TimerKey, Timers};
use super::waker;
use super::wakeup::{RunSync, Woken};
use super::{Config, Stop};
use crate::detect::race::RaceDetector;
use crate::detect::waits::{BlockedWaits, Target, WaitGraph};
use crate::ids::TaskId;
use crate::rng::{DetRng, Stream};
use crate::sched::{self, Decision, Divergence, ReadySet, Schedule, Scheduler};
use crate::trace::{EventKind, Recorder, ResourceId, ResourceInfo, ResourceOp, TaskInfo};

/// How a task ended.
pub(crate) enum Outcome {
    Returned,
    Cancelled,
    /// The payload waits in `Core::panics` for the JoinHandle.
    Panicked,
    /// Dropped unfinished at the end of the run.
    Dropped,
}

pub(crate) enum TaskState {
    Live,
    Done(Outcome),
}

/// One task's entry in the task table: only what a step touches, in 24 bytes, so that
/// the table of a run with 100,000 tasks stays in cache under random scheduling (the
/// rest is in [`TaskInfoSlot`]).
pub(crate) struct TaskSlot {
    // Invariant: `Some` while live and not being polled, and after returning while the
    // output waits for its JoinHandle; `None` otherwise. Always `None` for main.
    pub(crate) future: Option<BoxTask>,
    pub(crate) state: TaskState,
    pub(crate) detached: bool,
    pub(crate) abort: bool,
    /// Invariant: a JoinHandle's waker for this task waits in `Core::join_wakers`.
    /// (Derivable, but spares finishing and detaching a map lookup per task: 1.8% of
    /// the spawn benchmark.)
    joined: bool,
    /// Invariant: the task has a tracing span, not yet dropped (in its info slot).
    traced: bool,
    /// Whether a finished task's JoinHandle has passed its scheduling point.
    join_point: bool,
}

/// What reports and logs need of a task, kept apart from the hot [`TaskSlot`].
struct TaskInfoSlot {
    location: &'static Location<'static>,
    /// The name and the tracing span, for the tasks that have either.
    extra: Option<Box<TaskExtra>>,
}

/// What only some tasks have.
struct TaskExtra {
    name: Option<Arc<str>>,
    /// Entered around each poll; `None` once the task is done.
    span: Option<tracing::Span>,
}

impl TaskSlot {
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.state, TaskState::Live)
    }
}

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
    /// The task's waker. Never dropped: a task waker owns nothing (see
    /// `task::waker`), so this skips a call through its vtable per step.
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

/// Work to finish outside the core borrow.
#[derive(Default)]
#[must_use]
pub(crate) struct Leftovers {
    pub(crate) drop: Option<BoxTask>,
    pub(crate) wake: Option<Waker>,
}

impl Leftovers {
    pub(crate) fn finish(self) {
        drop(self.drop);
        if let Some(w) = self.wake {
            w.wake();
        }
    }
}

/// How many scheduling points a task may pass in one poll before it must yield (tokio's
/// cooperative budget): a loop of operations that never wait still gives way.
pub(crate) const COOP_BUDGET: u32 = 128;

pub(crate) struct Core {
    pub(crate) config: Config,
    pub(crate) sync: Arc<RunSync>,
    /// Steps (polls) taken so far.
    pub(crate) step: u64,
    /// Virtual time since the start. Invariant: never decreases.
    pub(crate) now: Duration,
    /// The task being polled, if any.
    pub(crate) current: Option<TaskId>,
    /// The task polled at the last step; `None` after a clock advance. Wakes drained
    /// at the next step are attributed to it.
    last_actor: Option<TaskId>,
    /// The task chosen at the last decision.
    last_chosen: Option<TaskId>,
    /// A switch decided at a scheduling point: the task to poll next (the decision is
    /// already recorded). Invariant: `Some` only between that point and the next step,
    /// and then the task is ready.
    switch_to: Option<TaskId>,
    /// Whether the task being polled must yield at its next scheduling point (a switch
    /// was decided, its budget ran out, or a failure is pending).
    yielding: bool,
    /// Scheduling points the task being polled has passed in this poll.
    poll_points: u32,
    /// Invariant: indexed by TaskId; tasks are never removed during a run.
    pub(crate) tasks: Chunked<TaskSlot>,
    /// Invariant: indexed by TaskId, like `tasks`.
    infos: Chunked<TaskInfoSlot>,
    /// The waker of the JoinHandle awaiting each unfinished task, if any.
    join_wakers: std::collections::BTreeMap<TaskId, Waker>,
    /// Panic payloads of tasks whose panic goes to their JoinHandle.
    panics: std::collections::BTreeMap<TaskId, Box<dyn Any + Send>>,
    /// Invariant: holds exactly the live tasks that are runnable and not being polled.
    pub(crate) ready: ReadySet,
    scheduler: Box<dyn Scheduler>,
    pub(crate) timers: Timers,
    /// Who waits on what, who holds what, who has timers: the deadlock detector's view.
    pub(crate) waits: WaitGraph,
    /// A task whose new wait may have closed a wait-for cycle; checked at the next step.
    check_from: Option<TaskId>,
    /// Happens-before tracking, on from the first `RaceCell` of the run.
    race: Option<RaceDetector>,
    /// Invariant: race_cells[cell] is the resource naming that cell.
    race_cells: Vec<ResourceId>,
    /// A failure found during a poll (a race), reported at the next step.
    pending: Option<Stop>,
    pub(crate) trace: Recorder,
    /// Every decision so far (between polls and at scheduling points), in order.
    pub(crate) schedule: Schedule,
    pub(crate) user_rng: DetRng,
    /// Invariant: indexed by ResourceId; resources are never removed during a run.
    pub(crate) resources: Vec<ResourceInfo>,
    spare: Vec<TaskId>,
    /// The run's queue of woken tasks (shared with the wakers, see `context`).
    woken: Woken,
    /// Invariant: the number of live tasks.
    live: usize,
    /// Invariant: the number of finished tasks whose cell waits for their JoinHandle.
    kept: usize,
    /// Panics of destructors run while futures were dropped: (task, message, location).
    pub(crate) drop_panics: Vec<(TaskId, String, Option<String>)>,
}

impl Core {
    pub(crate) fn new(config: Config, sync: Arc<RunSync>, woken: Woken) -> Self {
        let seed = config.effective_seed();
        let built = sched::build(
            &config.strategy,
            seed,
            config.pct_steps.unwrap_or(super::DEFAULT_PCT_STEPS),
            config.shrink.as_ref(),
        );
        Core {
            sync,
            step: 0,
            now: Duration::ZERO,
            current: None,
            last_actor: None,
            last_chosen: None,
            switch_to: None,
            yielding: false,
            poll_points: 0,
            tasks: Chunked::default(),
            infos: Chunked::default(),
            join_wakers: Default::default(),
            panics: Default::default(),
            ready: ReadySet::new(built.fifo),
            scheduler: built.scheduler,
            timers: Timers::default(),
            waits: WaitGraph::default(),
            check_from: None,
            race: None,
            race_cells: Vec::new(),
            pending: None,
            trace: Recorder::default(),
            schedule: Schedule::new(seed, Vec::new()),
            user_rng: DetRng::new(seed, Stream::User),
            resources: Vec::new(),
            spare: Vec::new(),
            woken,
            live: 0,
            kept: 0,
            drop_panics: Vec::new(),
            config,
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, task: Option<TaskId>, kind: EventKind) {
        self.trace.record(self.step, self.now, task, kind);
    }

    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.sync.run_id
    }

    /// The generator user code draws from.
    pub(crate) fn user_rng(&mut self) -> &mut DetRng {
        &mut self.user_rng
    }

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
            self.waits.track(id);
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
        if let (Some(race), Some(task)) = (&mut self.race, self.current) {
            race.resource_op(task, resource, op);
        }
    }

    /// A new race-checked cell (turns race detection on for the run).
    pub(crate) fn new_race_cell(&mut self, resource: ResourceId) -> usize {
        let race = self.race.get_or_insert_with(RaceDetector::default);
        let cell = race.new_cell();
        debug_assert_eq!(cell, self.race_cells.len());
        self.race_cells.push(resource);
        cell
    }

    /// An access to a race-checked cell by the current task; a race stops the run at
    /// the next step.
    pub(crate) fn race_access(
        &mut self,
        cell: usize,
        write: bool,
        location: &'static Location<'static>,
    ) {
        let (Some(race), Some(task)) = (&mut self.race, self.current) else {
            return;
        };
        if let Some((first, second)) = race.access(cell, task, write, location, self.step, self.now)
        {
            if self.pending.is_none() {
                self.pending = Some(Stop::Race {
                    resource: self.race_cells[cell],
                    first,
                    second,
                });
            }
        }
    }

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

    /// Whether task `id` has finished.
    pub(crate) fn is_finished(&self, id: TaskId) -> bool {
        !self.tasks[id.index()].is_live()
    }

    /// The current task starts waiting on `target` (primitives call this through
    /// `sync::begin_wait`; join handles directly).
    pub(crate) fn begin_wait(&mut self, target: Target) {
        let Some(task) = self.current else { return };
        if let Target::Resource(r) = target {
            self.resource_event(r, ResourceOp::Wait, 0);
        }
        self.waits.begin_wait(task, target);
        // A wait on a resource without known holders (a channel) never closes a
        // partial deadlock (see `WaitGraph::may_close_cycle`): nothing to check.
        if self.waits.holders_known(target) {
            self.check_from = Some(task);
        }
    }

    /// `task` stopped waiting on `target`; `cancelled` records that its waiting future
    /// was dropped rather than served.
    pub(crate) fn end_wait(&mut self, task: TaskId, target: Target, cancelled: bool) {
        if let (true, Target::Resource(r)) = (cancelled, target) {
            self.resource_event(r, ResourceOp::WaitCancelled, 0);
        }
        self.waits.end_wait(task, target);
    }

    /// `task` now holds `resource` (once more); marks `resource` as owned.
    pub(crate) fn hold(&mut self, resource: ResourceId, task: TaskId) {
        self.waits.hold(resource, task);
    }

    /// `task` released one hold of `resource`.
    pub(crate) fn release(&mut self, resource: ResourceId, task: TaskId) {
        self.waits.release(resource, task);
    }

    /// The current task starts waiting on `resource`.
    pub(crate) fn begin_wait_on(&mut self, resource: ResourceId) {
        self.begin_wait(Target::Resource(resource));
    }

    /// The current task stopped waiting on `resource`: served, or (`cancelled`) its
    /// waiting future was dropped. A future is dropped by the task that polled it,
    /// except at the end of a run (no current task), when only the event is recorded.
    pub(crate) fn end_wait_on(&mut self, resource: ResourceId, cancelled: bool) {
        match self.current {
            Some(task) => self.end_wait(task, Target::Resource(resource), cancelled),
            None if cancelled => self.resource_event(resource, ResourceOp::WaitCancelled, 0),
            None => {}
        }
    }

    /// A partial deadlock closed by the last new wait, if any (cheap when none).
    fn partial_deadlock(&mut self) -> Option<Stop> {
        let from = self.check_from.take()?;
        if !self.config.detect_partial_deadlocks || !self.waits.may_close_cycle(from) {
            return None;
        }
        let timed = self.timers.owners();
        let dead = self
            .waits
            .deadlocked(|t| self.is_blocked(t) && !timed.contains(&t));
        (!dead.is_empty()).then(|| self.deadlock(dead, true))
    }

    fn is_blocked(&self, t: TaskId) -> bool {
        self.tasks.get(t.index()).is_some_and(TaskSlot::is_live)
            && !self.ready.contains(t)
            && self.current != Some(t)
    }

    /// The deadlock report data for `tasks` (every blocked task for a global one).
    fn deadlock(&self, tasks: std::collections::BTreeSet<TaskId>, partial: bool) -> Stop {
        let cycles = self
            .waits
            .cycles(&tasks)
            .into_iter()
            .map(|c| c.into_iter().map(|(t, _)| t).collect())
            .collect();
        Stop::Deadlock {
            blocked: self.waits_of_tasks(tasks),
            cycles,
            partial,
        }
    }

    /// Each task with what it waits on and who holds that.
    fn waits_of_tasks(&self, tasks: impl IntoIterator<Item = TaskId>) -> BlockedWaits {
        tasks
            .into_iter()
            .map(|t| {
                let waits = self
                    .waits
                    .waits_of(t)
                    .iter()
                    .map(|&w| (w, self.waits.holders_of(w).unwrap_or_default()))
                    .collect();
                (t, waits)
            })
            .collect()
    }

    /// The live spawned tasks with what they wait on (for leak reports).
    pub(crate) fn blocked_waits(&self) -> BlockedWaits {
        self.waits_of_tasks(self.live_tasks().into_iter().filter(|&t| t != TaskId::MAIN))
    }

    /// The current task yields: recorded, and a hint to the scheduler.
    pub(crate) fn yield_current(&mut self) {
        self.record(self.current, EventKind::Yield);
        if let Some(id) = self.current {
            self.scheduler.yielded(id);
        }
    }

    /// Adds a task (the main future has `future == None`) and makes it runnable.
    pub(crate) fn spawn(
        &mut self,
        future: Option<BoxTask>,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskId {
        let id = TaskId(u32::try_from(self.tasks.len()).expect("more than 2^32 tasks in one run"));
        let span = tracing::info_span!("task", id = id.0, name = name.as_deref().unwrap_or(""));
        let span = (!span.is_disabled()).then_some(span);
        let extra = (name.is_some() || span.is_some()).then(|| Box::new(TaskExtra { name, span }));
        self.live += 1;
        self.tasks.push(TaskSlot {
            future,
            state: TaskState::Live,
            detached: false,
            abort: false,
            joined: false,
            traced: extra.as_ref().is_some_and(|e| e.span.is_some()),
            join_point: false,
        });
        self.infos.push(TaskInfoSlot { location, extra });
        if id != TaskId::MAIN {
            self.record(self.current, EventKind::Spawn { child: id });
        }
        if let Some(race) = &mut self.race {
            race.spawned(self.current, id);
        }
        self.scheduler.spawned(id);
        self.make_ready(id);
        id
    }

    fn make_ready(&mut self, id: TaskId) -> bool {
        let runnable = self.tasks[id.index()].is_live() && self.current != Some(id);
        if runnable && self.ready.insert(id) {
            self.scheduler.readied(id);
            return true;
        }
        false
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

    /// Asks the scheduler, records the decision; `running` is the polled task at a
    /// scheduling point.
    #[inline]
    fn decide(&mut self, running: Option<TaskId>) -> Result<TaskId, Divergence> {
        let at = Decision {
            index: self.schedule.len() as u64 + 1,
            last: self.last_chosen,
            running,
        };
        let id = self.scheduler.choose(&mut self.ready, at)?;
        self.schedule.push(id);
        self.last_chosen = Some(id);
        Ok(id)
    }

    /// [`point`](Self::point), and when the task must yield, its wake, queued here when
    /// `waker` is its own task waker. Returns (must yield, `waker` must still be woken
    /// after the borrow).
    #[inline]
    pub(crate) fn point_waking(&mut self, waker: &Waker) -> (bool, bool) {
        let yields = self.point();
        (yields, yields && !self.wake_own(std::iter::once(waker)))
    }

    /// A scheduling point of the running task, just before one of its async operations
    /// takes effect: whether the task must yield first (return `Pending`, woken) and
    /// perform the operation when polled again. It must when the scheduler chooses
    /// another task, when a failure is pending, or when the task has passed
    /// [`COOP_BUDGET`] points in this poll. With no other task ready there is no
    /// decision to make: nothing is asked and nothing recorded.
    #[inline]
    pub(crate) fn point(&mut self) -> bool {
        let Some(running) = self.current else {
            return false;
        };
        self.poll_points += 1;
        // The common case: nobody else can run, nothing to decide.
        if !self.yielding
            && self.poll_points <= COOP_BUDGET
            && self.ready.is_empty()
            && self.woken.borrow().is_empty()
        {
            return false;
        }
        self.point_decision(running)
    }

    /// [`point`](Self::point) when there may be something to decide.
    fn point_decision(&mut self, running: TaskId) -> bool {
        if self.yielding {
            return true;
        }
        if self.poll_points > COOP_BUDGET {
            self.yielding = true;
            self.record(Some(running), EventKind::Preempt);
            return true;
        }
        self.drain_wakes();
        if self.ready.is_empty() {
            return false;
        }
        match self.decide(Some(running)) {
            Ok(t) if t == running => false,
            Ok(t) => {
                self.switch_to = Some(t);
                self.yielding = true;
                self.record(Some(running), EventKind::Preempt);
                true
            }
            Err(d) => {
                let stop = self.divergence(d);
                self.pending.get_or_insert(stop);
                self.yielding = true;
                true
            }
        }
    }

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
        if self.ready.is_empty() {
            return match self.timers.next_deadline() {
                None => Err(self.deadlock(self.live_tasks().into_iter().collect(), false)),
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
        let id = match self.switch_to.take() {
            Some(id) => id, // Decided (and recorded) at a scheduling point.
            None => self.decide(None).map_err(|d| self.divergence(d))?,
        };
        self.ready.remove(id);
        self.step += 1;
        self.current = Some(id);
        self.last_actor = Some(id);
        self.record(Some(id), EventKind::Poll);
        Ok(Next::Poll(self.begin_poll(id)))
    }

    fn advance_to(&mut self, t: Duration, fired: &mut Vec<Waker>) {
        self.now = t;
        self.last_actor = None;
        let (trace, step) = (&mut self.trace, self.step);
        self.timers.fire_due(t, |owner, waker| {
            trace.record(step, t, owner, EventKind::TimerFired);
            fired.push(waker);
        });
    }

    fn divergence(&self, d: Divergence) -> Stop {
        let decision = self.schedule.len() + 1;
        let reason = match d {
            Divergence::NotRunnable { expected, runnable } => format!(
                "the replayed schedule chooses task {expected} at decision {decision} \
                 (step {}), but it is not runnable (runnable: {}); the program no longer \
                 behaves as when the schedule was recorded",
                self.step + 1,
                runnable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Divergence::Exhausted { recorded } => format!(
                "the replayed schedule has {recorded} decisions, but the program asks for \
                 decision {decision}; it no longer behaves as when the schedule was recorded"
            ),
            Divergence::Unused { recorded, used } => format!(
                "the program ended after {used} of the replayed schedule's {recorded} \
                 decisions; it no longer behaves as when the schedule was recorded"
            ),
        };
        Stop::NonDeterminism { reason }
    }

    /// Whether the run, having ended without a failure, diverged from the schedule it
    /// replays (decisions left over).
    pub(crate) fn replay_left_over(&self) -> Option<Stop> {
        self.scheduler.finished().map(|d| self.divergence(d))
    }

    /// The waker of task `id` of this run.
    pub(crate) fn waker(&self, id: TaskId) -> Waker {
        waker::waker(self.sync.run_id, id)
    }

    /// Takes a task's future out for polling, with what polling needs.
    fn begin_poll(&mut self, id: TaskId) -> Turn {
        // Join waits are re-registered by every pending JoinHandle polled this time.
        self.waits.clear_joins(id);
        self.yielding = false;
        self.poll_points = 0;
        let waker = self.waker(id);
        let slot = &mut self.tasks[id.index()];
        let (future, abort, traced) = (slot.future.take(), slot.abort, slot.traced);
        Turn {
            id,
            future,
            abort,
            waker: std::mem::ManuallyDrop::new(waker),
            span: if traced { self.span(id).cloned() } else { None },
        }
    }

    /// The name of task `id`, if it has one.
    pub(crate) fn task_name(&self, id: TaskId) -> Option<&Arc<str>> {
        self.infos[id.index()].extra.as_ref()?.name.as_ref()
    }

    fn span(&self, id: TaskId) -> Option<&tracing::Span> {
        self.infos[id.index()].extra.as_ref()?.span.as_ref()
    }

    pub(crate) fn end_poll(&mut self, id: TaskId, future: Option<BoxTask>) {
        self.tasks[id.index()].future = future;
        self.current = None;
        if self.tasks[id.index()].abort {
            self.make_ready(id); // It aborted itself: cancel it at its next turn.
        }
    }

    /// Marks a task done. The returned leftovers (the cell to drop unless a JoinHandle
    /// will take its output, the joiner to wake) are handled outside the borrow.
    pub(crate) fn finish(
        &mut self,
        id: TaskId,
        outcome: Outcome,
        cell: Option<BoxTask>,
    ) -> Leftovers {
        if self.current == Some(id) {
            self.current = None;
        }
        let kind = match outcome {
            Outcome::Returned => EventKind::Exit,
            Outcome::Cancelled => EventKind::Cancelled,
            Outcome::Panicked => EventKind::Panicked,
            Outcome::Dropped => EventKind::Dropped,
        };
        self.record(Some(id), kind);
        self.waits.clear_task(id);
        self.live -= 1;
        let slot = &mut self.tasks[id.index()];
        let keep = matches!(outcome, Outcome::Returned) && !slot.detached;
        self.kept += usize::from(keep && cell.is_some());
        slot.state = TaskState::Done(outcome);
        let (traced, joined) = (
            std::mem::take(&mut slot.traced),
            std::mem::take(&mut slot.joined),
        );
        let drop = if keep {
            slot.future = cell;
            None
        } else {
            cell
        };
        if traced {
            if let Some(extra) = &mut self.infos[id.index()].extra {
                extra.span = None;
            }
        }
        Leftovers {
            drop,
            wake: joined.then(|| self.join_wakers.remove(&id)).flatten(),
        }
    }

    pub(crate) fn poll_join(&mut self, id: TaskId, waker: &Waker) -> JoinPoll {
        // The scheduling point comes before a join that completes at once (a join that
        // waits is a switch anyway).
        let slot = &mut self.tasks[id.index()];
        if !slot.is_live() && !std::mem::replace(&mut slot.join_point, true) {
            match self.point_waking(waker) {
                (false, _) => {}
                (true, wake) => return JoinPoll::Yield { wake },
            }
        }
        let slot = &mut self.tasks[id.index()];
        match &mut slot.state {
            TaskState::Live => {
                slot.joined = true;
                // A join that waits has no point when it completes later.
                slot.join_point = true;
                let replaced = match self.join_wakers.entry(id) {
                    Entry::Occupied(mut e) if !e.get().will_wake(waker) => {
                        Some(e.insert(waker.clone()))
                    }
                    Entry::Occupied(_) => None,
                    Entry::Vacant(e) => {
                        e.insert(waker.clone());
                        None
                    }
                };
                self.begin_wait(Target::Task(id));
                JoinPoll::Pending { replaced }
            }
            TaskState::Done(Outcome::Returned) => match slot.future.take() {
                Some(cell) => {
                    self.kept -= 1;
                    if let (Some(race), Some(joiner)) = (&mut self.race, self.current) {
                        race.joined(joiner, id);
                    }
                    JoinPoll::Output(cell)
                }
                None => panic!("JoinHandle for task {id} polled after it completed"),
            },
            TaskState::Done(Outcome::Cancelled | Outcome::Dropped) => JoinPoll::Cancelled,
            TaskState::Done(Outcome::Panicked) => match self.panics.remove(&id) {
                Some(payload) => JoinPoll::Panicked(payload),
                None => panic!("JoinHandle for task {id} polled after it completed"),
            },
        }
    }

    /// A task panicked and its panic goes to its JoinHandle.
    pub(crate) fn finish_panicked(
        &mut self,
        id: TaskId,
        payload: Box<dyn Any + Send>,
    ) -> Leftovers {
        if !self.tasks[id.index()].detached {
            self.panics.insert(id, payload);
        }
        self.finish(id, Outcome::Panicked, None)
    }

    /// A JoinHandle was dropped: the task runs on detached; returns its finished cell.
    pub(crate) fn detach(&mut self, id: TaskId) -> Option<BoxTask> {
        let slot = &mut self.tasks[id.index()];
        slot.detached = true;
        if std::mem::take(&mut slot.joined) {
            self.join_wakers.remove(&id);
        }
        if matches!(slot.state, TaskState::Done(Outcome::Panicked)) {
            self.panics.remove(&id);
        }
        if slot.is_live() {
            return None;
        }
        let cell = slot.future.take();
        self.kept -= usize::from(cell.is_some());
        cell
    }

    /// Requests cancellation: the task is dropped when next scheduled.
    pub(crate) fn abort(&mut self, id: TaskId) {
        if !self.tasks[id.index()].is_live() || self.tasks[id.index()].abort {
            return;
        }
        self.tasks[id.index()].abort = true;
        self.record(self.current, EventKind::Abort { target: id });
        self.make_ready(id);
    }

    /// End of run: marks every live task dropped and hands back what to drop: first
    /// the live tasks' futures, then finished cells and timers.
    pub(crate) fn teardown(&mut self) -> (Vec<(TaskId, BoxTask)>, Vec<Waker>) {
        self.current = None;
        let mut futures = Vec::new();
        if self.live == 0 && self.kept == 0 {
            return (futures, self.timers.clear()); // Nothing to drop: skip the scan.
        }
        for i in 0..self.tasks.len() {
            let id = TaskId(i as u32);
            if self.tasks[i].is_live() {
                let cell = self.tasks[i].future.take();
                let left = self.finish(id, Outcome::Dropped, cell);
                futures.extend(left.drop.map(|f| (id, f)));
                drop(left.wake); // The joiner is being dropped too.
            } else if let Some(cell) = self.tasks[i].future.take() {
                futures.push((id, cell));
            }
        }
        (futures, self.timers.clear())
    }

    /// A destructor panicked while task `task`'s future (or output) was dropped: kept
    /// for the report, after the failure that ended the run if there is one.
    pub(crate) fn drop_panicked(&mut self, task: TaskId, payload: &(dyn Any + Send)) {
        let (message, location) = super::panic::take_report(payload);
        self.drop_panics.push((task, message, location));
    }

    /// Every task's identity, for the trace and reports.
    pub(crate) fn task_infos(&self) -> Vec<TaskInfo> {
        let mut infos = Vec::with_capacity(self.tasks.len());
        infos.extend(self.infos.iter().enumerate().map(|(i, s)| TaskInfo {
            id: TaskId(i as u32),
            name: s.extra.as_ref().and_then(|e| e.name.clone()),
            spawned_at: s.location,
        }));
        infos
    }

    /// Live tasks, in id order.
    pub(crate) fn live_tasks(&self) -> Vec<TaskId> {
        (0..self.tasks.len())
            .filter(|&i| self.tasks[i].is_live())
            .map(|i| TaskId(i as u32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_task_slot_stays_small() {
        // The hot table of a run with 100,000 tasks must fit in cache (W4 benchmark).
        assert!(std::mem::size_of::<super::TaskSlot>() <= 24);
    }
}
