//! The wait-for graph: which task waits on which resource, and who holds it.
//!
//! A task is *definitely deadlocked* when it is blocked (not runnable), has no pending
//! timer (a timed wait is waiting for its deadline), and every resource it waits on is
//! held only by definitely deadlocked tasks. That is a greatest fixpoint, computed by
//! starting from every candidate and dropping tasks until none can be dropped. A wait
//! on a resource without known holders (a channel, a `Notify`) can be ended by anyone,
//! so such a task is never part of a partial deadlock (the global check still catches
//! a run where nothing at all can move).

use std::collections::BTreeSet;

use crate::ids::TaskId;
use crate::trace::ResourceId;

/// What a task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    /// A synchronisation resource.
    Resource(ResourceId),
    /// Another task's completion (a `JoinHandle`); held by that task.
    Task(TaskId),
}

/// Blocked tasks, each with what it waits on and who holds that.
pub(crate) type BlockedWaits = Vec<(TaskId, Vec<(Target, Vec<TaskId>)>)>;

#[derive(Default)]
pub(crate) struct WaitGraph {
    // Invariant: waits[t] lists what t waits on now, in registration order.
    waits: Vec<Vec<Target>>,
    // Invariant: holders[r] lists the tasks holding resource r (with multiplicity for
    // semaphore permits and read locks), or `None` if r's holders are not tracked.
    holders: Vec<Option<Vec<TaskId>>>,
}

fn slot<T: Default + Clone>(v: &mut Vec<T>, i: usize) -> &mut T {
    if i >= v.len() {
        v.resize(i + 1, T::default());
    }
    &mut v[i]
}

impl WaitGraph {
    pub(crate) fn begin_wait(&mut self, task: TaskId, target: Target) {
        let w = slot(&mut self.waits, task.index());
        if !w.contains(&target) {
            w.push(target);
        }
    }

    pub(crate) fn end_wait(&mut self, task: TaskId, target: Target) {
        if let Some(w) = self.waits.get_mut(task.index()) {
            // Each target is listed at most once (`begin_wait`).
            if let Some(i) = w.iter().position(|t| *t == target) {
                w.remove(i);
            }
        }
    }

    /// Forgets `task`'s join waits (re-registered by the join handles it still polls).
    pub(crate) fn clear_joins(&mut self, task: TaskId) {
        let is_join = |t: &Target| matches!(t, Target::Task(_));
        if let Some(w) = self.waits.get_mut(task.index()) {
            if w.iter().any(is_join) {
                w.retain(|t| !is_join(t));
            }
        }
    }

    /// Whether who holds `target` is known (a task, a lock, a semaphore), so that a
    /// wait on it can be part of a partial deadlock.
    pub(crate) fn holders_known(&self, target: Target) -> bool {
        self.with_holders(target, |h| h.is_some())
    }

    /// Forgets every wait of a finished task.
    pub(crate) fn clear_task(&mut self, task: TaskId) {
        if let Some(w) = self.waits.get_mut(task.index()) {
            w.clear();
        }
    }

    pub(crate) fn waits_of(&self, task: TaskId) -> &[Target] {
        self.waits.get(task.index()).map_or(&[], Vec::as_slice)
    }

    /// `task` now holds `resource` (once more).
    pub(crate) fn hold(&mut self, resource: ResourceId, task: TaskId) {
        slot(&mut self.holders, resource.0 as usize)
            .get_or_insert_with(Vec::new)
            .push(task);
    }

    /// `task` released one hold of `resource`.
    pub(crate) fn release(&mut self, resource: ResourceId, task: TaskId) {
        if let Some(Some(h)) = self.holders.get_mut(resource.0 as usize) {
            if let Some(i) = h.iter().position(|t| *t == task) {
                h.remove(i);
            }
        }
    }

    /// Marks `resource` as one whose holders are tracked (even while nobody holds it).
    pub(crate) fn track(&mut self, resource: ResourceId) {
        slot(&mut self.holders, resource.0 as usize).get_or_insert_with(Vec::new);
    }

    /// The tasks holding `target`, or `None` if unknown.
    pub(crate) fn holders_of(&self, target: Target) -> Option<Vec<TaskId>> {
        match target {
            Target::Task(t) => Some(vec![t]),
            Target::Resource(r) => self.holders.get(r.0 as usize).cloned().flatten(),
        }
    }

    /// Runs `f` on the holders of `target` (`None` if unknown) without copying them.
    fn with_holders<R>(&self, target: Target, f: impl FnOnce(Option<&[TaskId]>) -> R) -> R {
        match target {
            Target::Task(t) => f(Some(std::slice::from_ref(&t))),
            Target::Resource(r) => f(self.holders.get(r.0 as usize).and_then(|h| h.as_deref())),
        }
    }

    /// Quick filter: could a wait of `task` close a deadlock? False when some holder of
    /// one of its waits is not itself waiting (it can still release).
    pub(crate) fn may_close_cycle(&self, task: TaskId) -> bool {
        let waits = self.waits_of(task);
        !waits.is_empty()
            && waits.iter().all(|&w| {
                self.with_holders(w, |h| {
                    h.is_some_and(|h| {
                        !h.is_empty()
                            && h.iter().all(|&o| o == task || !self.waits_of(o).is_empty())
                    })
                })
            })
    }

