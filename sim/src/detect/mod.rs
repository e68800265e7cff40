//! Bug detectors: who waits on what (deadlocks, leaks) and what happened before what
//! (data races), and the report data they give when they find something.
//!
//! [`Detectors`] is the run's detector state, owned by the core: primitives feed it
//! (through the core's `Resources` facet) with waits, holds and operations, and the
//! run loop asks it whether the run must stop.
//!
//! Architecture invariant: detectors observe; they never change a scheduling decision,
//! and they know nothing of the engine beyond task and resource ids.

pub(crate) mod clock;
pub(crate) mod race;
pub(crate) mod waits;

use std::collections::BTreeSet;
use std::panic::Location;
use std::time::Duration;

use crate::ids::{ResourceId, TaskId};
use crate::trace::ResourceOp;
use race::{Access, RaceDetector};
use waits::{BlockedWaits, Target, WaitGraph};

/// A race found: the cell's resource and the two unordered accesses.
pub(crate) type Race = (ResourceId, Access, Access);

/// The detectors of one run.
#[derive(Default)]
pub(crate) struct Detectors {
    /// Who waits on what, who holds what: the deadlock detector's view.
    waits: WaitGraph,
    /// A task whose new wait may have closed a wait-for cycle; checked at the next step.
    check_from: Option<TaskId>,
    /// Happens-before tracking, on from the first `RaceCell` of the run.
    race: Option<RaceDetector>,
    /// Invariant: race_cells[cell] is the resource naming that cell.
    race_cells: Vec<ResourceId>,
}

impl Detectors {
    /// `resource` has holders (a lock, a semaphore), tracked even while it is free.
    pub(crate) fn track(&mut self, resource: ResourceId) {
        self.waits.track(resource);
    }

    /// `task` spawned `child`.
    #[inline]
    pub(crate) fn spawned(&mut self, task: Option<TaskId>, child: TaskId) {
        if let Some(race) = &mut self.race {
            race.spawned(task, child);
        }
    }

    /// `joiner` took the output of `child` (a happens-before edge).
    #[inline]
    pub(crate) fn joined(&mut self, joiner: Option<TaskId>, child: TaskId) {
        if let (Some(race), Some(joiner)) = (&mut self.race, joiner) {
            race.joined(joiner, child);
        }
    }

    /// `task` did `op` on `resource` (its happens-before edge).
    #[inline]
    pub(crate) fn resource_op(
        &mut self,
        task: Option<TaskId>,
        resource: ResourceId,
        op: ResourceOp,
    ) {
        if let (Some(race), Some(task)) = (&mut self.race, task) {
            race.resource_op(task, resource, op);
        }
    }

    /// A new race-checked cell named by `resource` (turns race detection on).
    pub(crate) fn new_race_cell(&mut self, resource: ResourceId) -> usize {
        let race = self.race.get_or_insert_with(RaceDetector::default);
        let cell = race.new_cell();
        debug_assert_eq!(cell, self.race_cells.len());
        self.race_cells.push(resource);
        cell
    }

    /// An access to a race-checked cell by `task`: the race it completes, if any.
    pub(crate) fn race_access(
        &mut self,
        cell: usize,
        task: TaskId,
        write: bool,
        location: &'static Location<'static>,
        step: u64,
        now: Duration,
    ) -> Option<Race> {
        let race = self.race.as_mut()?;
        let (first, second) = race.access(cell, task, write, location, step, now)?;
        Some((self.race_cells[cell], first, second))
    }

    /// `task` starts waiting on `target`.
    #[inline]
    pub(crate) fn begin_wait(&mut self, task: TaskId, target: Target) {
        self.waits.begin_wait(task, target);
        // A wait on a resource without known holders (a channel) never closes a
        // partial deadlock (see `WaitGraph::may_close_cycle`): nothing to check.
        if self.waits.holders_known(target) {
            self.check_from = Some(task);
        }
    }

    /// `task` stopped waiting on `target`.
    #[inline]
    pub(crate) fn end_wait(&mut self, task: TaskId, target: Target) {
        self.waits.end_wait(task, target);
    }

    /// `task` now holds `resource` (once more).
    #[inline]
    pub(crate) fn hold(&mut self, resource: ResourceId, task: TaskId) {
        self.waits.hold(resource, task);
    }

    /// `task` released one hold of `resource`.
    #[inline]
    pub(crate) fn release(&mut self, resource: ResourceId, task: TaskId) {
        self.waits.release(resource, task);
    }

    /// `task` is polled again: its join waits are registered afresh by every pending
    /// `JoinHandle` it polls.
    #[inline]
    pub(crate) fn clear_joins(&mut self, task: TaskId) {
        self.waits.clear_joins(task);
    }

    /// `task` finished: it waits on nothing any more.
    #[inline]
    pub(crate) fn clear_task(&mut self, task: TaskId) {
        self.waits.clear_task(task);
    }

    /// The tasks of a partial deadlock closed by the last new wait, if any (cheap when
    /// none): a cycle among `blocked` tasks none of which is in `timed()` (waits with
    /// a deadline; computed only when a cycle may have closed).
    #[inline]
    pub(crate) fn partial_deadlock(
        &mut self,
        blocked: impl Fn(TaskId) -> bool,
        timed: impl FnOnce() -> BTreeSet<TaskId>,
    ) -> Option<BTreeSet<TaskId>> {
        let from = self.check_from.take()?;
        if !self.waits.may_close_cycle(from) {
            return None;
        }
        let timed = timed();
        let dead = self.waits.deadlocked(|t| blocked(t) && !timed.contains(&t));
        (!dead.is_empty()).then_some(dead)
    }

    /// Forgets the last new wait without checking it (partial deadlock detection off).
    #[inline]
    pub(crate) fn skip_check(&mut self) {
        self.check_from = None;
    }

    /// The report of a deadlock of `tasks`: each with what it waits on and who holds
    /// that, and the wait-for cycles among them.
    pub(crate) fn deadlock(&self, tasks: BTreeSet<TaskId>) -> (BlockedWaits, Vec<Vec<TaskId>>) {
        let cycles = self
            .waits
            .cycles(&tasks)
            .into_iter()
            .map(|c| c.into_iter().map(|(t, _)| t).collect())
            .collect();
        (self.waits_of(tasks), cycles)
    }

    /// Each task with what it waits on and who holds that.
    pub(crate) fn waits_of(&self, tasks: impl IntoIterator<Item = TaskId>) -> BlockedWaits {
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
}
