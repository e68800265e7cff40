//! Seed sweeps for tests: [`check`], [`Check`], [`replay`], and what `#[sim::test]`
//! expands to.
//!
//! A sweep runs the test body on a fresh runtime per seed (no state crosses seeds),
//! replaying the regression file's seeds first. On the first failure it shrinks the
//! failing schedule, writes the schedule and trace under `target/corosim/` with two
//! pictures of the shown run (its Chrome trace-event export for ui.perfetto.dev and a
//! self-contained HTML report, [`CheckFailure::to_html`]; built only then, never for a
//! passing sweep), appends the seed to the regression file, and panics with a report that ends with the command
//! reproducing the run. The environment can narrow a sweep to one seed (`SIM_SEED`) or
//! one schedule (`SIM_SCHEDULE`); see [`crate::env`]. A sweep's settings are one
//! [`Settings`] value: the test's own (its attribute and builder calls), under the
//! environment's.
//!
//! This module drives runs; it never reaches into the engine beyond the public
//! [`Builder`] and the crate-private lenient replay used for shrinking.

mod modes;
pub mod regression;
mod shrink;

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::parse::valid;
use crate::config::{Key, Regressions, Settings, Source, StartSeed};
use crate::env;
use crate::explore::Explore;
use crate::reproduce::{Place, Reproduce, Selection, TestTarget};
use crate::{Builder, Failure, NonDeterminismCause, Schedule, Strategy, UnhandledPanic};

pub use regression::RegressionEntry;

/// Default number of seeds a sweep runs ([`Check::seeds`], `SIM_SEEDS`).
pub const DEFAULT_SEEDS: u64 = 100;
/// Default most replays spent shrinking a failure ([`Check::shrink_budget`],
/// `SIM_SHRINK_BUDGET`).
pub const DEFAULT_SHRINK_BUDGET: u32 = 300;

/// What a test body may return: `()`, or a `Result` whose `Err` fails the run.
pub trait TestResult {
    /// `Err(message)` fails the run as a panic with that message.
    fn into_outcome(self) -> Result<(), String>;
}

impl TestResult for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Debug> TestResult for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| format!("the test returned Err({e:?})"))
    }
}

/// Runs `body` over [`DEFAULT_SEEDS`] seeds (or as the environment says) and panics
/// with the failure report on the first failure.
///
/// ```
/// sim::check(|| async {
///     let h = sim::spawn(async { 1 + 1 });
///     assert_eq!(h.await.unwrap(), 2);
/// });
/// ```
#[track_caller]
pub fn check<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: TestResult,
{
    Check::new().run(body)
}

/// Schedules [`replay`] accepts: a [`Schedule`] or its string form.
pub trait IntoSchedule {
    /// The schedule; panics with the parse error on a malformed string.
    fn into_schedule(self) -> Schedule;
}

impl IntoSchedule for Schedule {
    fn into_schedule(self) -> Schedule {
        self
    }
}

impl IntoSchedule for &Schedule {
    fn into_schedule(self) -> Schedule {
        self.clone()
    }
}

impl IntoSchedule for &str {
    fn into_schedule(self) -> Schedule {
        self.trim()
            .parse()
            .unwrap_or_else(|e| panic!("sim::replay: {e}"))
    }
}

impl IntoSchedule for String {
    fn into_schedule(self) -> Schedule {
        self.as_str().into_schedule()
    }
}

/// Replays a recorded schedule once: the same run, from code.
///
/// ```
/// let mut rt = sim::Builder::new().seed(5).build();
/// rt.block_on(async { sim::spawn(async {}).await.unwrap() }).unwrap();
/// let recorded = rt.schedule().to_string();
/// sim::replay(recorded.as_str(), || async { sim::spawn(async {}).await.unwrap() }).unwrap();
/// ```
///
/// # Panics
/// On a malformed schedule string.
pub fn replay<S, F, Fut>(schedule: S, body: F) -> Result<Fut::Output, Failure>
where
    S: IntoSchedule,
    F: FnOnce() -> Fut,
    Fut: Future,
{
    Builder::new()
        .strategy(Strategy::Replay(schedule.into_schedule()))
        .build()
        .block_on(body())
}

/// A configurable seed sweep; [`check`] with defaults. `#[sim::test(..)]` builds one
/// from its arguments.
///
/// ```
/// use std::time::Duration;
/// sim::Check::new()
///     .seeds(50)
///     .strategy(sim::Strategy::pct(2))
///     .max_time(Duration::from_secs(10))
///     .run(|| async {
///         sim::time::sleep(Duration::from_secs(1)).await;
///     });
/// ```
#[derive(Clone, Debug)]
pub struct Check {
    /// What the test set (its attribute, its builder calls); the environment's
    /// settings go over these when it runs.
    settings: Settings,
    name: Option<String>,
    /// The runtime name of every run ([`Check::runtime_name`]).
    runtime_name: Option<std::sync::Arc<str>>,
    package: Option<String>,
    manifest_dir: Option<String>,
    caller: &'static Location<'static>,
}

