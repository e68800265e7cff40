//! Who runs next: the ready set, the run's scheduler and the schedule it has made so
//! far, and the state of the poll in progress at its scheduling points (a switch
//! decided, the cooperative budget). Owns the invariant that every decision the
//! scheduler makes is recorded, in order, and that a switch decided at a point is the
//! next task polled.

use crate::ids::TaskId;
use crate::sched::{Built, Decision, Divergence, ReadySet, Schedule, Scheduler};

/// How many scheduling points a task may pass in one poll before it must yield (tokio's
/// cooperative budget): a loop of operations that never wait still gives way.
pub(crate) const COOP_BUDGET: u32 = 128;

/// How many polls in a row a task may end still runnable (it woke itself: a busy
/// wait) while others wait, before the scheduler hears it is spinning
/// ([`Scheduler::spinning`]): a priority scheduler then lets the others run, as after
/// a yield, instead of starving the task the spinner waits for.
pub(crate) const SPIN_LIMIT: u32 = 64;

/// What a scheduling point needs before it can be answered.
pub(super) enum AtPoint {
    /// Nobody else can run: go on, nothing decided, nothing recorded.
    Go,
    /// The poll is already stopping (a switch was decided, or a failure is pending).
    Yield,
    /// The task has used its budget of points in this poll: it must yield.
    BudgetSpent,
    /// Others may be runnable: make them ready, then ask [`Decider::decide_at_point`].
    Decide,
}

pub(super) struct Decider {
    /// Invariant: holds exactly the live tasks that are runnable and not being polled.
    ready: ReadySet,
    scheduler: Box<dyn Scheduler>,
    /// Every decision so far (between polls and at scheduling points), in order.
    schedule: Schedule,
    /// The task chosen at the last decision.
    last_chosen: Option<TaskId>,
    /// A switch decided at a scheduling point: the task to poll next (the decision is
    /// already recorded). Invariant: `Some` only between that point and the next step,
    /// and then the task is ready.
    switch_to: Option<TaskId>,
    /// The task of the last poll.
    last_polled: Option<TaskId>,
    /// How many polls in a row `last_polled` ended runnable with others waiting and ran
    /// again.
    spin: u32,
    /// The task of the poll in progress (or just ended) is spinning: its poll began a
    /// run of [`SPIN_LIMIT`] polls that ended runnable. Invariant: `false` once the
    /// next decision between polls is made.
    spun: bool,
    /// The task of the poll in progress (or just ended) yielded (`yield_now`).
    /// Invariant: `false` once the next decision between polls is made.
    yielded: bool,
    /// Whether the task being polled must yield at its next scheduling point.
    yielding: bool,
    /// Scheduling points the task being polled has passed in this poll.
    poll_points: u32,
    /// The task being polled is inside a blocking section (`spawn_blocking`,
    /// `block_in_place`): it runs to the end of the section without any point.
    /// Invariant: `false` between polls.
    blocking: bool,
}

impl Decider {
    /// The decisions of a run of `seed` by `built`.
    pub(super) fn new(built: Built, seed: u64) -> Self {
        Decider {
            ready: ReadySet::new(built.fifo),
            scheduler: built.scheduler,
            schedule: Schedule::new(seed, Vec::new()),
            last_chosen: None,
            switch_to: None,
            last_polled: None,
            spin: 0,
            spun: false,
            yielded: false,
            yielding: false,
            poll_points: 0,
            blocking: false,
        }
    }

    /// A task was created (before it first becomes ready).
    #[inline]
    pub(super) fn spawned(&mut self, id: TaskId) {
        self.scheduler.spawned(id);
    }

    /// Adds `id` to the ready set; `false` if it was there already.
    #[inline]
    pub(super) fn make_ready(&mut self, id: TaskId) -> bool {
        let added = self.ready.insert(id);
        if added {
            self.scheduler.readied(id);
        }
        added
    }

    /// Takes `id` out of the ready set (its host paused or crashed); whether it was
    /// there. A switch decided to it is forgotten: the next step decides afresh.
    pub(super) fn remove_ready(&mut self, id: TaskId) -> bool {
        if self.switch_to == Some(id) {
            self.switch_to = None;
        }
        let was = self.ready.contains(id);
        if was {
            self.ready.remove(id);
        }
        was
    }

    #[inline]
    pub(super) fn is_ready(&self, id: TaskId) -> bool {
        self.ready.contains(id)
    }

    #[inline]
    pub(super) fn nothing_ready(&self) -> bool {
        self.ready.is_empty()
    }

