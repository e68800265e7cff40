//! `Strategy::RoundRobin`: FIFO, the task runnable longest runs next (asyncio's order),
//! and at every scheduling point the running task steps aside for it.

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;

pub(crate) struct RoundRobin;

impl Scheduler for RoundRobin {
    fn choose(&mut self, ready: &mut ReadySet, _: Decision) -> Result<TaskId, Divergence> {
        // At a point `ready` is not empty: the running task always steps aside.
        Ok(ready.oldest())
    }
}