impl Default for Check {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

/// What a passing sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// Regression seeds replayed first.
    pub regressions: usize,
    /// Seeds run (including regression seeds).
    pub runs: u64,
    /// The first seed of the sweep.
    pub start_seed: u64,
}

impl Check {
    /// [`DEFAULT_SEEDS`] seeds from 0, [`Strategy::Portfolio`] (a strategy per seed), the
    /// runtime's default bounds, shrinking on, regression file on. The environment
    /// overrides (see [`crate::env`]).
    #[track_caller]
    pub fn new() -> Self {
        Check {
            settings: Settings::default(),
            name: None,
            runtime_name: None,
            package: None,
            manifest_dir: None,
            caller: Location::caller(),
        }
    }

    /// How many seeds to run (`SIM_SEEDS` overrides).
    ///
    /// # Panics
    /// On `0`.
    pub fn seeds(mut self, n: u64) -> Self {
        self.settings.seeds = Some(valid::seeds("Check::seeds", n));
        self
    }

    /// The first seed (`SIM_START_SEED` overrides).
    pub fn start_seed(mut self, seed: u64) -> Self {
        self.settings.start_seed = Some(StartSeed::Fixed(seed));
        self
    }

    /// The strategy (`SIM_STRATEGY` overrides).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.settings.strategy = Some(strategy);
        self
    }

    /// [`Builder::max_steps`] for every run (`SIM_MAX_STEPS` overrides).
    ///
    /// # Panics
    /// On `0`.
    pub fn max_steps(mut self, n: u64) -> Self {
        self.settings.max_steps = Some(valid::max_steps("Check::max_steps", n));
        self
    }

    /// [`Builder::max_time`] for every run (`SIM_MAX_TIME` overrides).
    ///
    /// # Panics
    /// On zero.
    pub fn max_time(mut self, d: Duration) -> Self {
        self.settings.max_time = Some(valid::max_time("Check::max_time", d));
        self
    }

    /// [`Builder::pct_steps`] for every run. Without it, each PCT run of the sweep
    /// uses the length (in decisions) of the longest run so far (the default estimate
    /// for the first), and records it in its strategy (`pct:3:57`) so its reproduce
    /// command replays it exactly (`SIM_PCT_STEPS` overrides).
    ///
    /// # Panics
    /// On `0`.
    pub fn pct_steps(mut self, k: u64) -> Self {
        self.settings.pct_steps = Some(valid::pct_steps("Check::pct_steps", k));
        self
    }

    /// [`Builder::check_determinism`] for every run (`SIM_CHECK_DETERMINISM` overrides).
    pub fn check_determinism(mut self, on: bool) -> Self {
        self.settings.check_determinism = Some(on);
        self
    }

    /// [`Builder::unhandled_panic`] for every run.
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Self {
        self.settings.unhandled_panic = Some(policy);
        self
    }

    /// The most replays spent shrinking a failure (`0`: no shrinking;
    /// `SIM_SHRINK_BUDGET` overrides).
    pub fn shrink_budget(mut self, replays: u32) -> Self {
        self.settings.shrink_budget = Some(replays);
        self
    }

    /// Fuzz instead of sweeping seeds: `execs` executions of the coverage-guided
    /// fuzzer ([`crate::fuzz::Fuzzer`], seeded by the start seed), each run driven by
    /// its input's bytes. A failing input is minimized and its report replays it
    /// with `SIM_STRATEGY=bytes:<hex>` (`SIM_FUZZ` overrides;
    /// `#[sim::test(fuzz = N)]`).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let caught = sim::Check::new()
    ///     .fuzz(2_000)
    ///     .no_regressions()
    ///     .try_run(|| async {
    ///         let n = Rc::new(Cell::new(0));
    ///         let bump = |n: Rc<Cell<i32>>| async move {
    ///             let seen = n.get();
    ///             sim::task::scheduling_point().await;
    ///             n.set(seen + 1);
    ///         };
    ///         let a = sim::spawn(bump(n.clone()));
    ///         let b = sim::spawn(bump(n.clone()));
    ///         a.await.unwrap();
    ///         b.await.unwrap();
    ///         assert_eq!(n.get(), 2, "an update was lost");
    ///     })
    ///     .unwrap_err();
    /// assert!(caught.to_string().contains("SIM_STRATEGY=bytes:"));
    /// ```
    ///
    /// # Panics
    /// On `0`.
    pub fn fuzz(mut self, execs: u64) -> Self {
        self.settings.fuzz = Some(valid::fuzz("Check::fuzz", execs));
        self
    }

    /// Explore schedules systematically instead of sweeping seeds ([`Explore`]: every
    /// schedule up to partial-order equivalence, within the preemption bound and the
    /// schedule budget). Passing means no explored schedule failed; a failing schedule
    /// is shrunk and reported with `SIM_SCHEDULE=...` (`SIM_EXPLORE` overrides;
    /// `#[sim::test(explore)]`).
    pub fn explore(mut self) -> Self {
        self.settings.explore = Some(true);
        self
    }

    /// The preemption bound of [`explore`](Self::explore) (default: none;
    /// `SIM_PREEMPTION_BOUND` overrides).
    pub fn preemption_bound(mut self, k: u32) -> Self {
        self.settings.preemption_bound = Some(k);
        self
    }

    /// The most schedules [`explore`](Self::explore) runs (default
    /// [`DEFAULT_MAX_SCHEDULES`](crate::explore::DEFAULT_MAX_SCHEDULES);
    /// `SIM_MAX_SCHEDULES` overrides).
    ///
    /// # Panics
    /// On `0`.
    pub fn max_schedules(mut self, n: u64) -> Self {
        self.settings.max_schedules = Some(valid::max_schedules("Check::max_schedules", n));
        self
    }

    /// Keep regression seeds in this file instead of the default path.
    pub fn regression_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.regressions = Some(Regressions::File(path.into()));
        self
    }

    /// Neither read nor write a regression file.
    pub fn no_regressions(mut self) -> Self {
        self.settings.regressions = Some(Regressions::Off);
        self
    }

    /// The test's path as `cargo test` filters it (`module::test`); by default the
    /// name of the test thread.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Names the runtime of every run (tokio's `#[tokio::test(name = "...")]`, which
    /// `#[sim::test(name = "...")]` calls): what
    /// [`Handle::name`](crate::runtime::Handle::name) returns in them. Not the test's
    /// name: that is [`name`](Self::name).
    ///
    /// # Panics
    /// If `name` is empty or only whitespace.
    #[track_caller]
    pub fn runtime_name(mut self, name: &str) -> Self {
        self.runtime_name = Some(crate::runtime::run::runtime_name(
            "Check::runtime_name",
            name.to_string(),
        ));
        self
    }

    /// Sets the name from `module_path!()` and the function name, dropping the crate
    /// segment as `cargo test` does (what `#[sim::test]` calls).
    #[doc(hidden)]
    pub fn test_path(self, module_path: &str, function: &str) -> Self {
        let path = match module_path.split_once("::") {
            Some((_crate, rest)) => format!("{rest}::{function}"),
            None => function.to_string(),
        };
        self.name(&path)
    }

    /// The package and manifest directory of the test (what `#[sim::test]` passes from
    /// `env!`); used when cargo's run-time environment does not say (e.g. a test binary
    /// run directly).
    pub fn package(mut self, package: &str, manifest_dir: &str) -> Self {
        self.package = Some(package.to_string());
        self.manifest_dir = Some(manifest_dir.to_string());
        self
    }

    /// Parses a `#[sim::test]` argument value with its setting's one parser
    /// ([`crate::config::parse`]); panics with the [`ConfigError`](crate::ConfigError)
    /// naming the argument on a bad value or an unknown argument.
    #[doc(hidden)]
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        let Some(k) = Key::from_attr(key) else {
            panic!(
                "unknown #[sim::test] argument `{key}`; expected one of {}",
                Key::attr_names()
            );
        };
        if let Err(e) = self.settings.set(k, Source::Attr, value) {
            panic!("{e}");
        }
        self
    }

    /// Runs the sweep; panics with the report of the first failure.
    pub fn run<F, Fut>(self, body: F)
    where
        F: Fn() -> Fut,
        Fut: Future,
        Fut::Output: TestResult,
    {
        if let Err(failure) = self.try_run(body) {
            panic!("{failure}");
        }
    }

    /// Runs the sweep and returns the first failure instead of panicking.
    pub fn try_run<F, Fut>(self, body: F) -> Result<CheckReport, Box<CheckFailure>>
    where
        F: Fn() -> Fut,
        Fut: Future,
        Fut::Output: TestResult,
    {
        let env = env::settings().unwrap_or_else(|e| panic!("{e}"));
        self.run_with_env(&env, &body)
    }

    /// The runtime settings of every run of the sweep (`s`: the merged settings): all
    /// but the selection (seed, strategy, schedule), which each run sets itself.
    fn builder(s: &Settings) -> Builder {
        Builder::new().settings(&Settings {
            max_steps: s.max_steps,
            max_time: s.max_time,
            pct_steps: s.pct_steps,
            check_determinism: Some(s.check_determinism.unwrap_or(false)),
            unhandled_panic: Some(s.unhandled_panic.unwrap_or_default()),
            net_faults: s.net_faults,
            buggify: s.buggify,
            buggify_off: s.buggify_off.clone(),
            ..Settings::default()
        })
    }

    fn run_with_env<F, Fut>(
        self,
        env: &Settings,
        body: &F,
    ) -> Result<CheckReport, Box<CheckFailure>>
    where
        F: Fn() -> Fut,
        Fut: Future,
        Fut::Output: TestResult,
    {
        let settings = env.over(&self.settings);
        let strategy = settings.strategy.clone().unwrap_or_default();
        let shrink_budget = settings.shrink_budget.unwrap_or(DEFAULT_SHRINK_BUDGET);
        let target = Target::of(&self);
        let mut base = Self::builder(&settings);
        if let Some(name) = &self.runtime_name {
            base = base.name(&**name);
        }
        let runner = Runner {
            base: base.clone(),
            body,
            location: self.caller,
        };
        let failing = Failing {
            target: &target,
            runner: &runner,
            shrink_budget,
            regression_path: self.regression_path(&settings, &target),
        };
        // Only the environment narrows a sweep to one run (a reproduce command): a
        // seed, a schedule, or a fuzz input (which needs no seed: it makes every
        // decision).
        let bytes = matches!(env.strategy, Some(Strategy::Bytes(_)));
        let single_seed = env.seed.or(bytes.then_some(0));
        let single = single_seed.is_some() || env.replay().is_some();
        crate::log::set_enabled(settings.log.unwrap_or(single));

        // One seed or one schedule: the reproduce commands land here.
        if let Some(schedule) = env.replay() {
            let b = base.strategy(Strategy::Replay(schedule.clone()));
            return match runner.run(b) {
                Ok(()) => Ok(CheckReport {
                    regressions: 0,
                    runs: 1,
                    start_seed: 0,
                }),
                Err(f) => Err(failing.fail(f, false, None, None)),
            };
        }
        if let Some(seed) = single_seed {
            return match runner.run(base.seed(seed).strategy(strategy.clone())) {
                Ok(()) => Ok(CheckReport {
                    regressions: 0,
                    runs: 1,
                    start_seed: seed,
                }),
                Err(f) => Err(failing.fail(f, true, None, None)),
            };
        }

        if settings.explore == Some(true) {
            return failing.explore(&Self::exploration(&settings));
        }
        if let Some(execs) = settings.fuzz {
            let seed = match settings.start_seed {
                Some(StartSeed::Fixed(s)) => s,
                Some(StartSeed::Random) => DrawnStartSeed::draw(&target, execs).seed,
                None => 0,
            };
            return failing.fuzz(execs, seed);
        }

        let seeds = settings.seeds.unwrap_or(DEFAULT_SEEDS);
        let (start, drawn) = match settings.start_seed {
            Some(StartSeed::Fixed(s)) => (s, None),
            Some(StartSeed::Random) => {
                let drawn = DrawnStartSeed::draw(&target, seeds);
                (drawn.seed, Some(drawn))
            }
            None => (0, None),
        };
        let mut runs = 0;
        let regressions = match &failing.regression_path {
            Some(p) => regression::load(p).unwrap_or_else(|e| panic!("corosim: {e}")),
            None => Vec::new(),
        };
        let mut learned = crate::sched::SweepState::new(settings.pct_steps);
        let planned = regressions
            .iter()
            .map(|e| (e.seed, e.strategy.clone()))
            .chain((0..seeds).map(|i| (start.wrapping_add(i), strategy.clone())));
        for (seed, strategy) in planned {
            runs += 1;
            let strategy = learned.strategy_for(&strategy, seed);
            let (result, decisions) =
                runner.run_measured(base.clone().seed(seed).strategy(strategy));
            learned.observe(decisions);
            if let Err(f) = result {
                return Err(failing.fail(f, true, drawn, None));
            }
        }
        Ok(CheckReport {
            regressions: regressions.len(),
            runs,
            start_seed: start,
        })
    }

    /// The exploration `settings` describe.
    fn exploration(settings: &Settings) -> Explore {
        let mut explore = Explore::new();
        if let Some(k) = settings.preemption_bound {
            explore = explore.preemption_bound(k);
        }
        if let Some(n) = settings.max_schedules {
            explore = explore.max_schedules(n);
        }
        if let Some(StartSeed::Fixed(seed)) = settings.start_seed {
            explore = explore.seed(seed);
        }
        explore
    }

    fn regression_path(&self, settings: &Settings, target: &Target) -> Option<PathBuf> {
        match settings.regressions.clone().unwrap_or_default() {
            Regressions::Off => None,
            Regressions::File(p) => Some(p),
            Regressions::Auto => {
                // Cargo's run-time value first: the compile-time one goes stale when a
                // test binary is reused after its package moved.
                let dir = env::cargo_package()
                    .1
                    .or_else(|| self.manifest_dir.clone())?;
                Some(
                    PathBuf::from(dir)
                        .join("sim-regressions")
                        .join(format!("{}.txt", target.file_stem())),
                )
            }
        }
    }
}

