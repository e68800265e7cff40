//! `Strategy::Replay(schedule)`: follow a recorded sequence of decisions.
//!
//! Strict replay (the public strategy) fails with a divergence when the recorded task
//! is not runnable or the schedule runs out; lenient replay (used by the shrinker)
//! takes the [`fallback`](super::fallback) choice instead.

use super::{Decision, Divergence, ReadySet, Scheduler, fallback};
use crate::task::TaskId;

pub(crate) struct ReplayScheduler {
    steps: Vec<TaskId>,
    next: usize,
    lenient: bool,
}

impl ReplayScheduler {
    pub(crate) fn new(steps: Vec<TaskId>, lenient: bool) -> Self {
        ReplayScheduler {
            steps,
            next: 0,
            lenient,
        }
    }
}

impl Scheduler for ReplayScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let recorded = self.steps.get(self.next).copied();
        self.next += 1;
        match recorded {
            Some(t) if at.allows(ready, t) => Ok(t),
            _ if self.lenient => Ok(fallback(ready, at)),
            Some(t) => Err(Divergence::NotRunnable {
                expected: t,
                runnable: {
                    let mut r = ready.sorted();
                    r.extend(at.running);
                    r.sort_unstable();
                    r
                },
            }),
            None => Err(Divergence::Exhausted {
                recorded: self.steps.len(),
            }),
        }
    }
}
