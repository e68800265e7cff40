//! The shrinker's decision source: a sparse set of context switches.
//!
//! A switch point reads "after task `from` has been chosen `n` times, run task `to`"
//! (a task is chosen when it is polled, and again at each scheduling point where it
//! goes on).
//! Anchoring points to the preempted task's own progress (not to global step numbers)
//! means removing one point does not shift the meaning of the others. Where no point
//! applies (or its task is not runnable) the [`fallback`](super::fallback) runs: the
//! last task again, else the oldest runnable. Removing points removes context switches,
//! which is how the shrinker minimises them.

use std::collections::BTreeMap;

use super::{Decision, Divergence, ReadySet, Scheduler, fallback};
use crate::ids::TaskId;

/// `(from, polls of from so far, to)`.
pub(crate) type SwitchPoint = (TaskId, u64, TaskId);

pub(crate) struct SwitchScheduler {
    points: BTreeMap<(TaskId, u64), TaskId>,
    // Invariant: polls[t] is how many times this scheduler has chosen t.
    polls: Vec<u64>,
}

impl SwitchScheduler {
    pub(crate) fn new(points: &[SwitchPoint]) -> Self {
        SwitchScheduler {
            points: points
                .iter()
                .map(|&(from, n, to)| ((from, n), to))
                .collect(),
            polls: Vec::new(),
        }
    }
}

impl Scheduler for SwitchScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let planned = at.last.and_then(|l| {
            let n = self.polls.get(l.index()).copied().unwrap_or(0);
            self.points.get(&(l, n)).copied()
        });
        let chosen = match planned {
            Some(t) if at.allows(ready, t) => t,
            _ => fallback(ready, at),
        };
        if chosen.index() >= self.polls.len() {
            self.polls.resize(chosen.index() + 1, 0);
        }
        self.polls[chosen.index()] += 1;
        Ok(chosen)
    }
}

/// The context switches of a schedule as switch points.
pub(crate) fn switch_points(steps: &[TaskId]) -> Vec<SwitchPoint> {
    let mut polls: Vec<u64> = Vec::new();
    let mut points = Vec::new();
    for (i, &t) in steps.iter().enumerate() {
        if i > 0 && steps[i - 1] != t {
            let from = steps[i - 1];
            points.push((from, polls[from.index()], t));
        }
        if t.index() >= polls.len() {
            polls.resize(t.index() + 1, 0);
        }
        polls[t.index()] += 1;
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_anchor_to_the_preempted_task() {
        let t = |i| TaskId(i);
        let steps = [t(0), t(1), t(1), t(2), t(1), t(0)];
        assert_eq!(
            switch_points(&steps),
            vec![
                (t(0), 1, t(1)),
                (t(1), 2, t(2)),
                (t(2), 1, t(1)),
                (t(1), 3, t(0))
            ]
        );
    }
}