/// The start seed `SIM_START_SEED=random` drew, and the file it was written to before
/// the sweep began (so it survives a killed run whose output the test harness drops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrawnStartSeed {
    /// The seed.
    pub seed: u64,
    /// The file holding `SIM_START_SEED=<seed> SIM_SEEDS=<seeds>`, or why it could
    /// not be written.
    pub file: Result<PathBuf, String>,
}

impl DrawnStartSeed {
    /// Draws a start seed and writes it to `target/corosim/<test>.start-seed`.
    fn draw(target: &Target, seeds: u64) -> Self {
        let seed = env::fresh_seed();
        let dir = env::target_dir().join("corosim");
        let path = dir.join(format!("{}.start-seed", target.file_stem()));
        let file = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::write(&path, format!("SIM_START_SEED={seed} SIM_SEEDS={seeds}\n"))
            })
            .map(|()| path.clone())
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
        let recorded = match &file {
            Ok(p) => format!("recorded in {}", p.display()),
            Err(e) => e.clone(),
        };
        eprintln!(
            "corosim: SIM_START_SEED=random drew start seed {seed} ({recorded}; rerun with \
             SIM_START_SEED={seed})"
        );
        DrawnStartSeed { seed, file }
    }
}

impl fmt::Display for DrawnStartSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIM_START_SEED=random drew {}", self.seed)?;
        match &self.file {
            Ok(p) => write!(f, " (recorded in {})", p.display()),
            Err(e) => write!(f, " ({e})"),
        }
    }
}

