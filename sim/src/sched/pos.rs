//! `Strategy::Pos`: partial order sampling (Yuan, Yang and Gu, "Partial Order Aware
//! Concurrency Sampling", CAV 2018), the basic variant.
//!
//! Every task's next event has a random priority; the candidate with the highest
//! priority runs, and once a task has run (it was chosen at a decision) its next event
//! draws a fresh priority. Unlike `Random`, which flips a coin at every decision and so
//! favours schedules that switch all the time, a task keeps winning while its priority
//! stays high: the orderings of events are sampled more evenly. A task that spins
//! ([`Scheduler::spinning`]) has its next event put last, below every drawn priority
//! and every earlier spinner's.

use std::collections::BinaryHeap;

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;
use crate::rng::DetRng;

pub(crate) struct PosScheduler {
    rng: DetRng,
    // Invariant: prio[t] is the priority of task t's next event.
    prio: Vec<u64>,
    // Max-heap of `entry(priority, task)`; an entry is live iff its task is ready and
    // still has that priority. The running task has no live entry.
    heap: BinaryHeap<u128>,
    // Invariant: below every drawn priority; decreases with each spin.
    spin_floor: u64,
}

/// Drawn priorities are at least this; the spinners' are below it.
const DRAWN_MIN: u64 = 1 << 32;

/// A heap entry ordered as (priority, lower id first).
fn entry(prio: u64, task: TaskId) -> u128 {
    (u128::from(prio) << 32) | u128::from(u32::MAX - task.0)
}

fn task_of(entry: u128) -> TaskId {
    TaskId(u32::MAX - entry as u32)
}

impl PosScheduler {
    pub(crate) fn new(rng: DetRng) -> Self {
        PosScheduler {
            rng,
            prio: Vec::new(),
            heap: BinaryHeap::new(),
            spin_floor: DRAWN_MIN,
        }
    }

    /// A fresh priority, above every spinner's (one draw in 2^32 moves up to the band).
    fn draw(&mut self) -> u64 {
        self.rng.next_u64().max(DRAWN_MIN)
    }
}

impl Scheduler for PosScheduler {
    fn spawned(&mut self, task: TaskId) {
        let i = task.index();
        if i >= self.prio.len() {
            self.prio.resize(i + 1, 0);
        }
        self.prio[i] = self.draw();
    }

    fn spinning(&mut self, task: TaskId) {
        // The spinner's next event goes last, below the last spinner's: a spin adds no
        // event of interest, and a task it waits for whose priority happens to be tiny
        // would otherwise wait for a draw above it, which can take longer than the
        // run's step bound (and two spinners must not tie there for good).
        self.spin_floor = self.spin_floor.saturating_sub(1);
        self.prio[task.index()] = self.spin_floor;
    }

    fn readied(&mut self, task: TaskId) {
        self.heap.push(entry(self.prio[task.index()], task));
    }

    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let top = loop {
            match self.heap.peek() {
                Some(&e) => {
                    let t = task_of(e);
                    if ready.contains(t) && entry(self.prio[t.index()], t) == e {
                        break Some(e);
                    }
                    self.heap.pop();
                }
                None => break None,
            }
        };
        let running = at.running.map(|t| entry(self.prio[t.index()], t));
        let chosen = match (top, running) {
            (Some(h), Some(r)) if r > h => task_of(r),
            (Some(h), _) => {
                self.heap.pop();
                task_of(h)
            }
            (None, Some(r)) => task_of(r),
            (None, None) => unreachable!("POS asked to choose among no candidates"),
        };
        // The chosen task's next event gets a fresh priority.
        self.prio[chosen.index()] = self.draw();
        Ok(chosen)
    }
}
