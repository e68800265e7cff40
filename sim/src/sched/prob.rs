//! `Strategy::Probabilistic { keep_percent }`: the task that ran last goes on with a
//! fixed chance, else another candidate runs, chosen uniformly (Coyote's
//! probabilistic strategy). Long stretches of one task, broken at random points: the
//! shape of schedules that expose bugs needing one well-placed preemption.

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;
use crate::rng::DetRng;

pub(crate) struct ProbScheduler {
    rng: DetRng,
    keep_percent: u64,
}

impl ProbScheduler {
    pub(crate) fn new(rng: DetRng, keep_percent: u8) -> Self {
        ProbScheduler {
            rng,
            keep_percent: u64::from(keep_percent.min(100)),
        }
    }
}

impl Scheduler for ProbScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let n = at.candidates(ready);
        if n == 1 {
            return Ok(at.candidate(ready, 0));
        }
        // The task that ran last, if it can go on: running at a point, ready again
        // between polls.
        let last = at.running.or(at.last.filter(|&t| ready.contains(t)));
        let Some(last) = last else {
            return Ok(at.candidate(ready, self.rng.below(n as u64) as usize));
        };
        if self.rng.below(100) < self.keep_percent {
            return Ok(last);
        }
        // Uniform among the other n - 1 candidates: skip `last` by swapping in the
        // final candidate for it.
        let t = at.candidate(ready, self.rng.below(n as u64 - 1) as usize);
        Ok(if t == last {
            at.candidate(ready, n - 1)
        } else {
            t
        })
    }
}