/// What handling a sweep's failure needs: where the test is, how to replay, how much
/// to shrink, where regression seeds go.
struct Failing<'a, F> {
    target: &'a Target,
    runner: &'a Runner<'a, F>,
    shrink_budget: u32,
    regression_path: Option<PathBuf>,
}

impl<F, Fut> Failing<'_, F>
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: TestResult,
{
    /// Shrinks `failure`, writes its files, records its seed (when `record`), and
    /// points every reproduce command at the test; `search` says how a fuzz campaign
    /// or an exploration found it.
    fn fail(
        &self,
        mut failure: Failure,
        record: bool,
        drawn_start_seed: Option<DrawnStartSeed>,
        search: Option<String>,
    ) -> Box<CheckFailure> {
        let (target, runner) = (self.target, self.runner);
        let place = target.place();
        let command = Reproduce {
            selection: Selection::of(failure.run().seed, &failure.run().strategy),
            check_determinism: needs_rerun(&failure),
            settings: failure.run().reproduce.settings.clone(),
            place: place.clone(),
        };
        failure.run_mut().reproduce = command.clone();
        let shrunk = if self.shrink_budget > 0 {
            shrink::shrink(&failure, self.shrink_budget, |candidate| {
                let base = candidate
                    .buggify_off
                    .iter()
                    .fold(runner.base.clone(), |b, site| b.buggify_off(site));
                runner.run(match candidate.run {
                    shrink::CandidateRun::Switches(seed, points) => {
                        base.switch_replay(seed, points)
                    }
                    shrink::CandidateRun::Lenient(schedule) => base.lenient_replay(schedule),
                })
            })
        } else {
            None
        };
        let mut artifacts = Artifacts::write(target, &failure, shrunk.as_ref());
        let mut shrunk = shrunk;
        if let Some(s) = &mut shrunk {
            let check_determinism = needs_rerun(&s.failure);
            let reproduce = &mut s.failure.run_mut().reproduce;
            reproduce.place = place;
            reproduce.check_determinism = check_determinism;
            if let Some(path) = &artifacts.shrunk_schedule {
                reproduce.selection = Selection::ScheduleFile(path.clone());
            }
        }
        let regression = match (record, &self.regression_path) {
            (true, Some(path)) => Some(regression::append(path, &target.name, &failure)),
            _ => None,
        };
        // The page shows the whole report, whose files lines name the page itself.
        let html = artifacts.html.take();
        let mut report = Box::new(CheckFailure {
            failure,
            shrunk,
            artifacts,
            regression,
            drawn_start_seed,
            command,
            search,
        });
        if let Some(path) = html {
            report.artifacts.html = Some(path.clone());
            if let Err(e) = std::fs::write(&path, report.to_html()) {
                report.artifacts.html = None;
                report.artifacts.error = Some(format!("cannot write {}: {e}", path.display()));
            }
        }
        report
    }
}

