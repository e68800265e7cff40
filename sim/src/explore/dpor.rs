//! What one execution tells the explorer: its transitions (what each chosen task did
//! from one decision to the next, read off the trace), which of them are dependent,
//! and the races among them (dependent transitions of different tasks that nothing
//! else orders), from which dynamic partial-order reduction (Flanagan and Godefroid,
//! POPL 2005) derives the branches worth exploring.
//!
//! **Dependence.** Two transitions are dependent when they operate on a common
//! resource (a lock, a channel, a queue...), when one spawns or aborts the other's
//! task, or when either is *opaque*: it begins or ends at a point the user placed
//! (`scheduling_point`, or contains a `yield_now`: marks of state the simulator cannot
//! see), or the clock advanced during it. Opaque transitions are dependent with
//! everything, so state shared outside `sim`'s primitives is explored wherever the
//! user marked it; state shared without a mark is invisible to the reduction (as to
//! every model checker: loom needs its own cells for the same reason).

use std::collections::BTreeSet;

use crate::ids::{ResourceId, TaskId};
use crate::sched::explore::Decided;
use crate::trace::{EventKind, Trace};

/// What a transition did, as far as dependence goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    resources: BTreeSet<ResourceId>,
    /// Tasks it spawned or aborted.
    tasks: BTreeSet<TaskId>,
    /// Tasks it made runnable (happens-before edges to their next transition).
    pub(crate) woke: BTreeSet<TaskId>,
    opaque: bool,
}

impl Footprint {
    /// Whether a transition of `task` with this footprint and one of `other_task` with
    /// `other` may not commute.
    pub(crate) fn depends(&self, task: TaskId, other: &Footprint, other_task: TaskId) -> bool {
        self.opaque
            || other.opaque
            || self.tasks.contains(&other_task)
            || other.tasks.contains(&task)
            || self
                .resources
                .intersection(&other.resources)
                .next()
                .is_some()
    }
}

/// One transition of an execution.
#[derive(Clone, Debug)]
pub(crate) struct Transition {
    pub(crate) task: TaskId,
    pub(crate) footprint: Footprint,
}

/// The transitions of an execution: transition `k` is what `decisions[k].chosen` did
/// from decision `k` to decision `k + 1` (or to the end of the run).
pub(crate) fn transitions(decisions: &[Decided], trace: &Trace) -> Vec<Transition> {
    let events: Vec<_> = trace.events().collect();
    decisions
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let next = decisions.get(k + 1);
            let end = next.map_or(events.len(), |n| n.event);
            let mut fp = Footprint {
                opaque: d.user_point || next.is_some_and(|n| n.user_point),
                ..Footprint::default()
            };
            for e in &events[d.event.min(end)..end] {
                match e.kind {
                    EventKind::Resource { resource, .. } if e.task == Some(d.chosen) => {
                        fp.resources.insert(resource);
                    }
                    EventKind::Spawn { child } => {
                        fp.tasks.insert(child);
                    }
                    EventKind::Abort { target } => {
                        fp.tasks.insert(target);
                    }
                    EventKind::Wake { target } => {
                        fp.woke.insert(target);
                    }
                    EventKind::Yield | EventKind::TimerFired => fp.opaque = true,
                    _ => {}
                }
            }
            Transition {
                task: d.chosen,
                footprint: fp,
            }
        })
        .collect()
}

/// A vector clock over tasks: entry `t` counts the transitions of task `t` that
/// happen before (and including) the one it belongs to.
#[derive(Clone, Debug, Default)]
struct Clock(Vec<u32>);

impl Clock {
    fn get(&self, t: TaskId) -> u32 {
        self.0.get(t.index()).copied().unwrap_or(0)
    }

    fn join(&mut self, other: &Clock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }

    fn tick(&mut self, t: TaskId) {
        if self.0.len() <= t.index() {
            self.0.resize(t.index() + 1, 0);
        }
        self.0[t.index()] += 1;
    }
}

/// The races of an execution, as `(i, j)`: transition `j` races with the earlier
/// transition `i` (dependent, different tasks, and nothing else orders `i` before
/// `j`); for each `j`, only the latest such `i`.
pub(crate) fn races(ts: &[Transition]) -> Vec<(usize, usize)> {
    let mut clocks: Vec<Clock> = Vec::with_capacity(ts.len());
    // Per task: the clock of its last transition, and what woke or spawned it since.
    let mut last_of: Vec<Option<Clock>> = Vec::new();
    let mut enabled_by: Vec<Clock> = Vec::new();
    let mut out = Vec::new();
    for (j, t) in ts.iter().enumerate() {
        let ti = t.task.index();
        if last_of.len() <= ti {
            last_of.resize(ti + 1, None);
            enabled_by.resize(ti + 1, Clock::default());
        }
        let mut clock = last_of[ti].clone().unwrap_or_default();
        clock.join(&enabled_by[ti]);
        let dependent: Vec<usize> = (0..j)
            .filter(|&i| {
                let u = &ts[i];
                u.task != t.task && u.footprint.depends(u.task, &t.footprint, t.task)
            })
            .collect();
        // The latest dependent transition not already ordered before `j` (by program
        // order, enabling, or a later dependent transition it happens before).
        let mut reach = clock.clone();
        for &i in dependent.iter().rev() {
            if clocks[i].get(ts[i].task) > reach.get(ts[i].task) {
                out.push((i, j));
                break;
            }
            reach.join(&clocks[i]);
        }
        for &i in &dependent {
            clock.join(&clocks[i]);
        }
        clock.tick(t.task);
        for &w in t.footprint.woke.iter().chain(&t.footprint.tasks) {
            if enabled_by.len() <= w.index() {
                enabled_by.resize(w.index() + 1, Clock::default());
                last_of.resize(w.index() + 1, None);
            }
            enabled_by[w.index()].join(&clock);
        }
        last_of[ti] = Some(clock.clone());
        clocks.push(clock);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(task: u32, resources: &[u32]) -> Transition {
        Transition {
            task: TaskId(task),
            footprint: Footprint {
                resources: resources.iter().map(|&r| ResourceId(r)).collect(),
                ..Footprint::default()
            },
        }
    }

    #[test]
    fn independent_transitions_do_not_race() {
        let ts = [t(1, &[1]), t(2, &[2]), t(1, &[1]), t(2, &[2])];
        assert!(races(&ts).is_empty());
    }

    #[test]
    fn the_latest_unordered_dependent_transition_races() {
        // 1 and 2 both touch r0; 3 touches r0 after 2 did.
        let ts = [t(1, &[0]), t(2, &[0]), t(3, &[0])];
        assert_eq!(races(&ts), vec![(0, 1), (1, 2)]);
    }

    #[test]
    fn program_order_is_not_a_race() {
        let ts = [t(1, &[0]), t(1, &[0])];
        assert!(races(&ts).is_empty());
    }
}
