//! `Strategy::Random`: uniform among the candidates of every decision (at a scheduling
//! point, the running task is one of them).

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::rand::DetRng;
use crate::task::TaskId;

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
        let i = if n == 1 {
            0
        } else {
            self.rng.below(n as u64) as usize
        };
        Ok(at.candidate(ready, i))
    }
}
