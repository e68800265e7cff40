//! `Strategy::Pct { depth }`: probabilistic concurrency testing (Burckhardt, Kothari,
//! Musuvathi, Nagarakatte, ASPLOS 2010).
//!
//! Every task gets a random priority at spawn, above `depth`. `depth - 1` change points
//! are drawn uniformly from steps `1..=k` (`k` is the step estimate,
//! [`Builder::pct_steps`](crate::Builder::pct_steps)); at the `i`-th drawn change point
//! the task that would run gets priority `depth - i` (lower than every initial one) and
//! the choice is made again. The highest-priority runnable task always runs. A bug of
//! depth `d` is then found with probability at least `1 / (n * k^(d-1))` per run.
//!
//! A task that yields (`yield_now`) drops below every task that has not (but above the
//! change-point priorities), as shuttle's PCT does: a yield says "let the others run",
//! and without this a task spinning on `yield_now` would starve the task it waits for.

use std::collections::BinaryHeap;

use super::{Divergence, ReadySet, Scheduler};
use crate::rand::DetRng;
use crate::task::TaskId;

pub(crate) struct PctScheduler {
    rng: DetRng,
    depth: u64,
    // Invariant: prio[t] is task t's current priority.
    prio: Vec<u64>,
    // Max-heap of `entry(priority, task)`: highest priority first, then lower id; an
    // entry is live iff its task is ready and still has that priority.
    heap: BinaryHeap<u128>,
    // (step, new priority), sorted by step, distinct steps.
    change_points: Vec<(u64, u64)>,
    next_change: usize,
    // Invariant: below every initial priority, above every change-point priority;
    // decreases with each yield.
    yield_floor: u64,
}

/// Initial priorities are drawn from `[INITIAL_MIN, u64::MAX)`.
const INITIAL_MIN: u64 = 1 << 48;

/// A heap entry ordered as (priority, lower id first), in one integer so the heap
/// compares once per level.
fn entry(prio: u64, task: TaskId) -> u128 {
    (u128::from(prio) << 32) | u128::from(u32::MAX - task.0)
}

fn unpack(entry: u128) -> (u64, TaskId) {
    ((entry >> 32) as u64, TaskId(u32::MAX - entry as u32))
}

impl PctScheduler {
    pub(crate) fn new(mut rng: DetRng, depth: usize, k: u64) -> Self {
        let depth = depth as u64;
        let k = k.max(1);
        let mut change_points: Vec<(u64, u64)> =
            (1..depth).map(|i| (1 + rng.below(k), depth - i)).collect();
        change_points.sort_by_key(|&(step, _)| step);
        change_points.dedup_by_key(|&mut (step, _)| step);
        PctScheduler {
            rng,
            depth,
            prio: Vec::new(),
            heap: BinaryHeap::new(),
            change_points,
            next_change: 0,
            yield_floor: INITIAL_MIN,
        }
    }
}

impl Scheduler for PctScheduler {
    fn spawned(&mut self, task: TaskId) {
        let i = task.index();
        if i >= self.prio.len() {
            self.prio.resize(i + 1, 0);
        }
        self.prio[i] = INITIAL_MIN + self.rng.below(u64::MAX - INITIAL_MIN);
    }

    fn yielded(&mut self, task: TaskId) {
        // The task is running, so it has no live heap entry; `readied` adds one.
        self.yield_floor = (self.yield_floor - 1).max(self.depth);
        self.prio[task.index()] = self.yield_floor;
    }

    fn readied(&mut self, task: TaskId) {
        self.heap.push(entry(self.prio[task.index()], task));
    }

    fn choose(
        &mut self,
        ready: &mut ReadySet,
        step: u64,
        _: Option<TaskId>,
    ) -> Result<TaskId, Divergence> {
        loop {
            let (p, t) = unpack(*self.heap.peek().expect("PCT heap holds every ready task"));
            if !ready.contains(t) || self.prio[t.index()] != p {
                self.heap.pop();
                continue;
            }
            match self.change_points.get(self.next_change) {
                Some(&(at, low)) if at <= step => {
                    self.next_change += 1;
                    self.heap.pop();
                    self.prio[t.index()] = low;
                    self.heap.push(entry(low, t));
                }
                _ => {
                    self.heap.pop();
                    return Ok(t);
                }
            }
        }
    }
}