    /// Every definitely deadlocked task, given which tasks are blocked without a
    /// pending timer (a timed wait is waiting for its deadline, not stuck).
    pub(crate) fn deadlocked(&self, blocked: impl Fn(TaskId) -> bool) -> BTreeSet<TaskId> {
        let mut set: BTreeSet<TaskId> = (0..self.waits.len())
            .map(|i| TaskId(i as u32))
            .filter(|&t| blocked(t) && !self.waits_of(t).is_empty())
            .collect();
        loop {
            let stuck = |t: TaskId, set: &BTreeSet<TaskId>| {
                self.waits_of(t).iter().all(|&w| {
                    self.with_holders(w, |h| {
                        h.is_some_and(|h| !h.is_empty() && h.iter().all(|o| set.contains(o)))
                    })
                })
            };
            let drop: Vec<TaskId> = set.iter().copied().filter(|&t| !stuck(t, &set)).collect();
            if drop.is_empty() {
                return set;
            }
            for t in drop {
                set.remove(&t);
            }
        }
    }

    /// The wait-for cycles among `tasks`: each a list of (task, what it waits on) where
    /// the next task holds what the previous one waits on. Each cycle is reported once,
    /// starting at its smallest task id.
    pub(crate) fn cycles(&self, tasks: &BTreeSet<TaskId>) -> Vec<Vec<(TaskId, Target)>> {
        let mut cycles: Vec<Vec<(TaskId, Target)>> = Vec::new();
        for &start in tasks {
            // Depth-first search for a path back to `start` through larger ids only,
            // so every cycle is found from its smallest member exactly once.
            let mut path: Vec<(TaskId, Target)> = Vec::new();
            self.dfs(start, start, tasks, &mut path, &mut cycles);
        }
        cycles
    }

    fn dfs(
        &self,
        start: TaskId,
        at: TaskId,
        tasks: &BTreeSet<TaskId>,
        path: &mut Vec<(TaskId, Target)>,
        out: &mut Vec<Vec<(TaskId, Target)>>,
    ) {
        if out.len() >= 16 {
            return; // Enough to explain the deadlock.
        }
        for &w in self.waits_of(at) {
            let Some(holders) = self.holders_of(w) else {
                continue;
            };
            let mut seen = BTreeSet::new();
            for h in holders {
                if !seen.insert(h) || !tasks.contains(&h) {
                    continue;
                }
                path.push((at, w));
                if h == start {
                    out.push(path.clone());
                } else if h > start && !path.iter().any(|(t, _)| *t == h) {
                    self.dfs(start, h, tasks, path, out);
                }
                path.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: u32) -> TaskId {
        TaskId(i)
    }
    fn r(i: u32) -> ResourceId {
        ResourceId(i)
    }

    /// Philosophers: task i holds fork i and waits on fork (i+1) % n.
    fn ring(n: u32) -> WaitGraph {
        let mut g = WaitGraph::default();
        for i in 0..n {
            g.hold(r(i), t(i + 1));
        }
        for i in 0..n {
            g.begin_wait(t(i + 1), Target::Resource(r((i + 1) % n)));
        }
        g
    }

    #[test]
    fn a_lock_ring_is_a_deadlock_with_one_cycle() {
        let g = ring(3);
        let dead = g.deadlocked(|_| true);
        assert_eq!(dead, [t(1), t(2), t(3)].into());
        let cycles = g.cycles(&dead);
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].iter().map(|(t, _)| t.0).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(g.may_close_cycle(t(1)));
    }

    #[test]
    fn a_runnable_or_timed_member_breaks_it() {
        let g = ring(3);
        assert!(
            g.deadlocked(|x| x != t(2)).is_empty(),
            "task 2 can still run"
        );
        assert!(
            g.deadlocked(|x| x != t(3)).is_empty(),
            "task 3 waits with a deadline"
        );
        assert_eq!(g.deadlocked(|_| true).len(), 3);
    }

    #[test]
    fn waits_on_untracked_resources_are_never_partial_deadlocks() {
        let mut g = WaitGraph::default();
        g.begin_wait(t(1), Target::Resource(r(9))); // a channel: anyone may send
        assert!(g.deadlocked(|_| true).is_empty());
        assert!(!g.may_close_cycle(t(1)));
    }

    #[test]
    fn a_semaphore_is_stuck_only_if_every_holder_is() {
        let mut g = WaitGraph::default();
        g.track(r(0));
        g.hold(r(0), t(1));
        g.hold(r(0), t(2));
        g.hold(r(1), t(3));
        g.begin_wait(t(3), Target::Resource(r(0)));
        g.begin_wait(t(1), Target::Resource(r(1)));
        assert!(
            g.deadlocked(|_| true).is_empty(),
            "task 2 holds a permit and is free"
        );
        g.begin_wait(t(2), Target::Resource(r(1)));
        assert_eq!(g.deadlocked(|_| true), [t(1), t(2), t(3)].into());
        g.release(r(0), t(2));
        g.end_wait(t(2), Target::Resource(r(1)));
        assert_eq!(g.deadlocked(|_| true), [t(1), t(3)].into());
    }

    #[test]
    fn joins_on_each_other_deadlock() {
        let mut g = WaitGraph::default();
        g.begin_wait(t(1), Target::Task(t(2)));
        g.begin_wait(t(2), Target::Task(t(1)));
        let dead = g.deadlocked(|_| true);
        assert_eq!(g.cycles(&dead).len(), 1);
    }

    #[test]
    fn a_select_over_two_resources_needs_both_stuck() {
        let mut g = ring(2);
        g.track(r(5));
        g.begin_wait(t(1), Target::Resource(r(5))); // nobody holds r5: it is free
        assert!(g.deadlocked(|_| true).is_empty());
    }
}
