//! `Strategy::Pct { depth }`: probabilistic concurrency testing (Burckhardt, Kothari,
//! Musuvathi, Nagarakatte, ASPLOS 2010).
//!
//! Every task gets a random priority at spawn. `depth - 1` change points are drawn
//! uniformly from decisions `1..=k` (`k` is the length estimate: the strategy's own
//! `steps`, else [`Builder::pct_steps`](crate::Builder::pct_steps), else what a sweep
//! learned from its earlier runs). Every decision counts, those between polls and those
//! at scheduling points. At the `i`-th drawn change point the task that would run gets
//! the `i`-th highest of `depth - 1` low priorities (lower than every initial one, so
//! the `i`-th demoted task still runs before the later ones) and the choice is made
//! again. The highest-priority candidate always runs: at a scheduling point the
//! running task goes on unless a ready task now has a higher priority. A bug of depth
//! `d` is then found with probability at least `1 / (n * k^(d-1))` per run.
//!
//! A task that yields (`yield_now`) drops below every other priority, the change
//! points' included (each yield lower than the one before), as shuttle's PCT does: a
//! yield says "let the others run", and without this a task spinning on `yield_now`
//! would starve the task it waits for, a livelock no fair scheduler has. That holds
//! for a task demoted at a change point too: a spinner left above it would spin until
//! the run's step bound, a false alarm. A task that spins without saying so (it wakes
//! itself and returns `Pending`, poll after poll, while others wait) is treated the
//! same once the run sees it spin ([`Scheduler::spinning`]).

use std::collections::BinaryHeap;

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;
use crate::rng::DetRng;

pub(crate) struct PctScheduler {
    rng: DetRng,
    // Invariant: prio[t] is task t's current priority.
    prio: Vec<u64>,
    // Max-heap of `entry(priority, task)`: highest priority first, then lower id; an
    // entry is live iff its task is ready and still has that priority. The running
    // task has no live entry.
    heap: BinaryHeap<u128>,
    // (decision index, new priority), sorted by index, distinct indices.
    change_points: Vec<(u64, u64)>,
    next_change: usize,
    // Invariant: below every initial and every change-point priority, at least 1;
    // decreases with each yield.
    yield_floor: u64,
}

/// Initial priorities are drawn from `[INITIAL_MIN, u64::MAX)`.
const INITIAL_MIN: u64 = 1 << 48;
/// The `i`-th change point gives priority `CHANGE_BASE + depth - i`: below every initial
/// priority, above every yielded task's (which are below `CHANGE_BASE`).
const CHANGE_BASE: u64 = 1 << 40;

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
        let mut change_points: Vec<(u64, u64)> = (1..depth)
            .map(|i| (1 + rng.below(k), CHANGE_BASE + depth - i))
            .collect();
        change_points.sort_by_key(|&(step, _)| step);
        change_points.dedup_by_key(|&mut (step, _)| step);
        PctScheduler {
            rng,
            prio: Vec::new(),
            heap: BinaryHeap::new(),
            change_points,
            next_change: 0,
            yield_floor: CHANGE_BASE,
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
        self.yield_floor = (self.yield_floor - 1).max(1);
        self.prio[task.index()] = self.yield_floor;
    }

    fn spinning(&mut self, task: TaskId) {
        // A busy wait is a yield that does not say so.
        self.yielded(task);
    }

    fn readied(&mut self, task: TaskId) {
        self.heap.push(entry(self.prio[task.index()], task));
    }

    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        loop {
            // The highest live heap entry (a stale one is dropped on the way).
            let top = loop {
                match self.heap.peek() {
                    Some(&e) => {
                        let (p, t) = unpack(e);
                        if ready.contains(t) && self.prio[t.index()] == p {
                            break Some(e);
                        }
                        self.heap.pop();
                    }
                    None => break None,
                }
            };
            let running = at.running.map(|t| entry(self.prio[t.index()], t));
            // The running task has no heap entry: it was popped when chosen.
            let (best, in_heap) = match (top, running) {
                (Some(h), Some(r)) if r > h => (r, false),
                (Some(h), _) => (h, true),
                (None, Some(r)) => (r, false),
                (None, None) => unreachable!("PCT asked to choose among no candidates"),
            };
            let (_, t) = unpack(best);
            if in_heap {
                self.heap.pop();
            }
            match self.change_points.get(self.next_change) {
                Some(&(when, low)) if when <= at.index => {
                    self.next_change += 1;
                    self.prio[t.index()] = low;
                    if in_heap {
                        self.heap.push(entry(low, t));
                    }
                }
                _ => return Ok(t),
            }
        }
    }
}
