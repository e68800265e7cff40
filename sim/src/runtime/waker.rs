//! Task wakers: the (run, task) word of [`wakeup`](super::wakeup) behind the vtable of
//! `unsafe_parts`. Building one allocates nothing; cloning, comparing and dropping
//! one is a copy.

use std::task::Waker;

use super::wakeup::{pack, unpack};
use crate::ids::TaskId;

/// The waker of `task` in run `run_id`.
pub(crate) fn waker(run_id: u64, task: TaskId) -> Waker {
    crate::unsafe_parts::word_waker(pack(run_id, task))
}

/// The task `waker` wakes, if it is a task waker of run `run_id`.
pub(crate) fn own_task(waker: &Waker, run_id: u64) -> Option<TaskId> {
    let (run, task) = unpack(crate::unsafe_parts::word_of(waker)?);
    (run == run_id as u32).then_some(task)
}
