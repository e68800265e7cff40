//! Systematic exploration: every schedule of a program up to a bound, with
//! partial-order reduction, instead of a random sample of them.
//!
//! [`Explore`] runs the body again and again; each run replays a prefix of choices
//! from the search tree, takes a new branch, and goes on without preemption. After each
//! run, dynamic partial-order reduction (`dpor`) finds the races among its
//! transitions and adds the branches that reorder them; branches that only reorder
//! independent transitions are never run, and tasks in a branch's *sleep set* (already
//! explored from an earlier sibling and independent of what ran since) are not branched
//! on again. The search ends when no branch is left (the space is *exhausted*), at the
//! first failure, or at the schedule budget.
//!
//! **Bounds.** A preemption is a decision that runs another task while the task that
//! ran last could go on. With a preemption bound `k`, only schedules with at most `k`
//! preemptions are explored ("is there *any* interleaving with at most 2 preemptions
//! that breaks this?"). Reduction and bounding are combined conservatively, after
//! Coons, Musuvathi and McKinley ("Bounded partial-order reduction", OOPSLA 2013): a
//! branch that reorders a race but would exceed the bound is moved to the latest
//! earlier decision where switching to its task costs no preemption (the task that ran
//! last could not go on), so the bounded search keeps every schedule class within the
//! bound that the reduction would otherwise reach through a preemption-free switch.
//! With the reduction off, the search is plain depth-first over every choice.
//!
//! **Delays first.** A preemption bound alone can spend its whole budget deep in one
//! corner of a large space (depth-first order) while a bug that needs one preemption
//! and one other reordering waits elsewhere. So a search with a preemption bound `k`
//! and no delay bound of its own first runs the cheap *delay-bounded* searches with
//! `d = 0, 1, ..., min(k, 2)` (a delay is any deviation from the default policy, so
//! `d` delays never exceed `d` preemptions: each stage's schedules are within the
//! bound), then the search within `k` preemptions, all out of one schedule budget
//! (iterative bounding, as in CHESS). The stages repeat a few schedules; they find
//! bugs like the reorder benchmark's (1 preemption and 1 delay among ten tasks) in a
//! few hundred schedules instead of past a 20,000-schedule budget.
//!
//! **Time** is part of the state: timers that fire at the same virtual instant wake
//! their tasks together, and which runs first is a decision like any other; distinct
//! deadlines are not branch points (time is deterministic).
//!
//! **What the reduction sees.** Dependence comes from the operations the trace records
//! (see `dpor`): state shared through `sim`'s primitives is reduced precisely; a
//! transition that starts or ends at a `scheduling_point` or contains a `yield_now` is
//! treated as dependent with every other, so state shared through plain `Cell`s is
//! explored wherever the user marked it with one. State shared with no mark at all is
//! invisible to the reduction: turn it off (`reduction(false)`) to explore every
//! interleaving of such code.
//!
//! ```
//! use std::sync::Arc;
//! use sim::sync::Mutex;
//!
//! // The lock-order deadlock needs one preemption: found with a bound of 1.
//! let report = sim::Explore::new().preemption_bound(1).run(|| async {
//!     let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
//!     let (a2, b2) = (a.clone(), b.clone());
//!     let t = sim::spawn(async move {
//!         let _x = a2.lock().await;
//!         let _y = b2.lock().await;
//!     });
//!     let _y = b.lock().await;
//!     let _x = a.lock().await;
//!     drop((_x, _y));
//!     t.await.unwrap();
//! });
//! let failure = report.failure.expect("a deadlock within one preemption");
//! assert_eq!(failure.kind(), sim::FailureKind::Deadlock);
//!
//! // Fixed (one lock order): every schedule within the bound passes.
//! let report = sim::Explore::new().preemption_bound(2).run(|| async {
//!     let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
//!     let (a2, b2) = (a.clone(), b.clone());
//!     let t = sim::spawn(async move {
//!         let _x = a2.lock().await;
//!         let _y = b2.lock().await;
//!     });
//!     let _x = a.lock().await;
//!     let _y = b.lock().await;
//!     drop((_x, _y));
//!     t.await.unwrap();
//! });
//! assert!(report.failure.is_none() && report.exhausted, "{report}");
//! ```

pub(crate) mod dpor;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;

use crate::ids::TaskId;
use crate::sched::explore::{Decided, ExploreBranch, ExploreLog};
use crate::{Builder, Failure};
use dpor::{Footprint, Transition};

/// Default [`Explore::max_schedules`].
pub const DEFAULT_MAX_SCHEDULES: u64 = 100_000;

/// The largest delay bound of the delay-bounded stages that open a preemption-bounded
/// search (see the [module docs](self)).
const MAX_DELAY_STAGE: u32 = 2;

