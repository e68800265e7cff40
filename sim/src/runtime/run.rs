//! sim's own builder and runtime ([`Builder`], [`Runtime`], re-exported at the crate
//! root as `sim::Builder` and `sim::Runtime`): one seeded run per `block_on`, its
//! configuration and its teardown. tokio's shapes of the same names live in
//! [`crate::runtime`].

use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::context::{self, Shared};
use super::core::Core;
use super::wakeup::RunSync;
use super::{DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME, DEFAULT_PCT_STEPS, Stop, UnhandledPanic};
use super::{executor, panic};
use crate::config::{ConfigError, Settings, parse::valid};
use crate::detect::waits::Target;
use crate::env;
use crate::failure::*;
use crate::ids::TaskId;
use crate::reproduce::{Reproduce, Selection};
use crate::sched::{Schedule, Strategy};
use crate::trace::Trace;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) seed: u64,
    pub(crate) strategy: Strategy,
    pub(crate) max_steps: u64,
    pub(crate) max_time: Duration,
    /// Set by [`Builder::pct_steps`]; a sweep learns an estimate when it is not.
    pub(crate) pct_steps: Option<u64>,
    pub(crate) unhandled_panic: UnhandledPanic,
    /// `Runtime::run` runs the body twice and compares the traces.
    pub(crate) check_determinism: bool,
    /// Stop at a cycle of blocked tasks even while others run.
    pub(crate) detect_partial_deadlocks: bool,
    /// Tasks alive when main returns fail the run.
    pub(crate) fail_on_leak: bool,
    /// A sweep's decision source instead of the strategy (shrinking, exploring).
    pub(crate) driver: Option<crate::sched::Driver>,
    /// Network faults fixed for the run (`Builder::net_faults`), instead of drawn from
    /// the seed by `sim::net::swarm`.
    pub(crate) net_faults: Option<crate::net::faults::Faults>,
    /// BUGGIFY for the run.
    pub(crate) buggify: crate::net::faults::BuggifyConfig,
    /// The runtime's name ([`Builder::name`], tokio's), for [`Handle::name`](super::Handle::name).
    pub(crate) name: Option<std::sync::Arc<str>>,
}

impl Config {
    /// The seed the run uses: a driver or a replayed schedule brings its own.
    pub(crate) fn effective_seed(&self) -> u64 {
        match (&self.driver, &self.strategy) {
            (Some(d), _) => d.seed(),
            (None, Strategy::Replay(s)) => s.seed(),
            (None, _) => self.seed,
        }
    }

    /// The settings beyond seed and strategy that a reproduce command must give again:
    /// fixed network faults, BUGGIFY off, BUGGIFY sites kept off.
    pub(crate) fn reproduce_settings(&self) -> Vec<(crate::config::Key, String)> {
        use crate::config::Key;
        let mut out = Vec::new();
        if let Some(faults) = &self.net_faults {
            out.push((Key::NetFaults, faults.to_string()));
        }
        if !self.buggify.enabled {
            out.push((Key::Buggify, "0".to_string()));
        }
        if !self.buggify.off.is_empty() {
            out.push((Key::BuggifyOff, self.buggify.off.join(",")));
        }
        out
    }
}

