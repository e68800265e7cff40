//! # scenarios: concurrency patterns, correct and buggy, for `sim`
//!
//! Each module is one classic async pattern (producer/consumer over a queue, dining
//! philosophers, a bank, ...) with a small configuration ([`arbitrary`]-derivable, kept
//! small by a `normalized()` method), an entry point `run(config, variant)` that checks
//! the pattern's invariants with `assert!`s, and named variants: a correct one that
//! passes on every seed, and the bugs people really write, each marked in the code with
//! a `// BUG:` comment.
//!
//! [`registry()`] lists every scenario/variant with a one-line description and its
//! [`Expect`]ation; [`Entry::run_seed`] runs one of them on one seed. The registry ends
//! with [`classic`], a benchmark of concurrency bugs from the literature written
//! without helper yields, as scenario `classic` (each bug and its fixed twin).
//!
//! ```
//! use scenarios::{DEFAULT_MAX_TIME, Expect, select};
//! use sim::{FailureKind, Strategy};
//!
//! // The correct philosophers never deadlock ...
//! let ordered = select("philosophers/ordered-forks").unwrap()[0];
//! assert_eq!(ordered.expect, Expect::Pass);
//! for seed in 0..20 {
//!     ordered.run_seed(seed, &Strategy::Random, DEFAULT_MAX_TIME).unwrap();
//! }
//!
//! // ... the left-then-right ones do, on some seed within the stated budget.
//! let naive = select("philosophers/left-then-right").unwrap()[0];
//! let failure = (0..naive.budget)
//!     .find_map(|seed| naive.run_seed(seed, &Strategy::Random, DEFAULT_MAX_TIME).err())
//!     .expect("caught within the budget");
//! assert_eq!(failure.kind(), FailureKind::Deadlock);
//! assert!(naive.expect.matches(&Err(failure)));
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Duration;

use sim::{Failure, FailureKind, Strategy};

pub mod actors;
pub mod bank;
pub mod bounded_pool;
pub mod broker;
pub mod channel;
pub mod classic;
pub mod completion;
pub mod downloads;
pub mod echo;
pub mod event_waiter;
pub mod leader;
pub mod ordering;
pub mod philosophers;
pub mod pipeline;
pub mod producer_consumer;
pub mod resource_guard;
pub mod stream;
pub mod task_distributor;
pub mod task_group;
pub mod timeouts;

/// What a variant is expected to do under a seed sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Correct: every seed passes.
    Pass,
    /// Buggy: some seed (within the entry's budget) fails with this kind.
    Catch(FailureKind),
}

impl Expect {
    /// `pass`, or `catch:<kind>` (`catch:deadlock`, `catch:race`, ...).
    pub fn label(&self) -> String {
        match self {
            Expect::Pass => "pass".to_string(),
            Expect::Catch(kind) => format!("catch:{}", kind_name(*kind)),
        }
    }

    /// Whether `result` (a run of this variant) is what is expected of one seed: a
    /// pass for a correct variant, a failure of the right kind for a buggy one.
    pub fn matches(&self, result: &Result<(), Failure>) -> bool {
        match (self, result) {
            (Expect::Pass, Ok(())) => true,
            (Expect::Catch(kind), Err(f)) => f.kind() == *kind,
            _ => false,
        }
    }
}

/// The name of a failure kind (`deadlock`, `race`, `step-limit`, ...): its one
/// spelling, [`FailureKind::as_str`].
pub fn kind_name(kind: FailureKind) -> &'static str {
    kind.as_str()
}