/// Whether reproducing `f` needs the determinism check on: the one failure that only
/// a second run shows.
fn needs_rerun(f: &Failure) -> bool {
    matches!(f, Failure::NonDeterminism(n) if n.cause == NonDeterminismCause::RerunDiffers)
}

/// Runs the body on a runtime.
struct Runner<'a, F> {
    base: Builder,
    body: &'a F,
    /// Reported as the main task's location: the test, not this module.
    location: &'static Location<'static>,
}

impl<F, Fut> Runner<'_, F>
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: TestResult,
{
    fn run(&self, builder: Builder) -> Result<(), Failure> {
        self.run_measured(builder).0
    }

    /// [`run`](Self::run), and the number of decisions the run made.
    fn run_measured(&self, builder: Builder) -> (Result<(), Failure>, u64) {
        let mut rt = builder.build();
        let result = rt.run_at(|| self.main(), self.location);
        (result, rt.schedule().len() as u64)
    }

    /// The main future of a run: the body, whose `Err` becomes a panic.
    async fn main(&self) {
        if let Err(message) = (self.body)().await.into_outcome() {
            panic!("{message}");
        }
    }
}

/// The test as cargo names it: package, target, test path.
struct Target {
    package: Option<String>,
    /// `--test <name>` or `--lib`, when known.
    selector: Option<TestTarget>,
    name: String,
}