/// Configures a [`Runtime`].
///
/// ```
/// use std::time::Duration;
/// let rt = sim::Builder::new()
///     .seed(42)
///     .strategy(sim::Strategy::pct(3))
///     .max_steps(100_000)
///     .max_time(Duration::from_secs(60))
///     .build();
/// assert_eq!(rt.seed(), 42);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    config: Config,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Seed 0, [`Strategy::Portfolio`] (the strategy picked by the seed),
    /// [`DEFAULT_MAX_STEPS`], [`DEFAULT_MAX_TIME`], panics fail the run.
    pub fn new() -> Self {
        Builder {
            config: Config {
                seed: 0,
                strategy: Strategy::Portfolio,
                max_steps: DEFAULT_MAX_STEPS,
                max_time: DEFAULT_MAX_TIME,
                pct_steps: None,
                unhandled_panic: UnhandledPanic::ShutdownRuntime,
                driver: None,
                check_determinism: false,
                detect_partial_deadlocks: true,
                fail_on_leak: false,
                net_faults: None,
                buggify: crate::net::faults::BuggifyConfig::default(),
                name: None,
            },
        }
    }

    /// [`Builder::new`], then every `SIM_` variable that is set (see [`crate::env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new().settings(&env::settings()?))
    }

    /// Applies the run settings that are given (seed, strategy, schedule, bounds,
    /// PCT's run length, the determinism check, the panic policy, the network's faults,
    /// BUGGIFY on or off and the sites kept off); the sweep's own
    /// (`seeds`, `start_seed`, ...) are [`Check`](crate::Check)'s. A schedule wins over
    /// a strategy.
    ///
    /// ```
    /// use sim::config::{Key, Settings, Source};
    /// let mut s = Settings::default();
    /// s.set(Key::Seed, Source::Flag, "0x2a").unwrap();
    /// assert_eq!(sim::Builder::new().settings(&s).build().seed(), 42);
    /// ```
    pub fn settings(mut self, s: &Settings) -> Self {
        if let Some(seed) = s.seed {
            self = self.seed(seed);
        }
        if let Some(strategy) = &s.strategy {
            self = self.strategy(strategy.clone());
        }
        if let Some(schedule) = &s.schedule {
            self = self.strategy(Strategy::Replay(schedule.clone()));
        }
        if let Some(on) = s.check_determinism {
            self = self.check_determinism(on);
        }
        if let Some(n) = s.max_steps {
            self = self.max_steps(n);
        }
        if let Some(d) = s.max_time {
            self = self.max_time(d);
        }
        if let Some(k) = s.pct_steps {
            self = self.pct_steps(k);
        }
        if let Some(policy) = s.unhandled_panic {
            self = self.unhandled_panic(policy);
        }
        if let Some(faults) = s.net_faults {
            self = self.net_faults(faults);
        }
        if let Some(on) = s.buggify {
            self = self.buggify(on);
        }
        for site in s.buggify_off.iter().flatten() {
            self = self.buggify_off(site);
        }
        self
    }

    /// The seed: with the code, it decides the whole run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// How the next task is chosen (default: [`Strategy::Portfolio`]).
    ///
    /// # Panics
    /// On a `Strategy::Pct` depth outside `1..=`[`MAX_PCT_DEPTH`](crate::sched::MAX_PCT_DEPTH)
    /// or with `steps: Some(0)`, and on a `Strategy::Probabilistic` chance above 100.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        match strategy {
            Strategy::Pct { depth, steps } => {
                assert!(
                    (1..=crate::sched::MAX_PCT_DEPTH).contains(&depth),
                    "Strategy::Pct {{ depth: {depth} }} is invalid: the depth must be from 1 to {}",
                    crate::sched::MAX_PCT_DEPTH
                );
                assert!(
                    steps != Some(0),
                    "Strategy::Pct {{ steps: Some(0) }} is invalid: a run has at least one decision"
                );
            }
            Strategy::Probabilistic { keep_percent } => assert!(
                keep_percent <= 100,
                "Strategy::Probabilistic {{ keep_percent: {keep_percent} }} is invalid: a \
                 percentage is at most 100"
            ),
            _ => {}
        }
        self.config.strategy = strategy;
        self
    }

    /// The most polls a run may take; reaching it is [`Failure::StepLimit`].
    ///
    /// # Panics
    /// On `0`.
    pub fn max_steps(mut self, max_steps: u64) -> Self {
        self.config.max_steps = valid::max_steps("Builder::max_steps", max_steps);
        self
    }

    /// The furthest the virtual clock may go; a timer beyond it is
    /// [`Failure::TimeLimit`].
    ///
    /// # Panics
    /// On zero (every run with a timer would fail).
    pub fn max_time(mut self, max_time: Duration) -> Self {
        self.config.max_time = valid::max_time("Builder::max_time", max_time);
        self
    }

    /// Names the runtime (mirrors tokio's `runtime::Builder::name`): what
    /// [`Handle::name`](super::Handle::name) returns inside its runs. It changes nothing
    /// else, and a seed replays the same with any name.
    ///
    /// ```
    /// let mut rt = sim::Builder::new().name("bank").build();
    /// rt.block_on(async {
    ///     assert_eq!(sim::runtime::Handle::current().name(), Some("bank"));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    /// If `name` is empty or only whitespace (tokio panics too).
    #[track_caller]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(runtime_name("Builder::name", name.into()));
        self
    }

    /// PCT's estimate of a run's length in decisions: change points are drawn from
    /// decisions `1..=k` (default [`DEFAULT_PCT_STEPS`]; a sweep learns it from its
    /// earlier runs unless this is set). A `Strategy::Pct` with `steps` of its own
    /// uses those.
    ///
    /// # Panics
    /// On `0`.
    pub fn pct_steps(mut self, k: u64) -> Self {
        self.config.pct_steps = Some(valid::pct_steps("Builder::pct_steps", k));
        self
    }

    /// Makes [`Runtime::run`] (and so [`Check`](crate::Check) and `#[sim::test]`) run
    /// every seed twice and compare the traces event by event; a difference is
    /// [`Failure::NonDeterminism`] naming the first differing step and both events.
    /// `SIM_CHECK_DETERMINISM=1` turns it on from the environment.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// static RUNS: AtomicU64 = AtomicU64::new(0);
    /// let mut rt = sim::Builder::new().check_determinism(true).build();
    /// let failure = rt.run(|| async {
    ///     // Reads state from outside the simulation: the second run differs.
    ///     if RUNS.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
    ///         sim::task::yield_now().await;
    ///     }
    /// }).unwrap_err();
    /// assert_eq!(failure.kind(), sim::FailureKind::NonDeterminism);
    /// ```
    pub fn check_determinism(mut self, on: bool) -> Self {
        self.config.check_determinism = on;
        self
    }

    /// Whether a cycle of tasks each waiting (without a deadline) on a resource held by
    /// the next fails the run as soon as it closes, even while other tasks (a ticker, a
    /// heartbeat) keep the run alive. On by default.
    pub fn detect_partial_deadlocks(mut self, on: bool) -> Self {
        self.config.detect_partial_deadlocks = on;
        self
    }

    /// Whether tasks still alive when the main future returns fail the run with
    /// [`Failure::Leak`] (default: they are dropped and listed in
    /// [`Runtime::leaked`]).
    pub fn fail_on_leak(mut self, on: bool) -> Self {
        self.config.fail_on_leak = on;
        self
    }

    /// Fixes the network faults of the run's simulated network (every link between two
    /// hosts gets them from the start, and [`sim::net::swarm`](crate::net::swarm) uses
    /// them instead of drawing its own from the seed). A failure's report prints the
    /// faults a swarm run drew, in the form [`Faults`](crate::net::Faults) parses, so
    /// this restores them.
    ///
    /// ```
    /// let faults: sim::net::Faults = "latency=1ms..5ms,loss=0.1,dup=0,reorder=0.2".parse().unwrap();
    /// let rt = sim::Builder::new().net_faults(faults).build();
    /// # drop(rt);
    /// ```
    pub fn net_faults(mut self, faults: crate::net::faults::Faults) -> Self {
        self.config.net_faults = Some(faults);
        self
    }

    /// Whether [`buggify!`](crate::buggify!) sites may fire in the run's code (default:
    /// on). Off, every site is `false` and draws nothing.
    pub fn buggify(mut self, on: bool) -> Self {
        self.config.buggify.enabled = on;
        self
    }

    /// Keeps the BUGGIFY site at `site` (`file:line:column`, as reports print it) from
    /// firing in the run: to check whether a failure needs it (the way a shrinker drops
    /// a context switch).
    pub fn buggify_off(mut self, site: &str) -> Self {
        self.config.buggify.off.push(site.to_string());
        self
    }

    /// What a panic in a spawned task does (default: fail the run).
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Self {
        self.config.unhandled_panic = policy;
        self
    }

    /// Replays `schedule`, taking the deterministic fallback where the program no longer
    /// follows it (the shrinker's candidate runs).
    pub(crate) fn lenient_replay(mut self, schedule: Schedule) -> Self {
        self.config.driver = Some(crate::sched::Driver::Lenient(schedule));
        self
    }

    /// Runs seed `seed` with only these context switches, the no-preemption fallback
    /// elsewhere (the shrinker's candidate runs).
    pub(crate) fn switch_replay(
        mut self,
        seed: u64,
        points: Vec<crate::sched::SwitchPoint>,
    ) -> Self {
        self.config.driver = Some(crate::sched::Driver::Switches { seed, points });
        self
    }

    /// Runs one branch of a systematic exploration.
    pub(crate) fn explore(mut self, branch: crate::sched::explore::ExploreBranch) -> Self {
        self.config.driver = Some(crate::sched::Driver::Explore(branch));
        self
    }

    /// The runtime. A portfolio resolves here to the strategy of the seed, and PCT
    /// without a run length of its own gets the estimate, so
    /// [`Runtime::strategy`] (and every report) names exactly what runs.
    pub fn build(mut self) -> Runtime {
        let c = &mut self.config;
        c.strategy = c
            .strategy
            .for_seed(c.seed)
            .with_pct_steps(c.pct_steps.unwrap_or(DEFAULT_PCT_STEPS));
        Runtime {
            config: self.config,
            trace: Trace::default(),
            schedule: Schedule::default(),
            leaked: Vec::new(),
            events_at_stop: 0,
            replay_input: None,
            input_choices: Vec::new(),
            foreign_wake: false,
        }
    }
}

