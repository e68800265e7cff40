//! `Strategy::Replay(schedule)`: follow a recorded sequence of decisions.
//!
//! Strict replay (the public strategy) fails with a divergence when the recorded task
//! is not runnable, when the schedule runs out, or when the program ends before the
//! schedule does; lenient replay (used by the shrinker) takes the
//! [`fallback`](super::fallback) choice instead.

use super::{Decision, Divergence, ReadySet, Scheduler, fallback};
use crate::ids::TaskId;

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

    fn finished(&self) -> Option<Divergence> {
        (!self.lenient && self.next < self.steps.len()).then_some(Divergence::Unused {
            recorded: self.steps.len(),
            used: self.next,
        })
    }
}
