//! [`Failure`]: the bugs a run can find, each with the report a person reads.
//!
//! Every report says what happened, which tasks, where in user code, at which step and
//! virtual time, shows the last trace events before it, and ends with the command that
//! reproduces the run.
//!
//! # The failure kinds
//!
//! **Panic**: a task (or main) panicked, e.g. a violated `assert!`. By default a panic
//! in any task fails the run; [`Builder::unhandled_panic`](crate::Builder::unhandled_panic)
//! can deliver it to the `JoinHandle` instead.
//!
//! ```
//! let f = sim::Builder::new().build().block_on(async {
//!     sim::spawn(async { assert_eq!(1 + 1, 3, "arithmetic") }).await.unwrap();
//! }).unwrap_err();
//! assert_eq!(f.kind(), sim::FailureKind::Panic);
//! ```
//!
//! **Deadlock**: nothing can run and no timer is pending while main is unfinished
//! (global), or a cycle of tasks each waiting without a deadline on something the next
//! holds (partial, found when the cycle closes even if a ticker keeps the run alive).
//! The report lists each blocked task, what it waits on, who holds that, and the
//! cycles; [`DeadlockFailure::to_dot`] draws the wait-for graph. A task waiting inside
//! `timeout` waits for its deadline and is never part of a deadlock.
//!
//! ```
//! let f = sim::Builder::new().build().block_on(async {
//!     let (_keep_sender, rx) = futures::channel::oneshot::channel::<()>();
//!     rx.await.ok();
//! }).unwrap_err();
//! assert_eq!(f.kind(), sim::FailureKind::Deadlock);
//! ```
//!
//! **Race**: two accesses to a [`RaceCell`](crate::cell::RaceCell) from different tasks,
//! at least one a write, that nothing orders (see the cell's example).
//!
//! **StepLimit / TimeLimit**: the run exceeded [`Builder::max_steps`](crate::Builder::max_steps)
//! polls (a livelock) or the clock would pass [`Builder::max_time`](crate::Builder::max_time)
//! (a task waiting forever on timers). A run is never allowed to hang.
//!
//! ```
//! let f = sim::Builder::new().max_steps(100).build().block_on(async {
//!     loop { sim::task::yield_now().await } // spins forever
//! }).unwrap_err();
//! assert_eq!(f.kind(), sim::FailureKind::StepLimit);
//! ```
//!
//! **NonDeterminism**: a replayed schedule no longer fits the program, a task was woken
//! from another OS thread, or (with [`Builder::check_determinism`](crate::Builder::check_determinism))
//! the same seed gave two different traces.
//!
//! ```
//! let schedule: sim::Schedule = "v2:0:0.5".parse().unwrap(); // task 5 never exists
//! let f = sim::Builder::new().strategy(sim::Strategy::Replay(schedule)).build()
//!     .block_on(async { sim::task::yield_now().await }).unwrap_err();
//! assert_eq!(f.kind(), sim::FailureKind::NonDeterminism);
//! ```
//!
//! **Leak**: with [`Builder::fail_on_leak`](crate::Builder::fail_on_leak), tasks still
//! alive when main returns (otherwise they are listed in
//! [`Runtime::leaked`](crate::Runtime::leaked) and dropped, as tokio drops them).
//!
//! ```
//! let f = sim::Builder::new().fail_on_leak(true).build().block_on(async {
//!     sim::spawn(std::future::pending::<()>());
//!     sim::task::yield_now().await;
//! }).unwrap_err();
//! assert_eq!(f.kind(), sim::FailureKind::Leak);
//! ```

use std::fmt;
use std::time::Duration;

use crate::ids::TaskId;
use crate::reproduce::Reproduce;
use crate::sched::{Schedule, Strategy};
use crate::trace::timeline::{Ending, Timeline};
use crate::trace::{Marker, TaskInfo, Trace, fmt_time, write_chrome};

/// A task as a report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRef {
    /// Its id.
    pub id: TaskId,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Where it was spawned (`file:line:column`; `block_on` for main).
    pub spawned_at: String,
}

