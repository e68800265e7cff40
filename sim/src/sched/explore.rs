//! The exploration's decision source (`sim::Explore`): one branch of a systematic
//! search. It replays a prefix of choices, then follows the default policy (no
//! preemption: the running task goes on, else the task that ran last if it can and
//! did not yield or spin, else the one runnable longest if it did, else the lowest
//! id), and writes down every decision it makes, with its candidates, for
//! the explorer to find the next branches.
//!
//! State across runs (the search tree) lives in the explorer; a branch's scheduler
//! only shares its log with it, so the run loop knows nothing of exploration.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;

/// One decision of an exploration run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decided {
    /// Who could be chosen, in ascending id order.
    pub(crate) candidates: Vec<TaskId>,
    /// At a scheduling point, the task being polled.
    pub(crate) running: Option<TaskId>,
    /// The task chosen at the decision before, if it is a candidate here (choosing
    /// another is a preemption); after it yielded or spun, the task runnable longest
    /// instead (it gave way, and is no candidate while another can run).
    pub(crate) last: Option<TaskId>,
    /// The task chosen.
    pub(crate) chosen: TaskId,
    /// How many trace events the run had recorded when deciding: the chosen task's
    /// transition is the events from here to the next decision's.
    pub(crate) event: usize,
    /// Whether this is a point the user placed (`scheduling_point`), which marks state
    /// the simulator cannot see.
    pub(crate) user_point: bool,
}

impl Decided {
    /// The task that goes on if nobody is preempted: the running task, else the last
    /// one if it can run.
    pub(crate) fn incumbent(&self) -> Option<TaskId> {
        self.running.or(self.last)
    }

    /// Whether choosing `task` here preempts the incumbent.
    pub(crate) fn preempts(&self, task: TaskId) -> bool {
        self.incumbent().is_some_and(|t| t != task)
    }

    /// The choice of the default policy: the incumbent, else the lowest id.
    pub(crate) fn default_choice(&self) -> TaskId {
        self.incumbent().unwrap_or(self.candidates[0])
    }

    /// Whether choosing `task` here deviates from the default policy (a *delay*).
    pub(crate) fn delays(&self, task: TaskId) -> bool {
        task != self.default_choice()
    }
}

/// The decisions of one exploration run, shared with the explorer.
pub(crate) type ExploreLog = Rc<RefCell<Vec<Decided>>>;

/// A branch of the search: the choices to replay, and the log to fill.
#[derive(Clone, Debug)]
pub(crate) struct ExploreBranch {
    /// The seed of the run's `sim::rand` draws (the same for every branch).
    pub(crate) seed: u64,
    pub(crate) prefix: Vec<TaskId>,
    pub(crate) log: ExploreLog,
}

pub(crate) struct ExploreScheduler {
    prefix: Vec<TaskId>,
    log: ExploreLog,
}

impl ExploreScheduler {
    pub(crate) fn new(branch: &ExploreBranch) -> Self {
        branch.log.borrow_mut().clear();
        ExploreScheduler {
            prefix: branch.prefix.clone(),
            log: branch.log.clone(),
        }
    }
}

impl Scheduler for ExploreScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let mut candidates = ready.sorted();
        candidates.extend(at.running);
        candidates.sort_unstable();
        // A task that yielded or spins gives way, as loom's yield does: while another
        // can run it is no candidate, and the incumbent is the task runnable longest
        // (tokio's FIFO). So a branch that waits in a `yield_now` loop cannot spin to
        // the step bound, and the search does not branch on spinning a little longer.
        let gave_way = at.running.is_none() && (at.last_yielded || at.last_spun);
        if let Some(y) = at.last.filter(|_| gave_way && candidates.len() > 1) {
            candidates.retain(|&t| t != y);
        }
        let last = match at.running {
            Some(t) => Some(t),
            None if gave_way => Some(ready.oldest()),
            None => at.last.filter(|&t| ready.contains(t)),
        };
        let mut log = self.log.borrow_mut();
        let chosen = match self.prefix.get(log.len()) {
            Some(&t) if candidates.contains(&t) => t,
            Some(&t) => {
                return Err(Divergence::NotRunnable {
                    expected: t,
                    runnable: candidates,
                });
            }
            None => last.unwrap_or(candidates[0]), // The default choice.
        };
        log.push(Decided {
            candidates,
            running: at.running,
            last,
            chosen,
            event: at.event,
            user_point: at.user_point,
        });
        Ok(chosen)
    }
}