/// The future of one run of a scenario variant with its default configuration.
pub type ScenarioFuture = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// One scenario/variant of the registry.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The scenario (module) name, e.g. `philosophers`.
    pub scenario: &'static str,
    /// The variant name, e.g. `left-then-right`.
    pub variant: &'static str,
    /// One line on what the variant does (and, for a bug, what is wrong).
    pub description: &'static str,
    /// Pass, or which failure catches the bug.
    pub expect: Expect,
    /// For a bug: the number of seeds (from 0) within which both `random` and `pct:3`
    /// catch it, as asserted by the crate's tests. For a correct variant: 0.
    pub budget: u64,
    /// Builds the run with the scenario's default configuration.
    pub run: fn() -> ScenarioFuture,
    /// Builds the run with a configuration drawn from fuzzer bytes (`Arbitrary`, then
    /// `normalized()` by the scenario); `None` for a program of fixed shape (the
    /// classic bugs).
    pub configured: Option<fn(&mut arbitrary::Unstructured<'_>) -> ScenarioFuture>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("scenario", &self.scenario)
            .field("variant", &self.variant)
            .field("expect", &self.expect)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// `scenario/variant`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.scenario, self.variant)
    }

    /// The main future of a run: the scenario, turning an `Err` into a panic so that
    /// the run fails with [`FailureKind::Panic`] and the message in its report.
    pub fn main(&self) -> impl Future<Output = ()> + 'static {
        main_of((self.run)())
    }

    /// Runs this variant once under `seed` and `strategy`, with `max_time` of virtual
    /// time at most.
    pub fn run_seed(
        &self,
        seed: u64,
        strategy: &Strategy,
        max_time: Duration,
    ) -> Result<(), Failure> {
        let mut rt = builder(seed, strategy, max_time).build();
        self.run_on(&mut rt)
    }

    /// Runs this variant once on `rt` (which keeps the trace and schedule).
    pub fn run_on(&self, rt: &mut sim::Runtime) -> Result<(), Failure> {
        drive(rt, (self.run)())
    }

    /// Runs this variant once driven by fuzzer bytes, with `max_time` of virtual time
    /// at most. For a variant with a configuration, the first byte chooses it: `0` (or
    /// an empty input) the default one, anything else one drawn from the bytes that
    /// follow (`Arbitrary`, normalized by the scenario); the rest of the input drives
    /// every decision of the run (`Strategy::Bytes`). The same input always gives the
    /// same run: `corosim replay ID --bytes FILE` replays it.
    pub fn run_input(
        &self,
        input: &[u8],
        max_time: Duration,
    ) -> (Result<(), Failure>, sim::fuzz::Observed) {
        let (result, observed, _) = self.run_input_on(input, max_time);
        (result, observed)
    }

    /// [`run_input`](Self::run_input), and the runtime of the run (its trace and
    /// schedule).
    pub fn run_input_on(
        &self,
        input: &[u8],
        max_time: Duration,
    ) -> (Result<(), Failure>, sim::fuzz::Observed, sim::Runtime) {
        let (program, config, rest): (ScenarioFuture, &[u8], &[u8]) =
            match (self.configured, input.split_first()) {
                (Some(configured), Some((&choice, after))) if choice != 0 => {
                    let mut u = arbitrary::Unstructured::new(after);
                    let program = configured(&mut u);
                    let rest = u.take_rest();
                    (program, &input[..input.len() - rest.len()], rest)
                }
                (Some(_), Some((_, after))) => ((self.run)(), &[0], after),
                (Some(_), None) => ((self.run)(), &[0], &[]),
                (None, _) => ((self.run)(), &[], input),
            };
        let mut rt = builder(0, &Strategy::Bytes(rest.to_vec()), max_time).build();
        let result = drive(&mut rt, program);
        let mut observed = sim::fuzz::Observed::of(&rt, rest);
        observed.replay_input.splice(0..0, config.iter().copied());
        for c in &mut observed.choices {
            c.at += config.len();
        }
        (result, observed, rt)
    }
}

/// Runs `program` on `rt`. Every run goes through here, so reports name the same
/// spawn location for `main`.
fn drive(rt: &mut sim::Runtime, program: ScenarioFuture) -> Result<(), Failure> {
    rt.block_on(main_of(program))
}

/// The main future of a run of `program`: its `Err` becomes a panic, so that the run
/// fails with [`FailureKind::Panic`] and the message in its report.
pub(crate) async fn main_of(program: ScenarioFuture) {
    if let Err(message) = program.await {
        panic!("{message}");
    }
}