impl TaskRef {
    pub(crate) fn from_info(info: &TaskInfo) -> Self {
        TaskRef {
            id: info.id,
            name: info.name.as_deref().map(str::to_string),
            spawned_at: info.spawned_at.to_string(),
        }
    }
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "`{n}` (task {})", self.id),
            None => write!(f, "task {}", self.id),
        }
    }
}

/// Where and when a run stopped, and how to get it back.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The run's seed.
    pub seed: u64,
    /// The strategy it ran under.
    pub strategy: Strategy,
    /// The step the failure happened at (number of polls so far).
    pub step: u64,
    /// The virtual time of the failure.
    pub time: Duration,
    /// The last trace events before the failure, rendered as trace lines.
    pub recent_events: Vec<String>,
    /// The decisions of the run up to the failure; replaying it reproduces the failure.
    pub schedule: Schedule,
    /// The command that reproduces the run (`Display` renders it).
    pub reproduce: Reproduce,
    /// The run's trace: the events up to the failure, then those of the run's teardown
    /// (tasks dropped, waits cancelled, locks released).
    pub trace: Trace,
    /// How many of `trace`'s events came before the failure (the rest are the
    /// teardown's).
    pub events_at_stop: usize,
    /// Panics raised while the run's tasks (or the main future) were dropped after
    /// the failure or at the end of the run, in order. The failure above came first;
    /// these are reported after it, never instead of it.
    pub drop_panics: Vec<DropPanic>,
}

/// A panic raised by a destructor while a task's future was dropped (after a failure,
/// at the end of a run, or on abort).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropPanic {
    /// The task whose future was being dropped (task 0 is the main future).
    pub task: TaskRef,
    /// The panic message.
    pub message: String,
    /// Where it panicked (`file:line:column`), when known.
    pub location: Option<String>,
}

impl fmt::Display for DropPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} panicked while being dropped: {}",
            self.task, self.message
        )?;
        if let Some(l) = &self.location {
            write!(f, " (at {l})")?;
        }
        Ok(())
    }
}

/// The kind of a [`Failure`], for matching without the details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// [`Failure::Panic`].
    Panic,
    /// [`Failure::Deadlock`].
    Deadlock,
    /// [`Failure::StepLimit`].
    StepLimit,
    /// [`Failure::TimeLimit`].
    TimeLimit,
    /// [`Failure::NonDeterminism`].
    NonDeterminism,
    /// [`Failure::Leak`].
    Leak,
    /// [`Failure::Race`].
    Race,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Panic,
        FailureKind::Deadlock,
        FailureKind::StepLimit,
        FailureKind::TimeLimit,
        FailureKind::NonDeterminism,
        FailureKind::Leak,
        FailureKind::Race,
    ];

    /// The kind's one spelling, in regression files, `corosim`'s output and the
    /// scenarios' expectations: `panic`, `deadlock`, `step-limit`, `time-limit`,
    /// `non-determinism`, `leak`, `race`. [`FromStr`](std::str::FromStr) reads it back.
    ///
    /// ```
    /// use sim::FailureKind;
    /// assert_eq!(FailureKind::StepLimit.as_str(), "step-limit");
    /// assert_eq!("race".parse::<FailureKind>(), Ok(FailureKind::Race));
    /// assert!("data race".parse::<FailureKind>().is_err());
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureKind::Panic => "panic",
            FailureKind::Deadlock => "deadlock",
            FailureKind::StepLimit => "step-limit",
            FailureKind::TimeLimit => "time-limit",
            FailureKind::NonDeterminism => "non-determinism",
            FailureKind::Leak => "leak",
            FailureKind::Race => "race",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure kind string that is none of [`FailureKind::as_str`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailureKindError {
    /// The input (at most 100 characters of it).
    pub value: String,
}

impl fmt::Display for ParseFailureKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid failure kind {:?}: expected one of panic, deadlock, step-limit, \
             time-limit, non-determinism, leak, race",
            self.value
        )
    }
}

impl std::error::Error for ParseFailureKindError {}

impl std::str::FromStr for FailureKind {
    type Err = ParseFailureKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FailureKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseFailureKindError {
                value: s.chars().take(100).collect(),
            })
    }
}

