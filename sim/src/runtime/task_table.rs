//! The run's task table: every task's future, state and flags (the hot slot), its name,
//! spawn location and tracing span (the cold slot), its joiner's waker and its panic
//! payload for the `JoinHandle`. Owns the lifecycle of a task (live, then done with an
//! outcome) and what a finished task keeps for its handle; it decides nothing about
//! scheduling and records nothing in the trace (the core does both).

use std::any::Any;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use super::raw::BoxTask;
use super::tasks::Chunked;
use crate::ids::TaskId;
use crate::trace::{EventKind, TaskInfo};

/// How a task ended.
pub(crate) enum Outcome {
    Returned,
    Cancelled,
    /// The payload waits in the table for the JoinHandle.
    Panicked,
    /// Dropped unfinished at the end of the run.
    Dropped,
}

impl Outcome {
    /// The trace event of a task ending this way.
    #[inline]
    pub(super) fn event(&self) -> EventKind {
        match self {
            Outcome::Returned => EventKind::Exit,
            Outcome::Cancelled => EventKind::Cancelled,
            Outcome::Panicked => EventKind::Panicked,
            Outcome::Dropped => EventKind::Dropped,
        }
    }
}

enum TaskState {
    Live,
    Done(Outcome),
}

/// One task's entry in the table: only what a step touches, in 24 bytes, so that the
/// table of a run with 100,000 tasks stays in cache under random scheduling (the rest
/// is in [`TaskInfoSlot`]).
struct TaskSlot {
    // Invariant: `Some` while live and not being polled, and after returning while the
    // output waits for its JoinHandle; `None` otherwise. Always `None` for main.
    future: Option<BoxTask>,
    state: TaskState,
    detached: bool,
    abort: bool,
    /// Invariant: a JoinHandle's waker for this task waits in `join_wakers`. (Derivable,
    /// but spares finishing and detaching a map lookup per task.)
    joined: bool,
    /// Invariant: the task has a tracing span, not yet dropped (in its info slot).
    traced: bool,
    /// Whether the join of this task has had its scheduling point (or waited, and so
    /// has none).
    join_point: bool,
}

impl TaskSlot {
    fn is_live(&self) -> bool {
        matches!(self.state, TaskState::Live)
    }
}

/// What reports and logs need of a task, kept apart from the hot [`TaskSlot`].
struct TaskInfoSlot {
    location: &'static Location<'static>,
    /// The name and the tracing span, for the tasks that have either.
    extra: Option<Box<TaskExtra>>,
}

/// What only some tasks have.
struct TaskExtra {
    name: Option<Arc<str>>,
    /// Entered around each poll; `None` once the task is done.
    span: Option<tracing::Span>,
}

/// What a JoinHandle's poll found in the table.
pub(crate) enum Joined {
    /// Not finished: the joiner's waker is registered; `replaced` is its previous one,
    /// to drop outside the core borrow (a waker's drop may run arbitrary code).
    Pending {
        replaced: Option<Waker>,
    },
    /// The finished cell: take the output from it outside the borrow.
    Output(BoxTask),
    Cancelled,
    Panicked(Box<dyn Any + Send>),
}

/// Work to finish outside the core borrow.
#[must_use]
pub(crate) struct Leftovers {
    /// The task whose cell `drop` is (its output, or its future).
    pub(crate) task: TaskId,
    pub(crate) drop: Option<BoxTask>,
    pub(crate) wake: Option<Waker>,
}

impl Leftovers {
    pub(crate) fn finish(self) {
        if let Some(cell) = self.drop {
            super::context::drop_as(self.task, cell);
        }
        if let Some(w) = self.wake {
            w.wake();
        }
    }
}

/// The task table of one run.
#[derive(Default)]
pub(crate) struct TaskTable {
    /// Invariant: indexed by TaskId; tasks are never removed during a run.
    slots: Chunked<TaskSlot>,
    /// Invariant: indexed by TaskId, like `slots`.
    infos: Chunked<TaskInfoSlot>,
    /// The waker of the JoinHandle awaiting each unfinished task, if any.
    join_wakers: BTreeMap<TaskId, Waker>,
    /// Panic payloads of tasks whose panic goes to their JoinHandle.
    panics: BTreeMap<TaskId, Box<dyn Any + Send>>,
    /// Invariant: the number of live tasks.
    live: usize,
    /// Invariant: the number of finished tasks whose cell waits for their JoinHandle.
    kept: usize,
}

