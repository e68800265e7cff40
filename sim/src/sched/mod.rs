//! Scheduling decisions: which runnable task runs next.
//!
//! The executor owns the *fact* of who is runnable (the `ReadySet`); a `Scheduler`
//! owns the *decision* of which one runs. Each strategy lives in its own file behind
//! the same three-method trait, and replay is just another scheduler fed a recorded
//! [`Schedule`]. New decision sources (bounded DFS, coverage-guided fuzzing) slot in as
//! further implementations without touching the run loop.
//!
//! Architecture invariant: a scheduler draws randomness only from the `DetRng` it was
//! built with (the scheduler stream of the run's seed) and never inspects task state
//! beyond the ready set, so a decision is a pure function of (seed, history).

mod bytes;
pub(crate) mod explore;
mod pct;
mod pos;
mod prob;
mod random;
mod ready;
mod replay;
mod round_robin;
mod schedule;
mod strategy;
mod sweep;
mod switches;

use crate::ids::TaskId;
use crate::rng::{ByteSource, DetRng, SharedBytes, Stream};

pub(crate) use bytes::tail_arm;
pub(crate) use ready::ReadySet;
pub use schedule::{MAX_DECISIONS, ParseScheduleError, Schedule};
pub use strategy::{
    DEFAULT_KEEP_PERCENT, DEFAULT_PCT_STEPS, MAX_PCT_DEPTH, ParseStrategyError, Strategy,
};
pub use sweep::SweepState;
pub(crate) use switches::{SwitchPoint, switch_points};

/// Why a scheduler could not make a decision: the program diverged from the schedule
/// being replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Divergence {
    /// The schedule says `expected` runs at this step, but it is not runnable.
    NotRunnable {
        expected: TaskId,
        runnable: Vec<TaskId>,
    },
    /// The schedule ended while the program still had runnable tasks.
    Exhausted { recorded: usize },
    /// The program ended with decisions of the schedule left over.
    Unused { recorded: usize, used: usize },
}

/// Where a decision is made, and who may be chosen.
///
/// Decisions happen at two kinds of places: between polls (a *step*: the candidates
/// are the ready tasks) and at a *scheduling point* inside a poll, just before an
/// async operation takes effect (the candidates are the ready tasks plus the task
/// being polled, `running`; choosing it means "go on").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// 1-based count of decisions in this run, this one included (PCT's clock).
    pub(crate) index: u64,
    /// The task chosen at the decision before this one, if any.
    pub(crate) last: Option<TaskId>,
    /// At a scheduling point, the task being polled; `None` between polls.
    pub(crate) running: Option<TaskId>,
    /// How many trace events the run has recorded so far.
    pub(crate) event: usize,
    /// Whether the point is one the user placed (`sim::task::scheduling_point`).
    pub(crate) user_point: bool,
    /// Between polls, whether the task of the last poll is spinning
    /// ([`Scheduler::spinning`]): it ended that many polls in a row runnable while
    /// others waited (a `yield_now` loop, a busy wait).
    pub(crate) last_spun: bool,
    /// Between polls, whether the task of the last poll yielded (`yield_now`).
    pub(crate) last_yielded: bool,
}

impl Decision {
    /// The number of candidates: the ready tasks, plus the running one at a point.
    pub(crate) fn candidates(&self, ready: &ReadySet) -> usize {
        ready.len() + usize::from(self.running.is_some())
    }

    /// Candidate `i` of [`candidates`](Self::candidates): the ready tasks in their
    /// dense order, then the running task.
    pub(crate) fn candidate(&self, ready: &ReadySet, i: usize) -> TaskId {
        match self.running {
            Some(t) if i == ready.len() => t,
            _ => ready.get(i),
        }
    }

    /// Whether `t` may be chosen.
    pub(crate) fn allows(&self, ready: &ReadySet, t: TaskId) -> bool {
        self.running == Some(t) || ready.contains(t)
    }
}

