//! The narrow views of a run that code outside the engine gets: [`Resources`] for
//! primitives and `RaceCell`s, [`Clock`] for timers, [`Tasks`] for spawning and
//! joining. Each names exactly the operations its users need; none hands out the core
//! or any of its parts. [`context`](super::context) gives them out, one core borrow
//! at a time.

use std::panic::Location;
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Duration;

use super::core::Core;
pub(crate) use super::core::JoinPoll;
use super::raw::BoxTask;
use super::timers::TimerKey;
use super::wakeup::RunSync;
use crate::ids::{ResourceId, TaskId};
use crate::trace::ResourceOp;

/// What synchronisation resources (primitives, race-checked cells) may do in a run:
/// register, record their operations, feed the detectors, and meet the scheduler at
/// their scheduling points.
pub(crate) struct Resources<'a>(pub(super) &'a mut Core);

impl Resources<'_> {
    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.0.run_id()
    }

    /// The task being polled, if any.
    pub(crate) fn current(&self) -> Option<TaskId> {
        self.0.current
    }

    // Added by the `state` branch (sync's per-run claims), additive only.
    /// A handle telling, from any thread, whether this run is still in progress.
    pub(crate) fn run_ref(&self) -> RunRef {
        RunRef(Arc::downgrade(&self.0.sync))
    }

    /// Registers a resource of `kind` for traces and reports; `owned` resources (locks,
    /// semaphores) tell the deadlock detector who holds them.
    pub(crate) fn register(
        &mut self,
        kind: &'static str,
        name: Option<Arc<str>>,
        created_at: &'static Location<'static>,
        owned: bool,
    ) -> ResourceId {
        self.0.register_resource(kind, name, created_at, owned)
    }

    /// Records `op` of the current task on `resource`.
    #[inline]
    pub(crate) fn event(&mut self, resource: ResourceId, op: ResourceOp, value: u64) {
        self.0.resource_event(resource, op, value);
    }

    /// The current task starts waiting on `resource` (the deadlock detector's hook).
    pub(crate) fn begin_wait(&mut self, resource: ResourceId) {
        self.0.begin_wait_on(resource);
    }

    /// The current task stopped waiting on `resource`: it was served, or (`cancelled`)
    /// its waiting future was dropped (at the end of a run, by no task).
    pub(crate) fn end_wait(&mut self, resource: ResourceId, cancelled: bool) {
        self.0.end_wait_on(resource, cancelled);
    }

    /// `task` now holds `resource` (once more).
    pub(crate) fn hold(&mut self, resource: ResourceId, task: TaskId) {
        self.0.hold(resource, task);
    }

    /// `task` released one hold of `resource`.
    pub(crate) fn release(&mut self, resource: ResourceId, task: TaskId) {
        self.0.release(resource, task);
    }

    /// The scheduling point of the current task's operation (see `Core::point`):
    /// (must yield, `waker` must still be woken after the borrow).
    #[inline]
    pub(crate) fn point(&mut self, waker: &Waker) -> (bool, bool) {
        self.0.point_waking(waker, false)
    }

    /// A new race-checked cell named by `resource` (turns race detection on).
    pub(crate) fn new_race_cell(&mut self, resource: ResourceId) -> usize {
        self.0.new_race_cell(resource)
    }

    /// An access to race-checked cell `cell` by the current task.
    pub(crate) fn race_access(
        &mut self,
        cell: usize,
        write: bool,
        location: &'static Location<'static>,
    ) {
        self.0.race_access(cell, write, location);
    }
}

// Added by the `state` branch (sync's per-run claims), additive only.
/// A weak handle to a run: whether it is still in progress, from any thread. The run's
/// `RunSync` lives exactly as long as its core (from the start of `block_on` to its
/// return) and the live-run registry's entry, so the handle is live for that long.
#[derive(Clone, Debug)]
pub(crate) struct RunRef(Weak<RunSync>);