impl TaskTable {
    /// Adds a live task (main has `future == None`); returns its id.
    #[inline]
    pub(super) fn add(
        &mut self,
        future: Option<BoxTask>,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskId {
        let id = TaskId(u32::try_from(self.slots.len()).expect("more than 2^32 tasks in one run"));
        let span = tracing::info_span!("task", id = id.0, name = name.as_deref().unwrap_or(""));
        let span = (!span.is_disabled()).then_some(span);
        let extra = (name.is_some() || span.is_some()).then(|| Box::new(TaskExtra { name, span }));
        self.live += 1;
        self.slots.push(TaskSlot {
            future,
            state: TaskState::Live,
            detached: false,
            abort: false,
            joined: false,
            traced: extra.as_ref().is_some_and(|e| e.span.is_some()),
            join_point: false,
        });
        self.infos.push(TaskInfoSlot { location, extra });
        id
    }

    /// Whether task `id` exists and has not finished.
    #[inline]
    pub(super) fn is_live(&self, id: TaskId) -> bool {
        self.slots.get(id.index()).is_some_and(TaskSlot::is_live)
    }

    /// Takes task `id`'s future out for its turn: (the future, whether to cancel it
    /// instead of polling, its span).
    #[inline]
    pub(super) fn take_turn(
        &mut self,
        id: TaskId,
    ) -> (Option<BoxTask>, bool, Option<tracing::Span>) {
        let slot = &mut self.slots[id.index()];
        let (future, abort, traced) = (slot.future.take(), slot.abort, slot.traced);
        (
            future,
            abort,
            if traced { self.span(id).cloned() } else { None },
        )
    }

    /// Puts task `id`'s future back after a poll; whether the task asked for its own
    /// abort meanwhile.
    #[inline]
    pub(super) fn put_back(&mut self, id: TaskId, future: Option<BoxTask>) -> bool {
        let slot = &mut self.slots[id.index()];
        slot.future = future;
        slot.abort
    }

    /// Marks task `id` done. The returned leftovers (the cell to drop unless a
    /// JoinHandle will take its output, the joiner to wake) are handled outside the
    /// borrow.
    #[inline]
    pub(super) fn finish(
        &mut self,
        id: TaskId,
        outcome: Outcome,
        cell: Option<BoxTask>,
    ) -> Leftovers {
        self.live -= 1;
        let slot = &mut self.slots[id.index()];
        let keep = matches!(outcome, Outcome::Returned) && !slot.detached;
        self.kept += usize::from(keep && cell.is_some());
        slot.state = TaskState::Done(outcome);
        let (traced, joined) = (
            std::mem::take(&mut slot.traced),
            std::mem::take(&mut slot.joined),
        );
        let drop = if keep {
            slot.future = cell;
            None
        } else {
            cell
        };
        if traced {
            if let Some(extra) = &mut self.infos[id.index()].extra {
                extra.span = None;
            }
        }
        Leftovers {
            task: id,
            drop,
            wake: joined.then(|| self.join_wakers.remove(&id)).flatten(),
        }
    }

    /// Keeps the panic of task `id` for its JoinHandle (unless it is detached).
    pub(super) fn keep_panic(&mut self, id: TaskId, payload: Box<dyn Any + Send>) {
        if !self.slots[id.index()].detached {
            self.panics.insert(id, payload);
        }
    }

    /// Whether a join of task `id` completing now has its scheduling point still
    /// ahead: the task is finished and this is the first poll of its join that finds
    /// so (a join that waited has none). Marks it passed.
    #[inline]
    pub(super) fn join_point_due(&mut self, id: TaskId) -> bool {
        let slot = &mut self.slots[id.index()];
        !slot.is_live() && !std::mem::replace(&mut slot.join_point, true)
    }

    /// One poll of task `id`'s JoinHandle with the joiner's `waker`.
    ///
    /// # Panics
    /// When the handle is polled again after it completed.
    #[inline]
    pub(super) fn join(&mut self, id: TaskId, waker: &Waker) -> Joined {
        let slot = &mut self.slots[id.index()];
        match &mut slot.state {
            TaskState::Live => {
                slot.joined = true;
                // A join that waits has no point when it completes later.
                slot.join_point = true;
                let replaced = match self.join_wakers.entry(id) {
                    Entry::Occupied(mut e) if !e.get().will_wake(waker) => {
                        Some(e.insert(waker.clone()))
                    }
                    Entry::Occupied(_) => None,
                    Entry::Vacant(e) => {
                        e.insert(waker.clone());
                        None
                    }
                };
                Joined::Pending { replaced }
            }
            TaskState::Done(Outcome::Returned) => match slot.future.take() {
                Some(cell) => {
                    self.kept -= 1;
                    Joined::Output(cell)
                }
                None => panic!("JoinHandle for task {id} polled after it completed"),
            },
            TaskState::Done(Outcome::Cancelled | Outcome::Dropped) => Joined::Cancelled,
            TaskState::Done(Outcome::Panicked) => match self.panics.remove(&id) {
                Some(payload) => Joined::Panicked(payload),
                None => panic!("JoinHandle for task {id} polled after it completed"),
            },
        }
    }

    /// A JoinHandle was dropped: the task runs on detached; returns its finished cell.
    #[inline]
    pub(super) fn detach(&mut self, id: TaskId) -> Option<BoxTask> {
        let slot = &mut self.slots[id.index()];
        slot.detached = true;
        if std::mem::take(&mut slot.joined) {
            self.join_wakers.remove(&id);
        }
        if matches!(slot.state, TaskState::Done(Outcome::Panicked)) {
            self.panics.remove(&id);
        }
        if slot.is_live() {
            return None;
        }
        let cell = slot.future.take();
        self.kept -= usize::from(cell.is_some());
        cell
    }

    /// Marks live task `id` for cancellation at its next turn; `false` if it is done
    /// or already marked.
    pub(super) fn request_abort(&mut self, id: TaskId) -> bool {
        let slot = &mut self.slots[id.index()];
        if !slot.is_live() || slot.abort {
            return false;
        }
        slot.abort = true;
        true
    }

    /// Whether no task is live and no finished cell waits for its handle (nothing to
    /// drop at the end of the run).
    pub(super) fn is_empty(&self) -> bool {
        self.live == 0 && self.kept == 0
    }

    /// Every task id, in order.
    pub(super) fn ids(&self) -> impl Iterator<Item = TaskId> + use<> {
        (0..self.slots.len() as u32).map(TaskId)
    }

    /// Takes task `id`'s future or kept output out of the table (end of run).
    pub(super) fn take_cell(&mut self, id: TaskId) -> Option<BoxTask> {
        self.slots[id.index()].future.take()
    }

    /// The name of task `id`, if it has one.
    pub(super) fn name(&self, id: TaskId) -> Option<&Arc<str>> {
        self.infos[id.index()].extra.as_ref()?.name.as_ref()
    }

    fn span(&self, id: TaskId) -> Option<&tracing::Span> {
        self.infos[id.index()].extra.as_ref()?.span.as_ref()
    }

    /// Every task's identity, for the trace and reports.
    pub(super) fn infos(&self) -> Vec<TaskInfo> {
        let mut infos = Vec::with_capacity(self.infos.len());
        infos.extend(self.infos.iter().enumerate().map(|(i, s)| TaskInfo {
            id: TaskId(i as u32),
            name: s.extra.as_ref().and_then(|e| e.name.clone()),
            spawned_at: s.location,
        }));
        infos
    }

    /// Live tasks, in id order.
    pub(super) fn live_tasks(&self) -> Vec<TaskId> {
        self.ids().filter(|&t| self.is_live(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_task_slot_stays_small() {
        // The hot table of a run with 100,000 tasks must fit in cache (W4 benchmark).
        assert!(std::mem::size_of::<super::TaskSlot>() <= 24);
    }
}