/// A systematic exploration of a program's schedules (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Explore {
    preemption_bound: Option<u32>,
    delay_bound: Option<u32>,
    max_schedules: u64,
    max_steps: u64,
    reduction: bool,
    seed: u64,
    /// The runtime settings of every schedule (bounds, panic policy), if not the
    /// defaults.
    base: Option<Builder>,
}

impl Default for Explore {
    fn default() -> Self {
        Self::new()
    }
}

/// What an exploration found.
#[derive(Debug)]
pub struct ExploreReport {
    /// Schedules run.
    pub schedules: u64,
    /// Whether every schedule within the bound was explored (up to the reduction's
    /// equivalence): `true` means "no schedule within the bound fails".
    pub exhausted: bool,
    /// The first failing schedule's failure; its reproduce command replays it
    /// (`SIM_SCHEDULE=...`).
    pub failure: Option<Failure>,
    /// Branches the bounds cut.
    pub cut_by_bound: u64,
    /// The preemption bound of the search, if any.
    pub preemption_bound: Option<u32>,
    /// The delay bound of the search, if any.
    pub delay_bound: Option<u32>,
    /// Whether partial-order reduction was on.
    pub reduction: bool,
}

impl ExploreReport {
    /// One line: schedules run, the bounds, and how the search ended.
    pub fn summary(&self) -> String {
        let mut bound = self
            .preemption_bound
            .map_or("no preemption bound".to_string(), |k| {
                format!("at most {k} preemption(s)")
            });
        if let Some(d) = self.delay_bound {
            bound.push_str(&format!(", at most {d} delay(s)"));
        }
        let reduction = if self.reduction { "with" } else { "without" };
        let end = match (&self.failure, self.exhausted) {
            (Some(_), _) => "found a failure".to_string(),
            (None, true) => format!(
                "exhausted, no failure ({} branch(es) cut by the bound)",
                self.cut_by_bound
            ),
            (None, false) => "stopped at the schedule budget, not exhausted".to_string(),
        };
        format!(
            "explored {} schedule(s) ({bound}, {reduction} partial-order reduction): {end}",
            self.schedules
        )
    }
}

impl fmt::Display for ExploreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())?;
        match &self.failure {
            Some(failure) => write!(f, "\n\n{failure}"),
            None => Ok(()),
        }
    }
}

/// One decision of the current path of the search tree.
struct Node {
    decided: Decided,
    /// Preemptions on the path before this decision.
    preemptions: u32,
    /// Delays (deviations from the default policy) on the path before this decision.
    delays: u32,
    /// Choices already run (or being run) from here.
    done: BTreeSet<TaskId>,
    /// Choices still to run from here.
    backtrack: BTreeSet<TaskId>,
    /// Tasks not to branch on here, with the footprint of their next transition.
    sleep: BTreeMap<TaskId, Footprint>,
    /// The footprint of each choice run from here.
    footprints: BTreeMap<TaskId, Footprint>,
}

impl Explore {
    /// No preemption bound, partial-order reduction on, at most
    /// [`DEFAULT_MAX_SCHEDULES`] schedules, the runtime's default step bound, seed 0
    /// for `sim::rand` draws.
    pub fn new() -> Self {
        Explore {
            preemption_bound: None,
            delay_bound: None,
            max_schedules: DEFAULT_MAX_SCHEDULES,
            max_steps: crate::DEFAULT_MAX_STEPS,
            reduction: true,
            seed: 0,
            base: None,
        }
    }

    /// Runs every schedule on a runtime configured by `base` (its bounds and panic
    /// policy; the exploration sets the seed and the scheduler). Its step bound
    /// replaces [`max_steps`](Self::max_steps).
    pub fn builder(mut self, base: Builder) -> Self {
        self.base = Some(base);
        self
    }

    /// Explore only schedules with at most `k` preemptions.
    pub fn preemption_bound(mut self, k: u32) -> Self {
        self.preemption_bound = Some(k);
        self
    }

    /// Explore only schedules that deviate at most `k` times from the default policy
    /// (no preemption; when the running task cannot go on, the lowest id): a *delay
    /// bound* (Emmi, Qadeer and Rakamarić, POPL 2011). Unlike the preemption bound it
    /// also counts switches after a task blocks or ends, so it keeps the search small
    /// when many tasks take turns on one resource (the bug of the reorder benchmark
    /// needs 1 delay, and 1 preemption, among ten setters).
    pub fn delay_bound(mut self, k: u32) -> Self {
        self.delay_bound = Some(k);
        self
    }