impl RunRef {
    /// Whether the run is still in progress.
    pub(crate) fn is_live(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// What timers may do in a run: read the clock, arm, re-arm and cancel.
pub(crate) struct Clock<'a>(pub(super) &'a mut Core);

impl Clock<'_> {
    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.0.run_id()
    }

    /// The virtual time since the start of the run.
    pub(crate) fn now(&self) -> Duration {
        self.0.now()
    }

    /// Arms a timer of the current task for `deadline`.
    pub(crate) fn add_timer(&mut self, deadline: Duration, waker: Waker) -> TimerKey {
        self.0.add_timer(deadline, waker)
    }

    /// Cancels a timer (a stale key is a no-op); returns the waker to drop outside.
    pub(crate) fn cancel_timer(&mut self, key: TimerKey) -> Option<Waker> {
        self.0.cancel_timer(key)
    }

    /// Refreshes an armed timer's waker; `false` if the key is stale.
    pub(crate) fn set_timer_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        self.0.set_timer_waker(key, waker)
    }

    /// The earliest pending timer's deadline, if any.
    pub(crate) fn next_timer(&mut self) -> Option<Duration> {
        self.0.next_timer()
    }

    /// Moves the clock forward to `to` now, firing every timer due by then (see
    /// `Core::jump_to`); returns the fired wakers to wake after the borrow.
    pub(crate) fn jump_to(&mut self, to: Duration) -> Vec<Waker> {
        let mut fired = Vec::new();
        self.0.jump_to(to, &mut fired);
        fired
    }
}

/// What task handles may do in a run: spawn, yield, join, detach, abort.
pub(crate) struct Tasks<'a>(pub(super) &'a mut Core);

impl Tasks<'_> {
    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.0.run_id()
    }

    /// Adds a task (runnable at once).
    pub(crate) fn spawn(
        &mut self,
        future: BoxTask,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskId {
        self.0.spawn(Some(future), name, location)
    }

    /// Whether task `id` has finished.
    pub(crate) fn is_finished(&self, id: TaskId) -> bool {
        self.0.is_finished(id)
    }

    /// One poll of a `JoinHandle` of task `id` by the current task.
    pub(crate) fn poll_join(&mut self, id: TaskId, waker: &Waker) -> JoinPoll {
        self.0.poll_join(id, waker)
    }

    /// The `JoinHandle` of task `id` was dropped; returns its finished cell to drop.
    pub(crate) fn detach(&mut self, id: TaskId) -> Option<BoxTask> {
        self.0.detach(id)
    }

    /// Requests cancellation of task `id` at its next turn.
    pub(crate) fn abort(&mut self, id: TaskId) {
        self.0.abort(id);
    }

    /// Enters (`true`) or leaves a blocking section of the current task (no
    /// scheduling point decides anything inside one); returns whether it was in one.
    pub(crate) fn set_blocking(&mut self, on: bool) -> bool {
        self.0.set_blocking(on)
    }

    /// Whether the current task is inside a blocking section.
    pub(crate) fn is_blocking(&self) -> bool {
        self.0.is_blocking()
    }

    /// Whether the current task has cooperative budget left in this poll.
    pub(crate) fn has_budget_remaining(&self) -> bool {
        self.0.has_budget_remaining()
    }

    /// The current task yields (`yield_now`): recorded, a hint to the scheduler, and
    /// `waker` queued (`false`: wake it after the borrow).
    pub(crate) fn yield_now(&mut self, waker: &Waker) -> bool {
        self.0.yield_current();
        self.0.wake_own(std::iter::once(waker))
    }
}

/// What the simulated network (`sim::net`) and BUGGIFY sites may do in a run: keep
/// their per-run state ([`extension`](Network::extension)), place tasks on hosts,
/// pause, resume and crash hosts, arm delivery timers, and record and name their
/// events. Never the ready set and never a decision: a crash cancels tasks the way an
/// abort does, and a paused host's tasks are only kept out of the ready set.
pub(crate) struct Network<'a>(pub(super) &'a mut Core);