/// A deterministic, single-threaded runtime with a virtual clock.
///
/// Each [`block_on`](Runtime::block_on) is a fresh run from the configured seed: same
/// seed and code, same schedule, same trace, same result.
pub struct Runtime {
    config: Config,
    trace: Trace,
    schedule: Schedule,
    leaked: Vec<BlockedTask>,
    /// Events recorded before the last run's teardown (reports show the tail of those).
    events_at_stop: usize,
    /// The input that replays the last run, under `Strategy::Bytes`.
    replay_input: Option<Vec<u8>>,
    /// Under `Strategy::Bytes`, what the first bytes of the last run's input decided.
    input_choices: Vec<crate::rng::Choice>,
    /// Whether a task of the last run was woken from another OS thread.
    foreign_wake: bool,
}

static NEXT_RUN_ID: AtomicU64 = AtomicU64::new(1);

impl Runtime {
    /// The seed of the runs (for a replay, the schedule's seed).
    pub fn seed(&self) -> u64 {
        self.config.effective_seed()
    }

    /// The strategy of the runs: for a portfolio, the one the seed picked; for PCT,
    /// with the run length it uses.
    pub fn strategy(&self) -> &Strategy {
        &self.config.strategy
    }

    /// The trace of the last run.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The scheduling decisions of the last run.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The interleaving coverage of the last run (computed from its trace), for
    /// coverage-guided fuzzers; see [`Coverage`](crate::coverage::Coverage).
    pub fn coverage(&self) -> crate::coverage::Coverage {
        crate::coverage::Coverage::of(&self.trace)
    }

