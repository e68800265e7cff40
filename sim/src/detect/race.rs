//! Data-race detection: vector-clock happens-before and per-cell access histories.
//!
//! Happens-before edges come from spawn (parent before child), join (child before the
//! joiner), and every synchronisation operation: release-like operations (unlock, send,
//! notify, set, put, task-done, close, barrier pass) publish the task's clock to the
//! resource; acquire-like ones (lock, receive, get, pass, a served wait) take the
//! resource's clock. The edges are derived from the resource events the primitives
//! record, in one place, so the trace and the detector cannot disagree.
//!
//! A cell remembers its last write and the reads since then, each as (task, epoch);
//! an access by task `t` is ordered after an access by `u` at epoch `e` when
//! `clock(t)[u] >= e`. Two accesses from different tasks, at least one a write, that are
//! not ordered are a race. Detection is enabled for a run when its first
//! [`RaceCell`](crate::cell::RaceCell) is created: accesses happen only after that, and
//! every happens-before path between two of them lies after it too.

use std::panic::Location;
use std::time::Duration;

use super::clock::VectorClock;
use crate::ids::TaskId;
use crate::trace::{ResourceId, ResourceOp};

/// Whether an operation publishes (release) and/or takes (acquire) the resource clock.
fn edges(op: ResourceOp) -> (bool, bool) {
    match op {
        ResourceOp::Release
        | ResourceOp::ReleaseShared
        | ResourceOp::Send
        | ResourceOp::Notify
        | ResourceOp::Set
        | ResourceOp::Put
        | ResourceOp::TaskDone
        | ResourceOp::Close
        | ResourceOp::Transmit
        | ResourceOp::Shutdown => (true, false),
        ResourceOp::Acquire
        | ResourceOp::AcquireShared
        | ResourceOp::Recv
        | ResourceOp::Get
        | ResourceOp::Served
        | ResourceOp::Deliver
        | ResourceOp::Eof => (false, true),
        ResourceOp::Pass => (true, true),
        _ => (false, false),
    }
}

/// One access to a cell.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    pub(crate) task: TaskId,
    epoch: u32,
    pub(crate) write: bool,
    pub(crate) location: &'static Location<'static>,
    pub(crate) step: u64,
    pub(crate) time: Duration,
}

#[derive(Default)]
struct CellState {
    last_write: Option<Access>,
    // Reads since the last write, at most one per task (the latest).
    reads: Vec<Access>,
}

#[derive(Default)]
pub(crate) struct RaceDetector {
    // Invariant: tasks[t] is t's clock, with tasks[t][t] >= 1 once t is known.
    tasks: Vec<VectorClock>,
    resources: Vec<VectorClock>,
    cells: Vec<CellState>,
}

impl RaceDetector {
    fn clock(&mut self, t: TaskId) -> &mut VectorClock {
        let i = t.index();
        if i >= self.tasks.len() {
            self.tasks.resize(i + 1, VectorClock::default());
        }
        let c = &mut self.tasks[i];
        if c.get(i) == 0 {
            c.set(i, 1);
        }
        c
    }

    fn resource(&mut self, r: ResourceId) -> &mut VectorClock {
        let i = r.as_u32() as usize;
        if i >= self.resources.len() {
            self.resources.resize(i + 1, VectorClock::default());
        }
        &mut self.resources[i]
    }

    pub(crate) fn spawned(&mut self, parent: Option<TaskId>, child: TaskId) {
        let Some(p) = parent else { return };
        let inherited = self.clock(p).clone();
        self.clock(p).tick(p.index());
        let c = self.clock(child);
        c.join(&inherited);
    }

    pub(crate) fn joined(&mut self, joiner: TaskId, child: TaskId) {
        let done = self.clock(child).clone();
        self.clock(joiner).join(&done);
    }

    pub(crate) fn resource_op(&mut self, task: TaskId, r: ResourceId, op: ResourceOp) {
        let (release, acquire) = edges(op);
        if acquire {
            let published = self.resource(r).clone();
            self.clock(task).join(&published);
        }
        if release {
            let mine = self.clock(task).clone();
            self.resource(r).join(&mine);
            self.clock(task).tick(task.index());
        }
    }