    /// The running task yielded (`yield_now`).
    #[inline]
    pub(super) fn yielded(&mut self, id: TaskId) {
        self.yielded = true;
        self.scheduler.yielded(id);
    }

    /// Asks the scheduler and records the decision; `running` is the polled task at a
    /// scheduling point (`user` if the user placed it), `events` the trace's length.
    #[inline]
    fn decide(
        &mut self,
        running: Option<TaskId>,
        events: usize,
        user: bool,
    ) -> Result<TaskId, Divergence> {
        let at = Decision {
            index: self.schedule.len() as u64 + 1,
            last: self.last_chosen,
            running,
            event: events,
            user_point: user,
            last_spun: self.spun,
            last_yielded: self.yielded,
        };
        let id = self.scheduler.choose(&mut self.ready, at)?;
        self.schedule.push(id);
        self.last_chosen = Some(id);
        Ok(id)
    }

    /// The task to poll at the next step (the ready set is not empty): the one a
    /// scheduling point switched to, else a new decision. It leaves the ready set, and
    /// its poll starts with a fresh budget.
    #[inline]
    pub(super) fn next(&mut self, events: usize) -> Result<TaskId, Divergence> {
        let id = match self.switch_to.take() {
            Some(id) => id, // Decided (and recorded) at a scheduling point.
            None => self.decide(None, events, false)?,
        };
        // The task of the last poll again, when another could run: it was runnable at
        // once after its poll (no timer fires while a task is ready), so it woke itself.
        let again = self.last_polled == Some(id) && self.ready.len() > 1;
        self.ready.remove(id);
        self.spun = false;
        self.yielded = false;
        if again {
            self.spin += 1;
            if self.spin >= SPIN_LIMIT {
                self.spin = 0;
                self.spun = true;
                self.scheduler.spinning(id);
            }
        } else {
            self.spin = 0;
            self.last_polled = Some(id);
        }
        self.yielding = false;
        self.poll_points = 0;
        self.blocking = false;
        Ok(id)
    }

    /// A scheduling point of the running task: counts it against the budget and says
    /// what answering it needs; `others_woken` is whether tasks woken in this poll
    /// wait to join the ready set.
    #[inline]
    pub(super) fn at_point(&mut self, others_woken: bool) -> AtPoint {
        if self.blocking {
            return AtPoint::Go; // A blocking section has no points and no budget.
        }
        self.poll_points += 1;
        if self.yielding {
            return AtPoint::Yield;
        }
        if self.poll_points > COOP_BUDGET {
            self.yielding = true;
            return AtPoint::BudgetSpent;
        }
        if self.ready.is_empty() && !others_woken {
            return AtPoint::Go;
        }
        AtPoint::Decide
    }

    /// Enters (`true`) or leaves a blocking section of the task being polled; returns
    /// whether it was in one (sections nest).
    pub(super) fn set_blocking(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.blocking, on)
    }

    /// Whether the task being polled may pass another scheduling point in this poll
    /// without yielding for its budget (tokio's `coop::has_budget_remaining`).
    pub(super) fn has_budget_remaining(&self) -> bool {
        self.blocking || (!self.yielding && self.poll_points < COOP_BUDGET)
    }

    /// Whether the task being polled is inside a blocking section.
    pub(super) fn is_blocking(&self) -> bool {
        self.blocking
    }

    /// The decision at a scheduling point of `running` (`user`: one the user placed),
    /// once the woken tasks are ready: whether it must yield (another task was chosen,
    /// or the schedule diverged).
    pub(super) fn decide_at_point(
        &mut self,
        running: TaskId,
        events: usize,
        user: bool,
    ) -> Result<bool, Divergence> {
        if self.ready.is_empty() {
            return Ok(false);
        }
        match self.decide(Some(running), events, user) {
            Ok(t) if t == running => Ok(false),
            Ok(t) => {
                self.switch_to = Some(t);
                self.yielding = true;
                Ok(true)
            }
            Err(d) => {
                self.yielding = true;
                Err(d)
            }
        }
    }

    /// The number of decisions so far.
    #[inline]
    pub(super) fn decisions(&self) -> usize {
        self.schedule.len()
    }

    /// The run ended without a failure: whether that diverges from what the scheduler
    /// follows (a strict replay with decisions left over).
    pub(super) fn finished(&self) -> Option<Divergence> {
        self.scheduler.finished()
    }

    /// The schedule made, for the finished run.
    pub(super) fn into_schedule(self) -> Schedule {
        self.schedule
    }
}
