//! `Strategy::Pct { depth }`: probabilistic concurrency testing (Burckhardt, Kothari,
//! Musuvathi, Nagarakatte, ASPLOS 2010).
//!
//! Every task gets a random priority at spawn, above `depth`. `depth - 1` change points
//! are drawn uniformly from steps `1..=k` (`k` is the step estimate,
//! [`Builder::pct_steps`](crate::Builder::pct_steps)); at the `i`-th drawn change point
//! the task that would run gets priority `depth - i` (lower than every initial one) and
//! the choice is made again. The highest-priority runnable task always runs. A bug of
//! depth `d` is then found with probability at least `1 / (n * k^(d-1))` per run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Divergence, ReadySet, Scheduler};
use crate::rand::DetRng;
use crate::task::TaskId;

pub(crate) struct PctScheduler {
    rng: DetRng,
    depth: u64,
    // Invariant: prio[t] is task t's current priority.
    prio: Vec<u64>,
    // Max-heap of (priority, lower id first); an entry is live iff its task is ready
    // and still has that priority.
    heap: BinaryHeap<(u64, Reverse<TaskId>)>,
    // (step, new priority), sorted by step, distinct steps.
    change_points: Vec<(u64, u64)>,
    next_change: usize,
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
        }
    }
}

impl Scheduler for PctScheduler {
    fn spawned(&mut self, task: TaskId) {
        let i = task.index();
        if i >= self.prio.len() {
            self.prio.resize(i + 1, 0);
        }
        self.prio[i] = self.depth + self.rng.below(u64::MAX - self.depth);
    }

    fn readied(&mut self, task: TaskId) {
        self.heap.push((self.prio[task.index()], Reverse(task)));
    }

    fn choose(
        &mut self,
        ready: &mut ReadySet,
        step: u64,
        _: Option<TaskId>,
    ) -> Result<TaskId, Divergence> {
        loop {
            let &(p, Reverse(t)) = self.heap.peek().expect("PCT heap holds every ready task");
            if !ready.contains(t) || self.prio[t.index()] != p {
                self.heap.pop();
                continue;
            }
            match self.change_points.get(self.next_change) {
                Some(&(at, low)) if at <= step => {
                    self.next_change += 1;
                    self.heap.pop();
                    self.prio[t.index()] = low;
                    self.heap.push((low, Reverse(t)));
                }
                _ => {
                    self.heap.pop();
                    return Ok(t);
                }
            }
        }
    }
}
