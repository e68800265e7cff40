//! The set of runnable tasks, with O(1) insert, remove, membership, indexing and
//! FIFO-oldest.

use std::collections::VecDeque;

use crate::ids::TaskId;

const ABSENT: u32 = u32::MAX;

/// Runnable tasks. `get(i)` indexes a dense array whose order is deterministic (it
/// depends only on the history of inserts and removes); `oldest()` is the task that has
/// been in the set longest, tracked only when the set is built with `fifo` (it costs
/// memory and time that Random and PCT never use).
#[derive(Default)]
pub(crate) struct ReadySet {
    fifo: bool,
    dense: Vec<TaskId>,
    // Invariant: pos[t] is t's index in `dense`, or ABSENT.
    pos: Vec<u32>,
    // Invariant: stamp[t] is the arrival stamp of t's current stay in the set.
    stamp: Vec<u64>,
    // FIFO of (task, stamp); an entry is live iff the task is present with that stamp.
    // Invariant: every present task has exactly one live entry.
    arrivals: VecDeque<(TaskId, u64)>,
    next_stamp: u64,
}

impl ReadySet {
    /// An empty set; `fifo` enables [`ReadySet::oldest`].
    pub(crate) fn new(fifo: bool) -> Self {
        ReadySet {
            fifo,
            ..Self::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.dense.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.dense.is_empty()
    }

    pub(crate) fn contains(&self, t: TaskId) -> bool {
        self.pos.get(t.index()).is_some_and(|&p| p != ABSENT)
    }

    pub(crate) fn get(&self, i: usize) -> TaskId {
        self.dense[i]
    }

    /// `t`'s index for [`get`](Self::get), if it is present.
    pub(crate) fn position(&self, t: TaskId) -> Option<usize> {
        self.pos
            .get(t.index())
            .filter(|&&p| p != ABSENT)
            .map(|&p| p as usize)
    }

    /// Adds `t`; returns false if it was already present.
    pub(crate) fn insert(&mut self, t: TaskId) -> bool {
        let i = t.index();
        if i >= self.pos.len() {
            // Doubling, so spawning n tasks resizes log(n) times, not n.
            let len = (i + 1).max(2 * self.pos.len());
            self.pos.resize(len, ABSENT);
            if self.fifo {
                self.stamp.resize(len, 0);
            }
        }
        if self.pos[i] != ABSENT {
            return false;
        }
        self.pos[i] = self.dense.len() as u32;
        self.dense.push(t);
        if self.fifo {
            self.next_stamp += 1;
            self.stamp[i] = self.next_stamp;
            if self.arrivals.len() > 2 * self.dense.len() + 64 {
                self.compact();
            }
            self.arrivals.push_back((t, self.next_stamp));
        }
        true
    }

    pub(crate) fn remove(&mut self, t: TaskId) {
        let p = self.pos[t.index()];
        assert!(p != ABSENT, "ReadySet::remove: task {t} is not ready");
        self.dense.swap_remove(p as usize);
        if let Some(&moved) = self.dense.get(p as usize) {
            self.pos[moved.index()] = p;
        }
        self.pos[t.index()] = ABSENT;
    }

    fn live(&self, (t, s): (TaskId, u64)) -> bool {
        self.contains(t) && self.stamp[t.index()] == s
    }

    /// The task present longest. Panics on an empty set.
    pub(crate) fn oldest(&mut self) -> TaskId {
        assert!(
            self.fifo,
            "sim internal error: ReadySet::oldest without FIFO tracking"
        );
        while let Some(&front) = self.arrivals.front() {
            if self.live(front) {
                return front.0;
            }
            self.arrivals.pop_front();
        }
        panic!("ReadySet::oldest on an empty set")
    }

    /// The present tasks in ascending id order (for reports).
    pub(crate) fn sorted(&self) -> Vec<TaskId> {
        let mut v = self.dense.clone();
        v.sort_unstable();
        v
    }

    fn compact(&mut self) {
        let arrivals = std::mem::take(&mut self.arrivals);
        self.arrivals = arrivals.into_iter().filter(|&e| self.live(e)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_membership() {
        let mut r = ReadySet::new(true);
        for i in [3, 1, 2] {
            assert!(r.insert(TaskId(i)));
        }
        assert!(!r.insert(TaskId(1)));
        assert_eq!(r.oldest(), TaskId(3));
        r.remove(TaskId(3));
        assert_eq!(r.oldest(), TaskId(1));
        r.remove(TaskId(2));
        r.insert(TaskId(3));
        assert_eq!(r.oldest(), TaskId(1));
        r.remove(TaskId(1));
        assert_eq!(r.oldest(), TaskId(3));
        assert_eq!(r.len(), 1);
        assert!(!r.contains(TaskId(2)));
    }

    #[test]
    fn arrivals_stay_bounded_without_oldest() {
        let mut r = ReadySet::new(true);
        for round in 0..10_000u32 {
            r.insert(TaskId(round % 5));
            r.remove(TaskId(round % 5));
        }
        assert!(r.arrivals.len() < 200);
    }
}