    /// Under [`Strategy::Bytes`], the input that replays the last run decision for
    /// decision: the bytes it took (decisions and `sim::rand` draws; the rest of the
    /// input changed nothing), then the decisions it made past the end of the input,
    /// written as the bytes that make them. `None` under other strategies.
    pub fn replay_input(&self) -> Option<&[u8]> {
        self.replay_input.as_deref()
    }

    /// Under [`Strategy::Bytes`], what the bytes at the start of the last run's input
    /// (its first 64) decided, in the order the run took them: each decision or draw
    /// with its offset, its width, the option it picked and how many there were (see
    /// [`Choice`](crate::fuzz::Choice)). Empty under other strategies. A fuzzer learns
    /// from it which options the first decisions of a run have, to try the ones it has
    /// not tried yet.
    pub fn input_choices(&self) -> &[crate::fuzz::Choice] {
        &self.input_choices
    }

    /// Runs `future` as the main task until it returns, then drops every task still
    /// alive (tokio semantics). Returns its output, or the [`Failure`] that ended the
    /// run.
    ///
    /// # Panics
    /// When called from inside a simulated run.
    #[track_caller]
    pub fn block_on<F: Future>(&mut self, future: F) -> Result<F::Output, Failure> {
        self.block_on_at(future, Location::caller())
    }