/// The runtime builder every scenario run uses.
pub fn builder(seed: u64, strategy: &Strategy, max_time: Duration) -> sim::Builder {
    sim::Builder::new()
        .seed(seed)
        .strategy(strategy.clone())
        .max_time(max_time)
        .max_steps(200_000)
}

/// Runs one program over seeds the way `sim`'s sweeps do ([`sim::Check`], `corosim
/// run`): each seed runs the strategy its seed picks ([`Strategy::for_seed`], for a
/// portfolio), and PCT without a run length of its own draws its change points from
/// the longest run so far, in decisions ([`sim::DEFAULT_PCT_STEPS`] before the first
/// run), as [`sim::Check`] learns it.
#[derive(Debug, Clone)]
pub struct Sweep {
    strategy: Strategy,
    max_time: Duration,
    state: sim::sched::SweepState,
}

impl Sweep {
    /// A sweep of `strategy` with `max_time` of virtual time per run.
    pub fn new(strategy: &Strategy, max_time: Duration) -> Self {
        Sweep {
            strategy: strategy.clone(),
            max_time,
            state: sim::sched::SweepState::new(None),
        }
    }

    /// Runs `program` once under `seed` (through [`builder`], so the run is bounded).
    pub fn run(&mut self, seed: u64, program: fn() -> ScenarioFuture) -> Result<(), Failure> {
        let strategy = self.state.strategy_for(&self.strategy, seed);
        let mut rt = builder(seed, &strategy, self.max_time).build();
        let result = rt.block_on(main_of(program()));
        self.state.observe(rt.schedule().len() as u64);
        result
    }

    /// The first seed of `seeds` (run in order) on which `program` fails, with its
    /// failure.
    pub fn first_failure(
        &mut self,
        seeds: std::ops::Range<u64>,
        program: fn() -> ScenarioFuture,
    ) -> Option<(u64, Failure)> {
        seeds
            .into_iter()
            .find_map(|seed| self.run(seed, program).err().map(|f| (seed, f)))
    }
}

/// The default virtual-time bound of a scenario run.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(10);

macro_rules! entry {
    ($module:ident, $variant:ident, $name:literal, $expect:expr, $budget:expr, $desc:literal) => {
        Entry {
            scenario: stringify!($module),
            variant: $name,
            description: $desc,
            expect: $expect,
            budget: $budget,
            run: || {
                Box::pin($module::run(
                    $module::Config::default(),
                    $module::Variant::$variant,
                ))
            },
            configured: Some(|u| {
                let config: $module::Config =
                    arbitrary::Arbitrary::arbitrary(u).unwrap_or_default();
                Box::pin($module::run(config, $module::Variant::$variant))
            }),
        }
    };
}

use Expect::{Catch, Pass};
use FailureKind::{Deadlock, Panic, Race};