impl Divergence {
    /// Why a replay failed, for a report; `decision` and `step` say where (1-based).
    pub(crate) fn reason(&self, decision: usize, step: u64) -> String {
        match self {
            Divergence::NotRunnable { expected, runnable } => format!(
                "the replayed schedule chooses task {expected} at decision {decision} \
                 (step {step}), but it is not runnable (runnable: {}); the program no \
                 longer behaves as when the schedule was recorded",
                runnable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Divergence::Exhausted { recorded } => format!(
                "the replayed schedule has {recorded} decisions, but the program asks for \
                 decision {decision}; it no longer behaves as when the schedule was recorded"
            ),
            Divergence::Unused { recorded, used } => format!(
                "the program ended after {used} of the replayed schedule's {recorded} \
                 decisions; it no longer behaves as when the schedule was recorded"
            ),
        }
    }
}

/// A source of scheduling decisions.
pub(crate) trait Scheduler {
    /// A task was created; called before it first becomes ready.
    fn spawned(&mut self, _task: TaskId) {}
    /// A task joined the ready set.
    fn readied(&mut self, _task: TaskId) {}
    /// The running task yielded (`yield_now`): a hint that it waits for others.
    fn yielded(&mut self, _task: TaskId) {}
    /// The task about to run has ended its last
    /// [`SPIN_LIMIT`](crate::runtime::decider::SPIN_LIMIT) polls still runnable (it
    /// woke itself) while others waited: a busy wait, which a scheduler that always
    /// picks the same task would turn into a livelock no fair scheduler has.
    fn spinning(&mut self, _task: TaskId) {}
    /// Chooses among the candidates of `at` (never fewer than two at a point, never
    /// none between polls). The executor removes a chosen ready task from `ready`;
    /// choosing `at.running` means the running task goes on.
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence>;
    /// The run ended: whether that diverges from what the scheduler follows (a strict
    /// replay with decisions left over).
    fn finished(&self) -> Option<Divergence> {
        None
    }
}

/// The deterministic default used when a decision source runs dry (the shrinker's
/// candidates, lenient replay): keep running the task that ran last (no preemption:
/// the running task at a point, the last one polled between polls if it is runnable
/// again and not spinning), else the task that has been runnable longest (FIFO). A
/// spinning task gives way, as on tokio's FIFO scheduler: kept running, a task waiting
/// in a `yield_now` loop for another would spin to the step bound.
pub(crate) fn fallback(ready: &mut ReadySet, at: Decision) -> TaskId {
    match (at.running, at.last) {
        (Some(t), _) => t,
        (None, Some(t)) if ready.contains(t) && !at.last_spun => t,
        _ => ready.oldest(),
    }
}

/// A decision source a sweep drives a run with instead of the public strategy: the
/// shrinker's candidate runs, an exploration's branches. Each knows the seed its run's
/// `sim::rand` draws from.
#[derive(Clone, Debug)]
pub(crate) enum Driver {
    /// Replay `schedule`, taking the fallback where it diverges or ends.
    Lenient(Schedule),
    /// Seed `seed` with only these context switches; the fallback everywhere else.
    Switches { seed: u64, points: Vec<SwitchPoint> },
    /// One branch of a systematic exploration.
    Explore(explore::ExploreBranch),
}

impl Driver {
    /// The seed of the run's `sim::rand` draws.
    pub(crate) fn seed(&self) -> u64 {
        match self {
            Driver::Lenient(s) => s.seed(),
            Driver::Switches { seed, .. } => *seed,
            Driver::Explore(b) => b.seed,
        }
    }
}

/// A run's decision source, with what the executor must provide it.
pub(crate) struct Built {
    pub(crate) scheduler: Box<dyn Scheduler>,
    /// Whether the ready set must track arrival order (for `ReadySet::oldest`).
    pub(crate) fifo: bool,
    /// For `Strategy::Bytes`: the input the scheduler draws from, which the run's user
    /// generator must share.
    pub(crate) bytes: Option<SharedBytes>,
}

/// Builds the scheduler for one run of `seed` (a `driver` replaces the strategy). A
/// portfolio is resolved for the seed; PCT without its own run length uses
/// `pct_steps`.
pub(crate) fn build(
    strategy: &Strategy,
    seed: u64,
    pct_steps: u64,
    driver: Option<&Driver>,
) -> Built {
    let fifo = |scheduler: Box<dyn Scheduler>| Built {
        scheduler,
        fifo: true,
        bytes: None,
    };
    match driver {
        Some(Driver::Switches { points, .. }) => {
            return fifo(Box::new(switches::SwitchScheduler::new(points)));
        }
        Some(Driver::Lenient(s)) => {
            return fifo(Box::new(replay::ReplayScheduler::new(
                s.steps().to_vec(),
                true,
            )));
        }
        Some(Driver::Explore(branch)) => {
            return fifo(Box::new(explore::ExploreScheduler::new(branch)));
        }
        None => {}
    }
    let rng = DetRng::new(seed, Stream::Scheduler);
    let random = |scheduler: Box<dyn Scheduler>| Built {
        scheduler,
        fifo: false,
        bytes: None,
    };
    match strategy.for_seed(seed) {
        Strategy::Portfolio => unreachable!("a portfolio resolves to a strategy per seed"),
        Strategy::Random => random(Box::new(random::RandomScheduler::new(rng))),
        Strategy::Pct { depth, steps } => random(Box::new(pct::PctScheduler::new(
            rng,
            depth,
            steps.unwrap_or(pct_steps),
        ))),
        Strategy::Probabilistic { keep_percent } => {
            random(Box::new(prob::ProbScheduler::new(rng, keep_percent)))
        }
        Strategy::Pos => random(Box::new(pos::PosScheduler::new(rng))),
        Strategy::RoundRobin => fifo(Box::new(round_robin::RoundRobin)),
        Strategy::Replay(s) => fifo(Box::new(replay::ReplayScheduler::new(
            s.steps().to_vec(),
            false,
        ))),
        Strategy::Bytes(b) => {
            let shared = ByteSource::shared(b);
            Built {
                bytes: Some(shared.clone()),
                ..fifo(Box::new(bytes::BytesScheduler::new(shared, pct_steps)))
            }
        }
    }
}