    /// Runs the future `body()` builds, like [`block_on`](Runtime::block_on); with
    /// [`Builder::check_determinism`] it runs it twice from the same seed and fails with
    /// [`Failure::NonDeterminism`] if the two traces differ.
    #[track_caller]
    pub fn run<F, Fut>(&mut self, body: F) -> Result<Fut::Output, Failure>
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        self.run_at(body, Location::caller())
    }

    pub(crate) fn run_at<F, Fut>(
        &mut self,
        body: F,
        location: &'static Location<'static>,
    ) -> Result<Fut::Output, Failure>
    where
        F: Fn() -> Fut,
        Fut: Future,
    {
        let first = self.block_on_at(body(), location);
        if !self.config.check_determinism {
            return first;
        }
        let first_trace = std::mem::take(&mut self.trace);
        let second = self.block_on_at(body(), location);
        match crate::trace::first_difference(&first_trace, &self.trace) {
            None => second,
            Some(d) => Err(self.failure(Stop::RerunDiffers { reason: d.reason }, d.step, d.time)),
        }
    }

    /// [`block_on`](Runtime::block_on) with the location to report for the main task.
    pub(crate) fn block_on_at<F: Future>(
        &mut self,
        future: F,
        location: &'static Location<'static>,
    ) -> Result<F::Output, Failure> {
        panic::install_hook();
        let run_id = NEXT_RUN_ID.fetch_add(1, Ordering::Relaxed);
        let woken = Rc::new(std::cell::RefCell::new(Vec::new()));
        let shared = Rc::new(Shared {
            run_id,
            core: std::cell::RefCell::new(Core::new(
                self.config.clone(),
                RunSync::new(run_id),
                woken.clone(),
            )),
            woken,
        });
        let guard = context::enter(shared.clone());
        shared
            .core
            .borrow_mut()
            .spawn(None, Some("main".into()), location);
        let result =
            {
                let mut main = pin!(Some(future));
                let result = executor::run(&shared, main.as_mut().as_pin_mut().expect("set"))
                    .and_then(|out| match shared.core.borrow().replay_left_over() {
                        Some(stop) => Err(stop),
                        None => Ok(out),
                    });
                // Dropped inside the run (its destructors may use primitives), first.
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| main.set(None))) {
                    shared
                        .core
                        .borrow_mut()
                        .drop_panicked(TaskId::MAIN, &*payload);
                }
                result
            };
        let (step, time, leaked, leak_notes) = {
            let core = shared.core.borrow();
            let leaked = if result.is_ok() {
                core.blocked_waits()
            } else {
                Vec::new()
            };
            let leak_notes = core.wait_notes(&leaked);
            self.events_at_stop = core.events();
            self.foreign_wake = core.sync.was_woken_from_elsewhere();
            (core.step, core.now(), leaked, leak_notes)
        };
        teardown(&shared);
        drop(guard);
        let finished = Rc::into_inner(shared)
            .expect("sim internal error: the run's state outlived the run")
            .core
            .into_inner()
            .into_finished();
        let (bytes, len) = finished.trace;
        self.trace = Trace::new(bytes, len, finished.tasks, finished.resources)
            .with_task_hosts(finished.task_hosts);
        self.schedule = finished.schedule;
        self.replay_input = finished.replay_input;
        self.input_choices = finished.input_choices;
        let drop_panics = finished.drop_panics;
        self.leaked = leaked
            .into_iter()
            .map(|(t, waits)| self.blocked_task(t, waits, &leak_notes))
            .collect();
        let drop_panics: Vec<DropPanic> = drop_panics
            .into_iter()
            .map(|(t, message, location)| DropPanic {
                task: TaskRef::from_info(&self.trace.tasks()[t.index()]),
                message,
                location,
            })
            .collect();
        let with_drops = |mut f: Failure| {
            f.run_mut().drop_panics = drop_panics.clone();
            f
        };
        let out = match result {
            Err(stop) => return Err(with_drops(self.failure(stop, step, time))),
            Ok(out) => out,
        };
        if let Some(first) = drop_panics.first() {
            // Nothing failed before: the first destructor's panic is the failure.
            let stop = Stop::Panic {
                task: first.task.id,
                message: format!("while being dropped: {}", first.message),
                location: first.location.clone(),
            };
            let mut f = with_drops(self.failure(stop, step, time));
            f.run_mut().drop_panics.remove(0);
            return Err(f);
        }
        if self.config.fail_on_leak && !self.leaked.is_empty() {
            return Err(self.failure(Stop::Leak, step, time));
        }
        Ok(out)
    }

    /// The tasks still alive when the last run's main future returned, with what they
    /// were waiting on (they were dropped then; see [`Builder::fail_on_leak`]).
    pub fn leaked(&self) -> &[BlockedTask] {
        &self.leaked
    }

    /// A blocked task as reports show it; `notes` add to the label of a resource what
    /// the run's extensions know about it (a socket's peer and link).
    fn blocked_task(
        &self,
        t: TaskId,
        waits: Vec<(Target, Vec<TaskId>)>,
        notes: &[(crate::ids::ResourceId, String)],
    ) -> BlockedTask {
        let task = |id: TaskId| TaskRef::from_info(&self.trace.tasks()[id.index()]);
        let awaits = waits
            .into_iter()
            .map(|(target, holders)| {
                let (what, created_at) = match target {
                    Target::Resource(r) => {
                        let (mut what, at) = match self.trace.resources().get(r.as_u32() as usize) {
                            Some(info) => (info.label(), Some(info.created_at.to_string())),
                            None => (format!("resource {r}"), None),
                        };
                        if let Some((_, note)) = notes.iter().find(|(id, _)| *id == r) {
                            what = format!("{what}: {note}");
                        }
                        (what, at)
                    }
                    Target::Task(x) => {
                        (format!("the end of {}", task(x)), Some(task(x).spawned_at))
                    }
                };
                Awaited {
                    what,
                    created_at,
                    held_by: holders.into_iter().map(task).collect(),
                }
            })
            .collect();
        BlockedTask {
            task: task(t),
            awaits,
        }
    }

    /// The strategy a report names: the configured one, or for a run a sweep drove
    /// (shrinking, exploring), the replay of the schedule it made.
    fn reported_strategy(&self) -> Strategy {
        match &self.config.driver {
            Some(_) => Strategy::Replay(self.schedule.clone()),
            None => self.config.strategy.clone(),
        }
    }

    fn failure(&self, stop: Stop, step: u64, time: Duration) -> Failure {
        let task = |id: TaskId| TaskRef::from_info(&self.trace.tasks()[id.index()]);
        let run = RunInfo {
            seed: self.seed(),
            strategy: self.reported_strategy(),
            step,
            time,
            recent_events: self.trace.tail(self.events_at_stop, 12),
            schedule: self.schedule.clone(),
            reproduce: Reproduce {
                selection: Selection::of(self.seed(), &self.reported_strategy()),
                check_determinism: matches!(stop, Stop::RerunDiffers { .. }),
                settings: self.config.reproduce_settings(),
                place: env::place(),
            },
            trace: self.trace.clone(),
            events_at_stop: self.events_at_stop,
            drop_panics: Vec::new(),
        };
        match stop {
            Stop::Panic {
                task: id,
                message,
                location,
            } => Failure::Panic(Box::new(PanicFailure {
                task: task(id),
                message,
                location,
                run,
            })),
            Stop::Deadlock {
                blocked,
                cycles,
                partial,
                notes,
            } => Failure::Deadlock(Box::new(DeadlockFailure {
                blocked: blocked
                    .into_iter()
                    .map(|(t, w)| self.blocked_task(t, w, &notes))
                    .collect(),
                cycles,
                partial,
                run,
            })),
            Stop::Race {
                resource,
                first,
                second,
            } => {
                let info = self.trace.resources().get(resource.as_u32() as usize);
                let access = |a: crate::detect::race::Access| RaceAccess {
                    task: task(a.task),
                    write: a.write,
                    location: a.location.to_string(),
                    step: a.step,
                    time: a.time,
                };
                Failure::Race(Box::new(RaceFailure {
                    cell: info.map_or_else(|| format!("cell {resource}"), |i| i.label()),
                    created_at: info.map(|i| i.created_at.to_string()),
                    first: access(first),
                    second: access(second),
                    run,
                }))
            }
            Stop::Leak => Failure::Leak(Box::new(LeakFailure {
                leaked: self.leaked.clone(),
                run,
            })),
            Stop::StepLimit => Failure::StepLimit(Box::new(StepLimitFailure {
                max_steps: self.config.max_steps,
                run,
            })),
            Stop::TimeLimit { next_timer } => Failure::TimeLimit(Box::new(TimeLimitFailure {
                max_time: self.config.max_time,
                next_timer,
                run,
            })),
            Stop::NonDeterminism { reason } => {
                let cause = if self.foreign_wake {
                    NonDeterminismCause::ForeignWake
                } else {
                    NonDeterminismCause::ReplayDiverged
                };
                Failure::NonDeterminism(Box::new(NonDeterminismFailure { cause, reason, run }))
            }
            Stop::RerunDiffers { reason } => {
                Failure::NonDeterminism(Box::new(NonDeterminismFailure {
                    cause: NonDeterminismCause::RerunDiffers,
                    reason,
                    run,
                }))
            }
            Stop::SharedAcrossRuns { reason } => {
                Failure::NonDeterminism(Box::new(NonDeterminismFailure {
                    cause: NonDeterminismCause::SharedAcrossRuns,
                    reason,
                    run,
                }))
            }
        }
    }
}

/// Drops every task still alive, in id order, inside the run's context (their
/// destructors may use primitives). Destructors that spawn are dropped in later rounds.
fn teardown(shared: &Shared) {
    for _round in 0..1_000 {
        let (futures, wakers) = shared.core.borrow_mut().teardown();
        if futures.is_empty() && wakers.is_empty() {
            break;
        }
        for (id, f) in futures {
            executor::drop_reporting(shared, id, f);
        }
        drop(wakers);
    }
    shared.woken.borrow_mut().clear();
}

/// A runtime name as `method` (`Builder::name`) takes it.
///
/// # Panics
/// If it is empty or only whitespace, naming `method` and the value.
#[track_caller]
pub(crate) fn runtime_name(method: &str, name: String) -> std::sync::Arc<str> {
    assert!(
        !name.trim().is_empty(),
        "invalid {method}={name:?}: expected a runtime name that is not empty or blank"
    );
    name.into()
}