/// The pattern scenarios; [`registry()`] appends the classic bug benchmark.
static PATTERNS: &[Entry] = &[
    entry!(
        producer_consumer,
        Sentinels,
        "sentinels",
        Pass,
        0,
        "producers then one sentinel per consumer; task_done for every get; join"
    ),
    entry!(
        producer_consumer,
        Shutdown,
        "shutdown",
        Pass,
        0,
        "producers, join, then Queue::shutdown ends the consumers"
    ),
    entry!(
        producer_consumer,
        CancelledConsumer,
        "cancelled-consumer",
        Catch(Deadlock),
        50,
        "BUG: a timeout cancels a consumer between get and task_done; join never returns"
    ),
    entry!(
        producer_consumer,
        MissingSentinel,
        "missing-sentinel",
        Catch(Deadlock),
        1,
        "BUG: one sentinel fewer than consumers; the last consumer waits forever"
    ),
    entry!(
        channel,
        Correct,
        "correct",
        Pass,
        0,
        "mpsc senders with end markers counted per sender; oneshot request/reply"
    ),
    entry!(
        channel,
        EarlyStop,
        "early-stop",
        Catch(Panic),
        50,
        "BUG: the receiver stops at the first end marker, senders ignore send errors"
    ),
    entry!(
        philosophers,
        OrderedForks,
        "ordered-forks",
        Pass,
        0,
        "each philosopher takes the lower-numbered fork first"
    ),
    entry!(
        philosophers,
        LeftThenRight,
        "left-then-right",
        Catch(Deadlock),
        50,
        "BUG: everyone takes the left fork, then the right: a cycle of waits"
    ),
    entry!(
        philosophers,
        LeftThenRightNoYield,
        "left-then-right-no-yield",
        Catch(Deadlock),
        200,
        "BUG: left fork then right, with no yield between: the locks alone interleave"
    ),
    entry!(
        bank,
        Locked,
        "locked",
        Pass,
        0,
        "transfers check and update balances under one Mutex"
    ),
    entry!(
        bank,
        Unlocked,
        "unlocked",
        Catch(Race),
        1,
        "BUG: check-then-act on the balances across an .await without a lock"
    ),
    entry!(
        bank,
        UnlockedNoYield,
        "unlocked-no-yield",
        Catch(Race),
        1,
        "BUG: check-then-act on the balances without a lock, and no await in between"
    ),
    entry!(
        bounded_pool,
        Permit,
        "permit",
        Pass,
        0,
        "a Semaphore permit held for the whole job keeps at most K jobs running"
    ),
    entry!(
        bounded_pool,
        EarlyRelease,
        "early-release",
        Catch(Panic),
        1,
        "BUG: `let _ = sem.acquire()` drops the permit before the work starts"
    ),
    entry!(
        event_waiter,
        Event,
        "event",
        Pass,
        0,
        "waiters wait on an asyncio Event that the notifier sets"
    ),
    entry!(
        event_waiter,
        NotifyFlag,
        "notify-flag",
        Pass,
        0,
        "ready flag + notify_waiters; waiters register before checking the flag"
    ),
    entry!(
        event_waiter,
        LostWakeup,
        "lost-wakeup",
        Catch(Deadlock),
        50,
        "BUG: waiters await notified() without a flag; an earlier notify_waiters is lost"
    ),
    entry!(
        task_distributor,
        Correct,
        "correct",
        Pass,
        0,
        "jobs queue with a sentinel per worker, results queue, join, one result per job"
    ),
    entry!(
        task_distributor,
        SentinelNotDone,
        "sentinel-not-done",
        Catch(Deadlock),
        1,
        "BUG: workers leave on their sentinel without task_done; join never returns"
    ),
    entry!(
        task_distributor,
        OneResultTooMany,
        "one-result-too-many",
        Catch(Deadlock),
        1,
        "BUG: the collector waits for 0..=n results, one more than there are jobs"
    ),
    entry!(
        actors,
        Correct,
        "correct",
        Pass,
        0,
        "counter and logger actors; the counter asks the logger, never the reverse"
    ),
    entry!(
        actors,
        MutualAsk,
        "mutual-ask",
        Catch(Deadlock),
        50,
        "BUG: the logger asks the counter while the counter asks the logger"
    ),
    entry!(
        pipeline,
        UnboundedFeedback,
        "unbounded-feedback",
        Pass,
        0,
        "source, fan-out, workers, fan-in over bounded channels; retries unbounded"
    ),
    entry!(
        pipeline,
        BoundedFeedback,
        "bounded-feedback",
        Catch(Deadlock),
        200,
        "BUG: retries go back over a bounded channel: a cycle of full channels"
    ),
    entry!(
        timeouts,
        Recv,
        "recv",
        Pass,
        0,
        "timeout(recv) over mpsc: a timed-out receive takes nothing"
    ),
    entry!(
        timeouts,
        Get,
        "get",
        Pass,
        0,
        "timeout(get) over a Queue ended by shutdown"
    ),
    entry!(
        timeouts,
        TakeThenTimeout,
        "take-then-timeout",
        Catch(Panic),
        50,
        "BUG: get and validate under one timeout: a late timeout drops the taken item"
    ),
    entry!(
        ordering,
        Priority,
        "priority",
        Pass,
        0,
        "concurrent producers; every PriorityQueue get is the smallest item present"
    ),
    entry!(
        ordering,
        Lifo,
        "lifo",
        Pass,
        0,
        "concurrent producers; every LifoQueue get is the newest item present"
    ),
    entry!(
        ordering,
        LifoAssumedFifo,
        "lifo-assumed-fifo",
        Catch(Panic),
        50,
        "BUG: the consumer of a LifoQueue expects each producer's items in put order"
    ),
    entry!(
        stream,
        Drained,
        "drained",
        Pass,
        0,
        "a Stream over a bounded channel; on the stop it is closed and drained"
    ),
    entry!(
        stream,
        Unbounded,
        "unbounded",
        Catch(Panic),
        1,
        "BUG: the adapter pumps the bounded channel into an unbounded one: no back-pressure"
    ),
    entry!(
        stream,
        DroppedTail,
        "dropped-tail",
        Catch(Panic),
        5,
        "BUG: on the stop the consumer drops the stream with items still buffered in it"
    ),
    entry!(
        task_group,
        JoinSet,
        "join-set",
        Pass,
        0,
        "workers in a JoinSet, shut down (abort and wait) at the first error"
    ),
    entry!(
        task_group,
        TryJoin,
        "try-join",
        Pass,
        0,
        "workers as futures of one task under try_join!: the first error drops the others"
    ),
    entry!(
        task_group,
        DetachOnError,
        "detach-on-error",
        Catch(Panic),
        5,
        "BUG: the handles are dropped at the first error: siblings run on and write"
    ),
    entry!(
        resource_guard,
        Guarded,
        "guarded",
        Pass,
        0,
        "a guard from registration to unregistration; a dropped one cleans up in a task"
    ),
    entry!(
        resource_guard,
        GuardAfterSetup,
        "guard-after-setup",
        Catch(Panic),
        10,
        "BUG: the guard is created after the handshake: a cancelled setup leaks"
    ),
    entry!(
        resource_guard,
        DisarmBeforeTeardown,
        "disarm-before-teardown",
        Catch(Panic),
        5,
        "BUG: the teardown disarms the guard before its await: a cancelled teardown leaks"
    ),
    entry!(
        completion,
        Oneshot,
        "oneshot",
        Pass,
        0,
        "responder and watchdog take a oneshot sender from a slot, then send"
    ),
    entry!(
        completion,
        CheckThenComplete,
        "check-then-complete",
        Catch(Panic),
        5,
        "BUG: the responder checks the promise is open, awaits, then completes it"
    ),
    entry!(
        completion,
        ForgottenOnError,
        "forgotten-on-error",
        Catch(Deadlock),
        10,
        "BUG: the error path returns without completing a claimed request"
    ),
    entry!(
        echo,
        Framed,
        "framed",
        Pass,
        0,
        "TCP echo server, several clients; each reads back exactly the bytes it sent"
    ),
    entry!(
        echo,
        OneReadOneMessage,
        "one-read-one-message",
        Catch(Panic),
        BUDGET_ECHO,
        "BUG: a client takes one read for one message; TCP splits and coalesces writes"
    ),
    entry!(
        broker,
        AtLeastOnce,
        "at-least-once",
        Pass,
        0,
        "UDP requests through a broker across a partition; retries, idempotent service"
    ),
    entry!(
        broker,
        NoRetry,
        "no-retry",
        Catch(Panic),
        BUDGET_BROKER_NO_RETRY,
        "BUG: no ack and retry; a request lost in the partition is never answered"
    ),
    entry!(
        broker,
        NotIdempotent,
        "not-idempotent",
        Catch(Panic),
        BUDGET_BROKER_NOT_IDEMPOTENT,
        "BUG: the client retries, the service applies every copy it receives"
    ),
    entry!(
        downloads,
        Guarded,
        "guarded",
        Pass,
        0,
        "downloads from a flaky server, a Semaphore bound, timeouts and retries"
    ),
    entry!(
        downloads,
        PermitLeak,
        "permit-leak",
        Catch(Deadlock),
        BUDGET_DOWNLOADS,
        "BUG: the error path forgets its permit; the pool starves"
    ),
    entry!(
        leader,
        Disk,
        "disk",
        Pass,
        0,
        "a leader appends to its disk before acking; it crashes and restarts mid-run"
    ),
    entry!(
        leader,
        Memory,
        "memory",
        Catch(Panic),
        BUDGET_LEADER,
        "BUG: the leader's log is in memory, assumed to survive its restart"
    ),
];