impl Network<'_> {
    /// The run's id.
    pub(crate) fn run_id(&self) -> u64 {
        self.0.run_id()
    }

    /// A generator on `stream` of the run: from the run's seed, or, in a run driven
    /// by input bytes (`Strategy::Bytes`), from those bytes (so a fuzzer steers the
    /// network's and BUGGIFY's draws too).
    pub(crate) fn rng(&self, stream: crate::rng::Stream) -> crate::rng::DetRng {
        self.0.rng(stream)
    }

    /// The virtual time since the start of the run.
    pub(crate) fn now(&self) -> Duration {
        self.0.now()
    }

    /// The network faults the run was configured with (`Builder::net_faults`).
    pub(crate) fn faults(&self) -> Option<&crate::net::faults::Faults> {
        self.0.config.net_faults.as_ref()
    }

    /// BUGGIFY's configuration for the run.
    pub(crate) fn buggify(&self) -> &crate::net::faults::BuggifyConfig {
        &self.0.config.buggify
    }

    /// The extension of type `T`, created by `init` at its first use in the run.
    pub(crate) fn extension<T: super::extension::Extension>(
        &mut self,
        init: impl FnOnce() -> T,
    ) -> std::rc::Rc<T> {
        self.0.extension(init)
    }

    /// The extension of type `T`, if the run has one.
    pub(crate) fn find_extension<T: super::extension::Extension>(&self) -> Option<std::rc::Rc<T>> {
        self.0.find_extension()
    }

    /// Declares host `host`.
    pub(crate) fn declare_host(&mut self, host: super::hosts::HostIndex) {
        self.0.declare_host(host);
    }

    /// The host of the task being polled (0: the main future's).
    pub(crate) fn current_host(&self) -> super::hosts::HostIndex {
        self.0.current_host()
    }

    /// Spawns a task on `host` (runnable at once unless the host is paused).
    pub(crate) fn spawn_on(
        &mut self,
        host: super::hosts::HostIndex,
        future: BoxTask,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskId {
        self.0.spawn_on(Some(future), name, location, Some(host))
    }

    /// Pauses `host`.
    pub(crate) fn pause_host(&mut self, host: super::hosts::HostIndex) {
        self.0.pause_host(host);
    }

    /// Resumes `host`.
    pub(crate) fn resume_host(&mut self, host: super::hosts::HostIndex) {
        self.0.resume_host(host);
    }

    /// Whether `host` is paused.
    pub(crate) fn is_host_paused(&self, host: super::hosts::HostIndex) -> bool {
        self.0.is_host_paused(host)
    }

    /// Cancels every task of `host` at once; the futures and joiners come back to be
    /// dropped and woken after the borrow.
    pub(crate) fn cancel_host_tasks(
        &mut self,
        host: super::hosts::HostIndex,
    ) -> Vec<(TaskId, super::task_table::Leftovers)> {
        self.0.cancel_host_tasks(host)
    }

    /// A destructor panicked while a crashed host's task was dropped.
    pub(crate) fn drop_panicked(&mut self, task: TaskId, payload: &(dyn std::any::Any + Send)) {
        self.0.drop_panicked(task, payload);
    }

    /// Arms a timer for `deadline` waking `waker`, owned by `waker`'s task.
    pub(crate) fn add_timer_for(&mut self, deadline: Duration, waker: Waker) -> TimerKey {
        self.0.add_timer_for(deadline, waker)
    }

    /// Registers a named resource (a host, a link, a BUGGIFY site).
    pub(crate) fn register(
        &mut self,
        kind: &'static str,
        name: Arc<str>,
        created_at: &'static Location<'static>,
    ) -> ResourceId {
        self.0
            .register_resource(kind, Some(name), created_at, false)
    }

    /// Names resource `id` (a socket, once its addresses are known).
    pub(crate) fn name_resource(&mut self, id: ResourceId, name: Arc<str>) {
        self.0.name_resource(id, name);
    }

    /// Records `op` of the current task on `resource`.
    pub(crate) fn event(&mut self, resource: ResourceId, op: ResourceOp, value: u64) {
        self.0.note_event(resource, op, value);
    }
}
