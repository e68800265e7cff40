//! The engine's part of simulated hosts: which host each task runs on, which hosts are
//! paused, and the ready tasks of paused hosts set aside until they resume. Everything
//! else about hosts (names, addresses, sockets, crashes) belongs to `sim::net`.
//!
//! A run that declares no host has no `Hosts` (the core holds `None`) and pays nothing:
//! every task is then on host 0, the host of the main future. This module decides
//! nothing about scheduling and records nothing in the trace.

use crate::ids::TaskId;

/// A host's number in its run (0 is the host of the main future).
pub(crate) type HostIndex = u32;

/// Which host each task runs on, and which hosts are paused.
#[derive(Default)]
pub(crate) struct Hosts {
    /// Invariant: `of_task[t]` is the host of task `t`; tasks past the end (spawned
    /// before the first host was declared) are on host 0.
    of_task: Vec<HostIndex>,
    /// Invariant: indexed by host; `true` while the host is paused.
    paused: Vec<bool>,
    /// Tasks of paused hosts that became runnable, in that order (each once).
    set_aside: Vec<TaskId>,
}

impl Hosts {
    /// Makes room for host `host`.
    pub(crate) fn declare(&mut self, host: HostIndex) {
        let n = host as usize + 1;
        if self.paused.len() < n {
            self.paused.resize(n, false);
        }
    }

    /// The host of task `id`.
    #[inline]
    pub(crate) fn of(&self, id: TaskId) -> HostIndex {
        self.of_task.get(id.index()).copied().unwrap_or(0)
    }

    /// Task `child` was spawned by `parent` (`None`: by the runtime), on `host` if
    /// given, else on its parent's host.
    pub(crate) fn spawned(
        &mut self,
        parent: Option<TaskId>,
        child: TaskId,
        host: Option<HostIndex>,
    ) {
        let host = host.unwrap_or_else(|| parent.map_or(0, |p| self.of(p)));
        let i = child.index();
        if self.of_task.len() <= i {
            self.of_task.resize(i + 1, 0);
        }
        self.of_task[i] = host;
    }

    /// Whether task `id` must not run now (its host is paused): it is then set aside.
    #[inline]
    pub(crate) fn set_aside_if_paused(&mut self, id: TaskId) -> bool {
        let host = self.of(id) as usize;
        if !self.paused.get(host).copied().unwrap_or(false) {
            return false;
        }
        if !self.set_aside.contains(&id) {
            self.set_aside.push(id);
        }
        true
    }

    /// Pauses `host`.
    pub(crate) fn pause(&mut self, host: HostIndex) {
        self.declare(host);
        self.paused[host as usize] = true;
    }

    /// Resumes `host`: returns its set-aside tasks, in the order they became ready.
    pub(crate) fn resume(&mut self, host: HostIndex) -> Vec<TaskId> {
        self.declare(host);
        self.paused[host as usize] = false;
        let (back, keep): (Vec<TaskId>, Vec<TaskId>) = std::mem::take(&mut self.set_aside)
            .into_iter()
            .partition(|&t| self.of(t) == host);
        self.set_aside = keep;
        back
    }

    /// Forgets task `id` (it is gone).
    pub(crate) fn forget(&mut self, id: TaskId) {
        self.set_aside.retain(|&t| t != id);
    }

    /// Whether `host` is paused.
    pub(crate) fn is_paused(&self, host: HostIndex) -> bool {
        self.paused.get(host as usize).copied().unwrap_or(false)
    }

    /// The tasks on `host` among `ids`, in id order.
    pub(crate) fn tasks_of(
        &self,
        host: HostIndex,
        ids: impl Iterator<Item = TaskId>,
    ) -> Vec<TaskId> {
        ids.filter(|&t| self.of(t) == host).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_inherit_their_parents_host_and_paused_hosts_set_tasks_aside() {
        let mut h = Hosts::default();
        h.declare(2);
        h.spawned(Some(TaskId(0)), TaskId(1), Some(2));
        h.spawned(Some(TaskId(1)), TaskId(2), None);
        h.spawned(Some(TaskId(0)), TaskId(3), None);
        assert_eq!(
            (h.of(TaskId(1)), h.of(TaskId(2)), h.of(TaskId(3))),
            (2, 2, 0)
        );
        assert_eq!(h.of(TaskId(99)), 0);
        h.pause(2);
        assert!(h.set_aside_if_paused(TaskId(2)));
        assert!(h.set_aside_if_paused(TaskId(1)));
        assert!(h.set_aside_if_paused(TaskId(2)));
        assert!(!h.set_aside_if_paused(TaskId(3)));
        assert_eq!(h.resume(2), vec![TaskId(2), TaskId(1)]);
        assert!(!h.set_aside_if_paused(TaskId(2)));
    }
}