// Seed budgets of the network scenarios' bugs (see `Entry::budget`).
const BUDGET_ECHO: u64 = 10;
const BUDGET_BROKER_NO_RETRY: u64 = 5;
const BUDGET_BROKER_NOT_IDEMPOTENT: u64 = 50;
const BUDGET_DOWNLOADS: u64 = 10;
const BUDGET_LEADER: u64 = 10;

/// Every scenario/variant: the patterns, then the classic bug benchmark as scenario
/// `classic` (every fixed twin as `<bug>-fixed`, then every bug, whose budget is
/// [`classic::BUDGET`]).
static REGISTRY: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let mut all = PATTERNS.to_vec();
    let bugs = classic::bugs();
    all.extend(bugs.iter().map(|b| Entry {
        scenario: "classic",
        variant: b.fixed_name,
        description: b.fix,
        expect: Pass,
        budget: 0,
        run: b.fixed,
        configured: None,
    }));
    all.extend(bugs.iter().map(|b| Entry {
        scenario: "classic",
        variant: b.name,
        description: b.description,
        expect: Catch(b.expect),
        budget: classic::BUDGET,
        run: b.buggy,
        configured: None,
    }));
    all
});

/// Every scenario/variant, in a fixed order (scenario by scenario, correct first).
pub fn registry() -> &'static [Entry] {
    &REGISTRY
}