impl Target {
    fn of(check: &Check) -> Self {
        let thread = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map(str::to_string);
        let name = check
            .name
            .clone()
            .or(thread)
            .unwrap_or_else(|| "sim-check".to_string());
        let file = check.caller.file().replace('\\', "/");
        let selector = if let Some(pos) = file.rfind("tests/") {
            let rest = &file[pos + "tests/".len()..];
            let stem = rest
                .split('/')
                .next()
                .unwrap_or(rest)
                .trim_end_matches(".rs");
            Some(TestTarget::Test(stem.to_string()))
        } else if file.contains("src/") {
            Some(TestTarget::Lib)
        } else {
            None
        };
        let package = check.package.clone().or_else(|| env::cargo_package().0);
        Target {
            package,
            selector,
            name,
        }
    }

    /// Where the test runs again: `cargo test` of this test.
    fn place(&self) -> Place {
        Place::CargoTest {
            package: self.package.clone(),
            target: self.selector.clone(),
            test: self.name.clone(),
        }
    }

    fn file_stem(&self) -> String {
        let target = match &self.selector {
            Some(TestTarget::Test(t)) => t.as_str(),
            Some(TestTarget::Lib) => "lib",
            None => "tests",
        };
        format!("{target}.{}", self.name.replace("::", "."))
    }
}

/// Files written for a failure, under `target/corosim/`.
#[derive(Clone, Debug, Default)]
pub struct Artifacts {
    /// The failing run's schedule.
    pub schedule: Option<PathBuf>,
    /// The shrunk schedule.
    pub shrunk_schedule: Option<PathBuf>,
    /// The trace of the shrunk run (or of the failing run, without shrinking).
    pub trace: Option<PathBuf>,
    /// The same run as Chrome trace-event JSON, for ui.perfetto.dev
    /// ([`Failure::to_chrome_trace`]).
    pub perfetto: Option<PathBuf>,
    /// The self-contained HTML report of the failure ([`CheckFailure::to_html`]).
    pub html: Option<PathBuf>,
    /// Why writing failed, if it did.
    pub error: Option<String>,
}

