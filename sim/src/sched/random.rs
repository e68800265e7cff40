//! `Strategy::Random`: uniform among runnable tasks at every step.

use super::{Divergence, ReadySet, Scheduler};
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
    fn choose(
        &mut self,
        ready: &mut ReadySet,
        _: u64,
        _: Option<TaskId>,
    ) -> Result<TaskId, Divergence> {
        // A forced choice draws nothing, so adding a lone task does not shift the stream.
        let n = ready.len();
        let i = if n == 1 {
            0
        } else {
            self.rng.below(n as u64) as usize
        };
        Ok(ready.get(i))
    }
}
