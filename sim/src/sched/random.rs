//! `Strategy::Random`: uniform among the candidates of every decision (at a scheduling
//! point, the running task is one of them).

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;
use crate::rng::DetRng;

pub(crate) struct RandomScheduler {
    rng: DetRng,
}

impl RandomScheduler {
    pub(crate) fn new(rng: DetRng) -> Self {
        RandomScheduler { rng }
    }
}

impl Scheduler for RandomScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        // A forced choice draws nothing, so adding a lone task does not shift the stream.
        let n = at.candidates(ready);
        if n == 1 {
            return Ok(at.candidate(ready, 0));
        }
        Ok(at.candidate(ready, self.rng.below(n as u64) as usize))
    }
}