impl Artifacts {
    /// Writes the schedules, the trace and the Perfetto export, and says where the
    /// HTML report goes (written last, since it shows the report that names every
    /// file). Only a failing sweep comes here: a passing one computes none of it.
    fn write(target: &Target, failure: &Failure, shrunk: Option<&shrink::Shrunk>) -> Self {
        let dir = env::target_dir().join("corosim");
        let stem = format!("{}.seed-{}", target.file_stem(), failure.run().seed);
        let mut a = Artifacts::default();
        // Writes one file; a failure is remembered (the last one) and the path is `None`.
        let mut write = |name: String, text: String| {
            let result = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))
                .and_then(|()| {
                    let path = dir.join(name);
                    std::fs::write(&path, text)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    Ok(path)
                });
            result.map_err(|e| a.error = Some(e)).ok()
        };
        let schedule = write(
            format!("{stem}.schedule"),
            format!("{}\n", failure.schedule()),
        );
        let shown = shrunk.map_or(failure, |s| &s.failure);
        let trace = write(format!("{stem}.trace"), shown.run().trace.to_string());
        let shrunk_schedule = shrunk.and_then(|s| {
            write(
                format!("{stem}.shrunk.schedule"),
                format!("{}\n", s.failure.schedule()),
            )
        });
        let perfetto = write(format!("{stem}.perfetto.json"), shown.to_chrome_trace());
        // The directory exists if anything above was written.
        let html =
            (schedule.is_some() || trace.is_some()).then(|| dir.join(format!("{stem}.html")));
        Artifacts {
            schedule,
            shrunk_schedule,
            trace,
            perfetto,
            html,
            ..a
        }
    }
}

/// A failed sweep: the failure, its shrunk form, the files written, and the command
/// that reproduces it. `Display` is the report `#[sim::test]` panics with.
#[derive(Debug)]
pub struct CheckFailure {
    /// The failure as found.
    pub failure: Failure,
    /// The same failure on a shrunk schedule, if shrinking found a smaller one.
    pub shrunk: Option<shrink::Shrunk>,
    /// Files written under `target/corosim/`.
    pub artifacts: Artifacts,
    /// The regression file the seed was appended to, or why not.
    pub regression: Option<Result<PathBuf, String>>,
    /// With `SIM_START_SEED=random`: the start seed drawn and where it was written.
    pub drawn_start_seed: Option<DrawnStartSeed>,
    /// The command reproducing the failing run exactly.
    pub command: Reproduce,
    /// How a fuzz campaign or an exploration found it (`None` for a seed sweep).
    pub search: Option<String>,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let original = self.failure.schedule();
        match &self.shrunk {
            Some(s) => {
                writeln!(f, "{}\n", s.failure)?;
                let shrunk = s.failure.schedule();
                writeln!(
                    f,
                    "shrunk: {} decisions / {} context switches -> {} decisions / {} context switches ({} replays)",
                    original.len(),
                    original.context_switches(),
                    shrunk.len(),
                    shrunk.context_switches(),
                    s.replays
                )?;
                writeln!(
                    f,
                    "first found as: {}",
                    self.failure.to_string().lines().next().unwrap_or("")
                )?;
            }
            None => writeln!(f, "{}\n", self.failure)?,
        }
        for (label, path) in [
            ("schedule", &self.artifacts.schedule),
            ("shrunk schedule", &self.artifacts.shrunk_schedule),
            ("trace", &self.artifacts.trace),
            (
                "perfetto (open at ui.perfetto.dev)",
                &self.artifacts.perfetto,
            ),
            ("html report", &self.artifacts.html),
        ] {
            if let Some(p) = path {
                writeln!(f, "{label}: {}", p.display())?;
            }
        }
        if let Some(e) = &self.artifacts.error {
            writeln!(f, "(could not write every file: {e})")?;
        }
        match &self.regression {
            Some(Ok(p)) => writeln!(
                f,
                "regression: seed recorded in {} (commit it; it is replayed first)",
                p.display()
            )?,
            Some(Err(e)) => writeln!(f, "regression: not recorded: {e}")?,
            None => {}
        }
        if let Some(drawn) = &self.drawn_start_seed {
            writeln!(f, "start seed: {drawn}")?;
        }
        if let Some(search) = &self.search {
            writeln!(f, "{search}")?;
        }
        let text = original.to_string();
        if text.len() <= 400 {
            writeln!(f, "schedule string: {text}")?;
        }
        write!(f, "reproduce: {}", self.command)
    }
}

impl CheckFailure {
    /// The failure shown: the shrunk one if shrinking found one, else as found.
    pub fn shown(&self) -> &Failure {
        self.shrunk.as_ref().map_or(&self.failure, |s| &s.failure)
    }

    /// The self-contained HTML report of the failure
    /// ([`HtmlReport`](crate::report::HtmlReport)): this report's text, and the
    /// timeline, context switches and wait-for graph of the [`shown`](Self::shown) run.
    /// A failing sweep writes it to `target/corosim/<test>.seed-N.html`.
    pub fn to_html(&self) -> String {
        let test = match &self.command.place {
            crate::reproduce::Place::CargoTest { test, .. } => test.as_str(),
            crate::reproduce::Place::Corosim { scenario } => scenario.as_str(),
            crate::reproduce::Place::Program(_) => "a program",
        };
        crate::report::HtmlReport::failure(self.shown())
            .title(format!(
                "corosim: {test} ({}, seed {})",
                self.failure.kind(),
                self.failure.run().seed
            ))
            .text(self.to_string())
            .render()
    }
}

