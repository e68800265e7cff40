//! `Strategy::RoundRobin`: FIFO, the task runnable longest runs next (asyncio's order).

use super::{Divergence, ReadySet, Scheduler};
use crate::task::TaskId;

pub(crate) struct RoundRobin;

impl Scheduler for RoundRobin {
    fn choose(
        &mut self,
        ready: &mut ReadySet,
        _: u64,
        _: Option<TaskId>,
    ) -> Result<TaskId, Divergence> {
        Ok(ready.oldest())
    }
}