    /// A new cell; returns its index.
    pub(crate) fn new_cell(&mut self) -> usize {
        self.cells.push(CellState::default());
        self.cells.len() - 1
    }

    fn ordered(&mut self, before: &Access, now: TaskId) -> bool {
        before.task == now || self.clock(now).get(before.task.index()) >= before.epoch
    }

    /// Records an access; returns the earlier access it races with, if any.
    pub(crate) fn access(
        &mut self,
        cell: usize,
        task: TaskId,
        write: bool,
        location: &'static Location<'static>,
        step: u64,
        time: Duration,
    ) -> Option<(Access, Access)> {
        let epoch = self.clock(task).get(task.index());
        let now = Access {
            task,
            epoch,
            write,
            location,
            step,
            time,
        };
        let state = std::mem::take(&mut self.cells[cell]);
        let mut conflict = None;
        if let Some(w) = &state.last_write {
            if !self.ordered(w, task) {
                conflict = Some(w.clone());
            }
        }
        if write && conflict.is_none() {
            for r in &state.reads {
                if !self.ordered(r, task) {
                    conflict = Some(r.clone());
                    break;
                }
            }
        }
        let mut state = state;
        if write {
            state.last_write = Some(now.clone());
            state.reads.clear();
        } else {
            state.reads.retain(|r| r.task != task);
            state.reads.push(now.clone());
        }
        self.cells[cell] = state;
        conflict.map(|c| (c, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: u32) -> TaskId {
        TaskId(i)
    }

    fn access(d: &mut RaceDetector, cell: usize, task: TaskId, write: bool) -> bool {
        d.access(cell, task, write, Location::caller(), 0, Duration::ZERO)
            .is_some()
    }

    #[test]
    fn unordered_writes_race_and_a_lock_orders_them() {
        let mut d = RaceDetector::default();
        let c = d.new_cell();
        d.spawned(Some(t(0)), t(1));
        d.spawned(Some(t(0)), t(2));
        assert!(!access(&mut d, c, t(1), true));
        assert!(access(&mut d, c, t(2), true), "no edge between siblings");

        let mut d = RaceDetector::default();
        let c = d.new_cell();
        let lock = ResourceId(0);
        d.spawned(Some(t(0)), t(1));
        d.spawned(Some(t(0)), t(2));
        d.resource_op(t(1), lock, ResourceOp::Acquire);
        assert!(!access(&mut d, c, t(1), true));
        d.resource_op(t(1), lock, ResourceOp::Release);
        d.resource_op(t(2), lock, ResourceOp::Acquire);
        assert!(!access(&mut d, c, t(2), false));
        assert!(!access(&mut d, c, t(2), true));
    }

    #[test]
    fn an_access_after_the_release_still_races() {
        let mut d = RaceDetector::default();
        let c = d.new_cell();
        let ch = ResourceId(0);
        d.spawned(Some(t(0)), t(1));
        d.resource_op(t(0), ch, ResourceOp::Send);
        assert!(
            !access(&mut d, c, t(0), true),
            "parent writes after spawning and sending"
        );
        d.resource_op(t(1), ch, ResourceOp::Recv);
        assert!(
            access(&mut d, c, t(1), false),
            "the write came after the send"
        );
    }

    #[test]
    fn spawn_and_join_order_accesses() {
        let mut d = RaceDetector::default();
        let c = d.new_cell();
        assert!(!access(&mut d, c, t(0), true));
        d.spawned(Some(t(0)), t(1));
        assert!(
            !access(&mut d, c, t(1), true),
            "parent's write happens before the child"
        );
        d.joined(t(0), t(1));
        assert!(
            !access(&mut d, c, t(0), false),
            "the child's write happens before the join"
        );
    }

    #[test]
    fn concurrent_reads_do_not_race_but_a_write_after_them_does() {
        let mut d = RaceDetector::default();
        let c = d.new_cell();
        d.spawned(Some(t(0)), t(1));
        d.spawned(Some(t(0)), t(2));
        assert!(!access(&mut d, c, t(1), false));
        assert!(!access(&mut d, c, t(2), false));
        assert!(
            access(&mut d, c, t(2), true),
            "task 1's read is unordered with this write"
        );
    }
}