    /// Stop after `n` schedules (the report then says the space was not exhausted).
    ///
    /// # Panics
    /// On `0`.
    pub fn max_schedules(mut self, n: u64) -> Self {
        assert!(
            n >= 1,
            "Explore::max_schedules(0) is invalid: run at least one schedule"
        );
        self.max_schedules = n;
        self
    }

    /// [`Builder::max_steps`] for every schedule.
    ///
    /// # Panics
    /// On `0`.
    pub fn max_steps(mut self, n: u64) -> Self {
        assert!(
            n >= 1,
            "Explore::max_steps(0) is invalid: a run needs at least one step"
        );
        self.max_steps = n;
        self
    }

    /// Turns partial-order reduction off (plain depth-first search over every choice,
    /// within the bound): for comparisons.
    pub fn reduction(mut self, on: bool) -> Self {
        self.reduction = on;
        self
    }

    /// The seed of `sim::rand` draws in every schedule (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Explores the schedules of the program `body` builds.
    #[track_caller]
    pub fn run<F, Fut>(&self, body: F) -> ExploreReport
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        self.run_observed(body, |_| {})
    }

    /// [`run`](Self::run), calling `on_schedule` with the number of schedules run so
    /// far after each one (a progress display).
    #[track_caller]
    pub fn run_observed<F, Fut>(&self, body: F, mut on_schedule: impl FnMut(u64)) -> ExploreReport
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        let base = self
            .base
            .clone()
            .unwrap_or_else(|| Builder::new().max_steps(self.max_steps));
        self.run_on(
            &base,
            std::panic::Location::caller(),
            body,
            &mut on_schedule,
        )
    }

    /// [`run`](Self::run) with every schedule's runtime configured by `base` (bounds,
    /// panic policy; its seed and strategy are the exploration's), reporting
    /// `location` as the main task's: what [`Check::explore`](crate::Check::explore)
    /// calls.
    pub(crate) fn run_on<F, Fut>(
        &self,
        base: &Builder,
        location: &'static std::panic::Location<'static>,
        body: F,
        on_schedule: &mut dyn FnMut(u64),
    ) -> ExploreReport
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        let stages = match (self.preemption_bound, self.delay_bound) {
            (Some(k), None) => k.min(MAX_DELAY_STAGE) + 1,
            _ => 0,
        };
        let mut schedules = 0;
        for d in 0..stages {
            let mut stage = self.clone().delay_bound(d);
            stage.max_schedules = self.max_schedules - schedules;
            let done = schedules;
            let report = stage.run_stage(base, location, &body, &mut |n| on_schedule(done + n));
            schedules += report.schedules;
            if report.failure.is_some() || schedules >= self.max_schedules {
                return ExploreReport {
                    schedules,
                    exhausted: false,
                    delay_bound: None,
                    ..report
                };
            }
        }
        let mut last = self.clone();
        last.max_schedules = self.max_schedules - schedules;
        let done = schedules;
        let report = last.run_stage(base, location, &body, &mut |n| on_schedule(done + n));
        ExploreReport {
            schedules: schedules + report.schedules,
            ..report
        }
    }

    /// One bounded search (see [`run_on`](Self::run_on)).
    fn run_stage<F, Fut>(
        &self,
        base: &Builder,
        location: &'static std::panic::Location<'static>,
        body: &F,
        on_schedule: &mut dyn FnMut(u64),
    ) -> ExploreReport
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        let log: ExploreLog = Default::default();
        let mut path: Vec<Node> = Vec::new();
        let mut prefix: Vec<TaskId> = Vec::new();
        let mut report = ExploreReport {
            schedules: 0,
            exhausted: false,
            failure: None,
            cut_by_bound: 0,
            preemption_bound: self.preemption_bound,
            delay_bound: self.delay_bound,
            reduction: self.reduction,
        };
        loop {
            let branch = ExploreBranch {
                seed: self.seed,
                prefix: prefix.clone(),
                log: log.clone(),
            };
            let mut rt = base.clone().explore(branch).build();
            let result = rt.block_on_at(body(), location);
            report.schedules += 1;
            on_schedule(report.schedules);
            if let Err(failure) = result {
                report.failure = Some(failure);
                return report;
            }
            let decisions = std::mem::take(&mut *log.borrow_mut());
            let ts = dpor::transitions(&decisions, rt.trace());
            self.extend(&mut path, prefix.len(), decisions, &ts);
            if self.reduction {
                for (i, j) in dpor::races(&ts) {
                    self.add_branch(&mut path, i, ts[j].task, &mut report);
                }
            } else {
                for i in 0..path.len() {
                    let all = path[i].decided.candidates.clone();
                    for q in all {
                        self.add_branch(&mut path, i, q, &mut report);
                    }
                }
            }
            match Self::next_branch(&mut path) {
                Some(next) => prefix = next,
                None => {
                    report.exhausted = true;
                    return report;
                }
            }
            if report.schedules >= self.max_schedules {
                return report;
            }
        }
    }

    /// Grows the path with the decisions of the run past the replayed prefix, and
    /// gives every node of the run the footprint of the choice it ran and its sleep
    /// set.
    fn extend(
        &self,
        path: &mut Vec<Node>,
        replayed: usize,
        decisions: Vec<Decided>,
        ts: &[Transition],
    ) {
        path.truncate(replayed);
        let (mut preemptions, mut delays) = path.last().map_or((0, 0), |n| {
            let c = n.decided.chosen;
            (
                n.preemptions + u32::from(n.decided.preempts(c)),
                n.delays + u32::from(n.decided.delays(c)),
            )
        });
        for d in decisions.into_iter().skip(replayed) {
            let chosen = d.chosen;
            let (p, dl) = (preemptions, delays);
            preemptions += u32::from(d.preempts(chosen));
            delays += u32::from(d.delays(chosen));
            path.push(Node {
                decided: d,
                preemptions: p,
                delays: dl,
                done: BTreeSet::from([chosen]),
                backtrack: BTreeSet::new(),
                sleep: BTreeMap::new(),
                footprints: BTreeMap::new(),
            });
        }
        // The branch node's chosen transition, and every node below it, ran in this
        // execution: record their footprints and propagate sleep sets downwards.
        let from = replayed.saturating_sub(1);
        for k in from..path.len() {
            let t = &ts[k];
            path[k].footprints.insert(t.task, t.footprint.clone());
            if !self.reduction || k + 1 >= path.len() {
                continue;
            }
            let node = &path[k];
            let mut sleep: BTreeMap<TaskId, Footprint> = BTreeMap::new();
            // What slept here, and (at the branch node) the siblings run before.
            let siblings = node
                .done
                .iter()
                .filter(|&&s| s != t.task)
                .filter_map(|s| node.footprints.get(s).map(|fp| (*s, fp)));
            for (s, fp) in node.sleep.iter().map(|(s, fp)| (*s, fp)).chain(siblings) {
                if s != t.task && !fp.depends(s, &t.footprint, t.task) {
                    sleep.insert(s, fp.clone());
                }
            }
            path[k + 1].sleep = sleep;
        }
    }

    /// Adds `task` as a branch at decision `i`, or, if that exceeds the preemption
    /// bound, at the latest earlier decision where switching to it is free.
    fn add_branch(&self, path: &mut [Node], i: usize, task: TaskId, report: &mut ExploreReport) {
        let node = &path[i];
        if !node.decided.candidates.contains(&task) {
            // Not runnable there: branch on everyone who was (a conservative source set).
            let all = node.decided.candidates.clone();
            for q in all.into_iter().filter(|q| *q != task) {
                self.add_branch_at(path, i, q, report);
            }
            return;
        }
        self.add_branch_at(path, i, task, report);
    }

    fn add_branch_at(&self, path: &mut [Node], i: usize, task: TaskId, report: &mut ExploreReport) {
        let within = |n: &Node| {
            let preempts = n.preemptions + u32::from(n.decided.preempts(task));
            let delays = n.delays + u32::from(n.decided.delays(task));
            self.preemption_bound.is_none_or(|k| preempts <= k)
                && self.delay_bound.is_none_or(|k| delays <= k)
        };
        let target = if within(&path[i]) {
            Some(i)
        } else {
            // The latest earlier decision where the switch costs no preemption.
            (0..i).rev().find(|&k| {
                let n = &path[k];
                n.decided.incumbent().is_none() && n.decided.candidates.contains(&task) && within(n)
            })
        };
        match target {
            Some(k) => {
                let n = &mut path[k];
                if !n.done.contains(&task) && !n.sleep.contains_key(&task) {
                    n.backtrack.insert(task);
                }
            }
            None => report.cut_by_bound += 1,
        }
    }

    /// The deepest decision with a branch left: the prefix that takes it (marked done).
    fn next_branch(path: &mut [Node]) -> Option<Vec<TaskId>> {
        let k = (0..path.len()).rev().find(|&k| {
            let n = &path[k];
            n.backtrack
                .iter()
                .any(|t| !n.done.contains(t) && !n.sleep.contains_key(t))
        })?;
        let n = &mut path[k];
        let next = *n
            .backtrack
            .iter()
            .find(|t| !n.done.contains(t) && !n.sleep.contains_key(t))
            .expect("found above");
        n.done.insert(next);
        n.backtrack.remove(&next);
        let mut prefix: Vec<TaskId> = path[..k].iter().map(|n| n.decided.chosen).collect();
        prefix.push(next);
        path[k].decided.chosen = next;
        Some(prefix)
    }
}