/// The distinct scenario names, in registry order.
pub fn scenario_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for e in registry() {
        if !names.contains(&e.scenario) {
            names.push(e.scenario);
        }
    }
    names
}

/// The entries `spec` names: `scenario` (all its variants) or `scenario/variant`.
///
/// # Errors
/// A message naming the input and the accepted names when nothing matches.
pub fn select(spec: &str) -> Result<Vec<&'static Entry>, String> {
    let (scenario, variant) = match spec.split_once('/') {
        Some((s, v)) => (s, Some(v)),
        None => (spec, None),
    };
    let in_scenario: Vec<&'static Entry> = registry()
        .iter()
        .filter(|e| e.scenario == scenario)
        .collect();
    if in_scenario.is_empty() {
        return Err(format!(
            "unknown scenario {scenario:?} (in {spec:?}); expected one of: {}",
            scenario_names().join(", ")
        ));
    }
    match variant {
        None => Ok(in_scenario),
        Some(v) => {
            let found: Vec<_> = in_scenario
                .iter()
                .copied()
                .filter(|e| e.variant == v)
                .collect();
            if found.is_empty() {
                let names: Vec<_> = in_scenario.iter().map(|e| e.variant).collect();
                Err(format!(
                    "unknown variant {v:?} of scenario {scenario:?} (in {spec:?}); expected one of: {}",
                    names.join(", ")
                ))
            } else {
                Ok(found)
            }
        }
    }
}

/// Spawns a named task.
#[track_caller]
pub(crate) fn spawn_named<F>(name: &str, future: F) -> sim::task::JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    sim::task::Builder::new()
        .name(name)
        .spawn(future)
        .expect("spawning a simulated task does not fail")
}

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Awaits every handle, turning a task's panic or cancellation into an error.
pub(crate) async fn join_all<T: 'static>(
    handles: Vec<sim::task::JoinHandle<T>>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.map_err(|e| format!("a task failed: {e}"))?);
    }
    Ok(out)
}