/// A task panicked.
#[derive(Clone, Debug)]
pub struct PanicFailure {
    /// The task (task 0 is the main future).
    pub task: TaskRef,
    /// The panic message.
    pub message: String,
    /// Where it panicked (`file:line:column`), when known.
    pub location: Option<String>,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// Something a blocked task waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Awaited {
    /// What it is: a resource label (`mutex fork-1#r0`) or `the end of task 3`.
    pub what: String,
    /// Where it was created, when known.
    pub created_at: Option<String>,
    /// The tasks holding it (a lock's owner, a semaphore's permit holders, the joined
    /// task); empty when free or not tracked (channels, notifications).
    pub held_by: Vec<TaskRef>,
}

/// A task that cannot proceed, with what it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedTask {
    /// The task.
    pub task: TaskRef,
    /// What it waits for (several inside a `select!` or `join!`; empty if it waits on
    /// something the simulator does not see, e.g. a `futures` channel).
    pub awaits: Vec<Awaited>,
}

impl fmt::Display for BlockedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, spawned at {}", self.task, self.task.spawned_at)?;
        if self.awaits.is_empty() {
            write!(f, "\n      waits on something outside the simulator's view")?;
        }
        for a in &self.awaits {
            write!(f, "\n      waits on {}", a.what)?;
            if let Some(at) = &a.created_at {
                write!(f, " (created at {at})")?;
            }
            if !a.held_by.is_empty() {
                let holders: Vec<String> = a.held_by.iter().map(ToString::to_string).collect();
                write!(f, ", held by {}", holders.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Tasks blocked forever: either nothing can run and no timer is pending while main is
/// unfinished (global), or a cycle of tasks each waiting without a deadline on a
/// resource held by the next (partial: other tasks may still be running).
#[derive(Clone, Debug)]
pub struct DeadlockFailure {
    /// The deadlocked tasks (every blocked task for a global deadlock), in id order.
    pub blocked: Vec<BlockedTask>,
    /// The wait-for cycles: each lists tasks where each waits on something the next
    /// holds (the last waits on the first).
    pub cycles: Vec<Vec<TaskId>>,
    /// Whether other tasks could still run (detected when the cycle closed).
    pub partial: bool,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

impl DeadlockFailure {
    /// The wait-for graph in Graphviz DOT: tasks as boxes, resources as ellipses,
    /// `waits` edges from task to resource, `held by` edges from resource to task,
    /// cycle members in red.
    pub fn to_dot(&self) -> String {
        let in_cycle = |id: TaskId| self.cycles.iter().any(|c| c.contains(&id));
        let quote = |s: &str| s.replace('"', "\\\"");
        let mut out = String::from("digraph deadlock {\n  rankdir=LR;\n");
        for b in &self.blocked {
            let colour = if in_cycle(b.task.id) {
                ", color=red"
            } else {
                ""
            };
            out.push_str(&format!(
                "  t{} [shape=box, label=\"{}\"{colour}];\n",
                b.task.id,
                quote(&b.task.to_string())
            ));
        }
        let mut resources: Vec<&str> = Vec::new();
        for b in &self.blocked {
            for a in &b.awaits {
                let r = match resources.iter().position(|x| *x == a.what) {
                    Some(i) => i,
                    None => {
                        resources.push(&a.what);
                        out.push_str(&format!(
                            "  r{} [shape=ellipse, label=\"{}\"];\n",
                            resources.len() - 1,
                            quote(&a.what)
                        ));
                        resources.len() - 1
                    }
                };
                out.push_str(&format!("  t{} -> r{r} [label=\"waits\"];\n", b.task.id));
                for h in &a.held_by {
                    out.push_str(&format!("  r{r} -> t{} [label=\"held by\"];\n", h.id));
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// One side of a data race.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaceAccess {
    /// The task.
    pub task: TaskRef,
    /// A write (`set`, `with_mut`) or a read (`get`, `with`).
    pub write: bool,
    /// Where in user code (`file:line:column`).
    pub location: String,
    /// The step it happened in.
    pub step: u64,
    /// The virtual time.
    pub time: Duration,
}

impl fmt::Display for RaceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by {} at {} (step {}, {})",
            if self.write { "write" } else { "read" },
            self.task,
            self.location,
            self.step,
            fmt_time(self.time)
        )
    }
}

/// Two accesses to a [`RaceCell`](crate::cell::RaceCell) from different tasks, at least
/// one a write, not ordered by happens-before: on another schedule they could happen in
/// the other order (a lost update, a stale read), even if this run was lucky.
#[derive(Clone, Debug)]
pub struct RaceFailure {
    /// The cell's label.
    pub cell: String,
    /// Where the cell was created.
    pub created_at: Option<String>,
    /// The earlier access.
    pub first: RaceAccess,
    /// The later access, unordered with the first.
    pub second: RaceAccess,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// Tasks were still alive when the main future returned (with
/// [`Builder::fail_on_leak`](crate::Builder::fail_on_leak)).
#[derive(Clone, Debug)]
pub struct LeakFailure {
    /// The leaked tasks with what they were waiting on.
    pub leaked: Vec<BlockedTask>,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// The run took more than [`Builder::max_steps`](crate::Builder::max_steps) polls.
#[derive(Clone, Debug)]
pub struct StepLimitFailure {
    /// The bound that was reached.
    pub max_steps: u64,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// The clock would pass [`Builder::max_time`](crate::Builder::max_time).
#[derive(Clone, Debug)]
pub struct TimeLimitFailure {
    /// The bound.
    pub max_time: Duration,
    /// The deadline of the timer that would have passed it.
    pub next_timer: Duration,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// What made a run [`Failure::NonDeterminism`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NonDeterminismCause {
    /// With [`Builder::check_determinism`](crate::Builder::check_determinism), the same
    /// seed ran twice and the traces differ: reproducing it needs the check on again.
    RerunDiffers,
    /// A replayed schedule no longer fits the program (a task it names is not
    /// runnable, it ran out, or decisions were left over).
    ReplayDiverged,
    /// A task was woken from another OS thread.
    ForeignWake,
    /// A primitive was used by this run while another run (on another thread) owned
    /// it: a `static` shared by tests that run in parallel. Which tests run at the
    /// same time decides it, so a reproduce command may pass alone.
    SharedAcrossRuns,
}

/// The run depended on something outside the simulation.
#[derive(Clone, Debug)]
pub struct NonDeterminismFailure {
    /// What was found, as a type.
    pub cause: NonDeterminismCause,
    /// What diverged, in words.
    pub reason: String,
    /// When, and how to reproduce.
    pub run: RunInfo,
}

/// A bug found by a run. `Display` is the full report.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Failure {
    /// A task panicked (by default a panic in any task fails the run; see
    /// [`Builder::unhandled_panic`](crate::Builder::unhandled_panic)).
    Panic(Box<PanicFailure>),
    /// Every task is blocked and no timer can wake one.
    Deadlock(Box<DeadlockFailure>),
    /// The step bound was reached (a livelock, or a bound set too low).
    StepLimit(Box<StepLimitFailure>),
    /// The virtual-time bound was reached.
    TimeLimit(Box<TimeLimitFailure>),
    /// Replay diverged from its schedule, a task was woken from outside the run, or the
    /// same seed gave two different traces.
    NonDeterminism(Box<NonDeterminismFailure>),
    /// Tasks outlived the main future (only with `Builder::fail_on_leak`).
    Leak(Box<LeakFailure>),
    /// Two unordered accesses to a race-checked cell, at least one a write.
    Race(Box<RaceFailure>),
}

impl Failure {
    /// What must stay the same for another run's failure to count as the same bug
    /// (what shrinking and input minimization keep): the kind, and for a panic its
    /// message and location, for a deadlock or leak the tasks involved, for a race its
    /// cell and both accesses' locations. `None` for a non-determinism failure, which
    /// is about the environment, not the schedule.
    pub fn signature(&self) -> Option<String> {
        match self {
            Failure::Panic(p) => Some(format!("panic|{}|{:?}", p.message, p.location)),
            Failure::Deadlock(d) => {
                let mut blocked: Vec<String> = d
                    .blocked
                    .iter()
                    .map(|t| format!("{}#{}", t.task.name.as_deref().unwrap_or(""), t.task.id))
                    .collect();
                blocked.sort();
                Some(format!("deadlock|{}", blocked.join(",")))
            }
            Failure::StepLimit(_) => Some(FailureKind::StepLimit.as_str().into()),
            Failure::Race(r) => Some(format!(
                "race|{}|{}|{}",
                r.cell, r.first.location, r.second.location
            )),
            Failure::Leak(l) => {
                let mut leaked: Vec<String> = l.leaked.iter().map(|t| t.task.to_string()).collect();
                leaked.sort();
                Some(format!("leak|{}", leaked.join(",")))
            }
            Failure::TimeLimit(_) => Some(FailureKind::TimeLimit.as_str().into()),
            Failure::NonDeterminism(_) => None,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::Panic(_) => FailureKind::Panic,
            Failure::Deadlock(_) => FailureKind::Deadlock,
            Failure::StepLimit(_) => FailureKind::StepLimit,
            Failure::TimeLimit(_) => FailureKind::TimeLimit,
            Failure::NonDeterminism(_) => FailureKind::NonDeterminism,
            Failure::Leak(_) => FailureKind::Leak,
            Failure::Race(_) => FailureKind::Race,
        }
    }

    /// Where and when it happened, and how to reproduce it.
    pub fn run(&self) -> &RunInfo {
        match self {
            Failure::Panic(f) => &f.run,
            Failure::Deadlock(f) => &f.run,
            Failure::StepLimit(f) => &f.run,
            Failure::TimeLimit(f) => &f.run,
            Failure::NonDeterminism(f) => &f.run,
            Failure::Leak(f) => &f.run,
            Failure::Race(f) => &f.run,
        }
    }

    /// Mutable access to the run information (to point the reproduce command
    /// elsewhere).
    pub fn run_mut(&mut self) -> &mut RunInfo {
        match self {
            Failure::Panic(f) => &mut f.run,
            Failure::Deadlock(f) => &mut f.run,
            Failure::StepLimit(f) => &mut f.run,
            Failure::TimeLimit(f) => &mut f.run,
            Failure::NonDeterminism(f) => &mut f.run,
            Failure::Leak(f) => &mut f.run,
            Failure::Race(f) => &mut f.run,
        }
    }

    /// The schedule that reproduces it.
    pub fn schedule(&self) -> &Schedule {
        &self.run().schedule
    }

    fn headline(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panic(p) => {
                writeln!(f, "corosim: {} panicked: {}", p.task, p.message)?;
                if let Some(loc) = &p.location {
                    writeln!(f, "  panicked at {loc}")?;
                }
                writeln!(f, "  {} spawned at {}", p.task, p.task.spawned_at)
            }
            Failure::Deadlock(d) => {
                let scope = if d.partial {
                    "a cycle of tasks waits on each other forever (other tasks may still run)"
                } else {
                    "no task can run and no timer is pending"
                };
                writeln!(
                    f,
                    "corosim: deadlock: {scope}; {} task(s) blocked forever:",
                    d.blocked.len()
                )?;
                for t in &d.blocked {
                    writeln!(f, "  - {t}")?;
                }
                for c in &d.cycles {
                    let name = |id: &TaskId| {
                        d.blocked
                            .iter()
                            .find(|b| b.task.id == *id)
                            .map_or(format!("task {id}"), |b| b.task.to_string())
                    };
                    let mut names: Vec<String> = c.iter().map(name).collect();
                    names.extend(c.first().map(name));
                    writeln!(
                        f,
                        "  cycle (each waits on what the next holds): {}",
                        names.join(" -> ")
                    )?;
                }
                Ok(())
            }
            Failure::Race(r) => {
                writeln!(
                    f,
                    "corosim: data race on {}: two tasks access it without synchronisation",
                    r.cell
                )?;
                if let Some(at) = &r.created_at {
                    writeln!(f, "  created at {at}")?;
                }
                writeln!(f, "  first:  {}", r.first)?;
                writeln!(f, "  second: {}", r.second)?;
                writeln!(
                    f,
                    "  nothing orders them (no lock, channel, join or spawn between the two tasks)"
                )
            }
            Failure::Leak(l) => {
                writeln!(
                    f,
                    "corosim: leak: {} task(s) still alive when the main future returned:",
                    l.leaked.len()
                )?;
                for t in &l.leaked {
                    writeln!(f, "  - {t}")?;
                }
                Ok(())
            }
            Failure::StepLimit(s) => writeln!(
                f,
                "corosim: step limit: the run took {} steps without finishing (a livelock, \
                 or a long run: raise it with Builder::max_steps or SIM_MAX_STEPS)",
                s.max_steps
            ),
            Failure::TimeLimit(t) => writeln!(
                f,
                "corosim: time limit: the next timer is due at {}, past max_time {} (a task \
                 waits forever on timers, or a long run: raise it with Builder::max_time or \
                 SIM_MAX_TIME)",
                fmt_time(t.next_timer),
                fmt_time(t.max_time)
            ),
            Failure::NonDeterminism(n) => writeln!(f, "corosim: non-determinism: {}", n.reason),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.headline(f)?;
        let run = self.run();
        writeln!(
            f,
            "\n  seed {}, strategy {}, step {}, virtual time {}, schedule of {} decisions with {} context switches",
            run.seed,
            run.strategy.env_value(),
            run.step,
            fmt_time(run.time),
            run.schedule.len(),
            run.schedule.context_switches()
        )?;
        for line in crate::net::faults::report_lines(&run.trace) {
            writeln!(f, "  {line}")?;
        }
        if !run.recent_events.is_empty() {
            writeln!(f, "\n  last events:")?;
            for line in &run.recent_events {
                writeln!(f, "    {line}")?;
            }
        }
        if !run.drop_panics.is_empty() {
            writeln!(f, "\n  then, while the run's tasks were dropped:")?;
            for p in &run.drop_panics {
                writeln!(f, "    {p}")?;
            }
        }
        write!(f, "\n  reproduce: {}", run.reproduce)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// Where the run stopped and what the tasks left blocked wait on, for pictures.
    pub(crate) fn ending(&self) -> Ending {
        let run = self.run();
        let blocked = match self {
            Failure::Deadlock(d) => d.blocked.as_slice(),
            Failure::Leak(l) => l.leaked.as_slice(),
            _ => &[],
        };
        Ending {
            events: run.events_at_stop,
            waits: blocked
                .iter()
                .map(|b| {
                    let what: Vec<&str> = b.awaits.iter().map(|a| a.what.as_str()).collect();
                    let what = if what.is_empty() {
                        "something outside the simulator's view".to_string()
                    } else {
                        what.join(" | ")
                    };
                    (b.task.id, what)
                })
                .collect(),
        }
    }

    /// The first line of the report, without the `corosim: ` prefix.
    pub(crate) fn headline_line(&self) -> String {
        let text = self.to_string();
        let line = text.lines().next().unwrap_or_default();
        line.strip_prefix("corosim: ").unwrap_or(line).to_string()
    }

    /// The failing run as Chrome trace-event JSON
    /// ([`Trace::to_chrome_trace`](crate::Trace::to_chrome_trace)), with the failure as
    /// a global instant where the run stopped, the waits of the tasks it left blocked
    /// named as the report names them and running on to the end, and the run's seed,
    /// strategy and failure kind in `otherData`.
    ///
    /// ```
    /// let failure = sim::Builder::new().seed(4).build().block_on(async {
    ///     sim::spawn(async { panic!("boom") }).await.unwrap();
    /// }).unwrap_err();
    /// let json = failure.to_chrome_trace();
    /// assert!(json.contains("\"cat\":\"failure\""));
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        let run = self.run();
        let ending = self.ending();
        let timeline = Timeline::new(&run.trace, Some(&ending));
        let marker = Marker {
            kind: self.kind().as_str().to_string(),
            headline: self.headline_line(),
        };
        write_chrome(
            &run.trace,
            &timeline,
            Some(&marker),
            &[
                ("seed", run.seed.to_string()),
                ("strategy", run.strategy.env_value()),
                ("failure", self.kind().as_str().to_string()),
            ],
        )
    }
}