impl std::error::Error for CheckFailure {}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn a_random_start_seed_is_written_before_the_sweep_and_named_in_the_report() {
        let env = Settings {
            start_seed: Some(StartSeed::Random),
            seeds: Some(3),
            ..Settings::default()
        };
        let check = Check::new()
            .name("check::tests::random_start")
            .no_regressions()
            .shrink_budget(0);
        let file = env::target_dir()
            .join("corosim")
            .join(format!("{}.start-seed", Target::of(&check).file_stem()));
        let _ = std::fs::remove_file(&file);
        // Every run finds the seed already on disk: a killed sweep can be resumed
        // without the output libtest captured and dropped.
        let seen = RefCell::new(Vec::new());
        let body = || {
            seen.borrow_mut().push(std::fs::read_to_string(&file).ok());
            async {}
        };
        let report = check.clone().run_with_env(&env, &body).unwrap();
        let expected = format!("SIM_START_SEED={} SIM_SEEDS=3\n", report.start_seed);
        assert_eq!(seen.into_inner(), vec![Some(expected); 3]);

        let failure = check
            .run_with_env(&env, &|| async {
                if true {
                    panic!("boom");
                }
            })
            .unwrap_err();
        let seed = failure.failure.run().seed;
        assert_eq!(
            failure.drawn_start_seed.as_ref().map(|d| d.seed),
            Some(seed)
        );
        let report = failure.to_string();
        assert!(
            report.contains(&format!(
                "start seed: SIM_START_SEED=random drew {seed} (recorded in {})",
                file.display()
            )),
            "{report}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("SIM_START_SEED={seed} SIM_SEEDS=3\n")
        );
    }

    #[test]
    fn a_regression_file_that_cannot_be_read_fails_the_sweep() {
        // Its committed seeds would never run, and the test would pass: before, a
        // directory or a non-UTF-8 byte at the path read as an empty file.
        let dir = std::env::temp_dir().join(format!("corosim-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, b"seed=3 strategy=random kind=panic\n\xff\n").unwrap();
        for path in [dir.clone(), bad] {
            let check = Check::new().seeds(1).regression_file(&path);
            let caught =
                std::panic::catch_unwind(|| check.run_with_env(&Settings::default(), &|| async {}))
                    .unwrap_err();
            let text = caught.downcast_ref::<String>().unwrap();
            assert!(
                text.starts_with(&format!("corosim: regression file {}", path.display())),
                "{text}"
            );
        }
    }

    #[test]
    fn attribute_values_go_through_the_settings_parsers() {
        let check = Check::new()
            .attr("seeds", "7")
            .attr("max_time", "1.5s")
            .attr("check_determinism", "true")
            .attr("regressions", "off");
        assert_eq!(check.settings.seeds, Some(7));
        assert_eq!(check.settings.max_time, Some(Duration::from_millis(1500)));
        assert_eq!(check.settings.check_determinism, Some(true));
        assert_eq!(check.settings.regressions, Some(Regressions::Off));
        for (key, value, message) in [
            ("max_time", "0s", "invalid #[sim::test(max_time)]=\"0s\""),
            ("max_time", "10", "no unit"),
            ("seeds", "0", "invalid #[sim::test(seeds)]=\"0\""),
            ("seed", "1", "unknown #[sim::test] argument `seed`"),
        ] {
            let caught = std::panic::catch_unwind(|| Check::new().attr(key, value)).unwrap_err();
            let text = caught.downcast_ref::<String>().unwrap();
            assert!(text.contains(message), "{key}={value}: {text}");
        }
    }

    #[test]
    fn typed_methods_reject_what_the_parsers_reject() {
        let message = |f: fn()| {
            let caught = std::panic::catch_unwind(f).unwrap_err();
            caught.downcast_ref::<String>().unwrap().clone()
        };
        let text = message(|| drop(Check::new().max_time(Duration::ZERO)));
        assert!(
            text.starts_with("invalid Check::max_time=\"0ns\""),
            "{text}"
        );
        let text = message(|| drop(Check::new().max_steps(0)));
        assert!(text.starts_with("invalid Check::max_steps=\"0\""), "{text}");
        let text = message(|| drop(Check::new().seeds(0)));
        assert!(text.starts_with("invalid Check::seeds=\"0\""), "{text}");
    }
}
