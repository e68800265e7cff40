//! # classic: a benchmark of concurrency bugs from the literature
//!
//! Each [`Bug`] is a small program (2 to 12 tasks, a few hundred steps at most) with
//! one classic concurrency bug, in two versions ([`Twin`]): the buggy one, whose wrong
//! line is marked `// BUG:`, and its fixed twin, the natural correct version with the
//! same tasks and operations. The programs use plain `.await` on `sim`'s primitives and
//! **no helper yields**: no `yield_now` and no `sleep` placed only to open a race window.
//! A bug must be found by the scheduler alone, at the scheduling points the primitives
//! offer. [`bugs()`] is the registry; [`Bug::expect`] says which failure catches the bug
//! (a deadlock, a failed `assert!`, or a data race on a [`RaceCell`](sim::cell::RaceCell)).
//!
//! This module owns the programs and their registry only; it must not tune a program to
//! one scheduler (no seeds, no yields), and it reaches the runtime only through `sim`'s
//! public API, like every scenario.
//!
//! | bug | source | caught as |
//! |---|---|---|
//! | `abba-deadlock` | SCTBench `deadlock01_bad` (Thomson, Donaldson, Betts, PPoPP 2014) | deadlock |
//! | `dining-philosophers` | Dijkstra, EWD310 (1971); CHESS `diningphil` | deadlock |
//! | `lost-wakeup` | Birrell, *An Introduction to Programming with Threads* (1989) | deadlock |
//! | `notify-one-bounded-buffer` | OSTEP ch. 30 (single condition variable); Java `notify` vs `notifyAll` | deadlock |
//! | `condvar-if-not-while` | OSTEP ch. 30; Lampson and Redell, Mesa monitors (CACM 1980) | panic |
//! | `two-stage` | SCTBench `twostage_bad` (Thomson et al., PPoPP 2014) | panic |
//! | `stringbuffer-append` | JDK 1.4 `StringBuffer.append` (Flanagan and Qadeer, PLDI 2003) | panic |
//! | `bank-check-then-act` | SCTBench `account_bad`; Lu et al., ASPLOS 2008 (atomicity violations) | panic |
//! | `double-checked-init` | double-checked locking (Schmidt and Harrison, 1997); CHESS `lazyinit` | panic |
//! | `reorder-10` | SCTBench `reorder_10_bad`; PCT (Burckhardt et al., ASPLOS 2010) | panic |
//! | `wrong-lock` | SCTBench `wronglock_bad` (Thomson et al., PPoPP 2014) | race |
//! | `work-stealing-queue` | CHESS `WorkStealQueue` (Musuvathi et al., OSDI 2008); Cilk THE protocol | panic |
//! | `lightswitch-deadlock` | Downey, *The Little Book of Semaphores* §4.2.6 (writer-priority readers-writers) | deadlock |
//! | `rwlock-upgrade` | read-to-write upgrade (Java `ReentrantReadWriteLock` documentation) | deadlock |
//! | `rwlock-recursive-read` | `tokio::sync::RwLock::read` documentation (writer-preferring locks) | deadlock |
//! | `actor-bounded-reply` | Tu et al., *Understanding Real-World Concurrency Bugs in Go* (ASPLOS 2019) | deadlock |
//!
//! ```
//! use scenarios::classic::{Twin, bugs};
//! use scenarios::DEFAULT_MAX_TIME;
//! use sim::Strategy;
//!
//! let abba = bugs().iter().find(|b| b.name == "abba-deadlock").unwrap();
//! // The fixed twin takes the two locks in one global order: it never deadlocks.
//! for seed in 0..20 {
//!     abba.run_seed(Twin::Fixed, seed, &Strategy::Random, DEFAULT_MAX_TIME).unwrap();
//! }
//! ```

use std::time::Duration;

use sim::{Failure, FailureKind, Strategy};

use crate::ScenarioFuture;

mod actors;
mod atomicity;
mod condvars;
mod locks;
mod rwlocks;
mod work_stealing;

/// The schedules (seeds, from 0) within which the default strategy, `random` and
/// `pct:3` must each catch every bug, with its expected failure kind.
pub const BUDGET: u64 = 10_000;

/// The seeds on which no fixed twin may fail, under each of those strategies.
pub const TWIN_SEEDS: u64 = 2_000;

/// Which version of a bug's program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Twin {
    /// The program with the bug (its wrong line is marked `// BUG:`).
    Buggy,
    /// The fixed twin: the same tasks and operations, the bug removed.
    Fixed,
}

impl Twin {
    /// `buggy` or `fixed`.
    pub fn label(self) -> &'static str {
        match self {
            Twin::Buggy => "buggy",
            Twin::Fixed => "fixed",
        }
    }
}

/// One classic concurrency bug: its program in both versions and what catches it.
#[derive(Clone, Copy)]
pub struct Bug {
    /// Kebab-case name, e.g. `abba-deadlock`.
    pub name: &'static str,
    /// The fixed twin's name: `<name>-fixed` (its variant name in the scenario
    /// [`registry`](crate::registry)).
    pub fixed_name: &'static str,
    /// One line on the bug.
    pub description: &'static str,
    /// One line on the fix (what the fixed twin does instead).
    pub fix: &'static str,
    /// Where in the literature it comes from.
    pub source: &'static str,
    /// The failure that catches the buggy version: `Deadlock`, `Panic` (a failed
    /// assert) or `Race` (a [`RaceCell`](sim::cell::RaceCell) accessed without order).
    pub expect: FailureKind,
    /// Builds a run of the buggy version.
    pub buggy: fn() -> ScenarioFuture,
    /// Builds a run of the fixed twin.
    pub fixed: fn() -> ScenarioFuture,
}

impl std::fmt::Debug for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bug")
            .field("name", &self.name)
            .field("expect", &self.expect)
            .finish_non_exhaustive()
    }
}

impl Bug {
    /// The program of one version.
    pub fn program(&self, twin: Twin) -> fn() -> ScenarioFuture {
        match twin {
            Twin::Buggy => self.buggy,
            Twin::Fixed => self.fixed,
        }
    }

    /// Runs one version once under `seed` and `strategy` (through
    /// [`builder`](crate::builder), so the run is bounded), with `max_time` of virtual
    /// time at most.
    pub fn run_seed(
        &self,
        twin: Twin,
        seed: u64,
        strategy: &Strategy,
        max_time: Duration,
    ) -> Result<(), Failure> {
        let mut rt = crate::builder(seed, strategy, max_time).build();
        self.run_on(twin, &mut rt)
    }

    /// Runs one version once on `rt` (which keeps the trace and schedule).
    pub fn run_on(&self, twin: Twin, rt: &mut sim::Runtime) -> Result<(), Failure> {
        rt.block_on(crate::main_of(self.program(twin)))
    }

    /// The first seed of `seeds` on which `twin` fails under `strategy`, with its
    /// failure, in a [`Sweep`](crate::Sweep) over `seeds` (so PCT learns the run
    /// length as `sim`'s sweeps do).
    pub fn first_failure(
        &self,
        twin: Twin,
        strategy: &Strategy,
        seeds: std::ops::Range<u64>,
    ) -> Option<(u64, Failure)> {
        crate::Sweep::new(strategy, crate::DEFAULT_MAX_TIME)
            .first_failure(seeds, self.program(twin))
    }
}

use FailureKind::{Deadlock, Panic, Race};

macro_rules! bug {
    ($module:ident :: $program:ident, $name:literal, $expect:expr, $source:literal, $desc:literal, $fix:literal) => {
        Bug {
            name: $name,
            fixed_name: concat!($name, "-fixed"),
            description: $desc,
            fix: $fix,
            source: $source,
            expect: $expect,
            buggy: || Box::pin($module::$program(Twin::Buggy)),
            fixed: || Box::pin($module::$program(Twin::Fixed)),
        }
    };
}

static BUGS: &[Bug] = &[
    bug!(
        locks::abba,
        "abba-deadlock",
        Deadlock,
        "SCTBench deadlock01_bad (Thomson, Donaldson, Betts, PPoPP 2014)",
        "two tasks take two mutexes in opposite orders",
        "both tasks take `a`, then `b`"
    ),
    bug!(
        locks::philosophers,
        "dining-philosophers",
        Deadlock,
        "Dijkstra, EWD310 (1971); CHESS diningphil",
        "five philosophers each take the left fork, then the right one",
        "each philosopher takes the lower-numbered fork first"
    ),
    bug!(
        condvars::lost_wakeup,
        "lost-wakeup",
        Deadlock,
        "Birrell, An Introduction to Programming with Threads (1989)",
        "waiters check a flag under one acquisition and wait under another; notify_all falls in between",
        "check the flag and wait under one acquisition, in a `while` loop"
    ),
    bug!(
        condvars::bounded_buffer,
        "notify-one-bounded-buffer",
        Deadlock,
        "OSTEP ch. 30 (one condition variable); Java notify vs notifyAll",
        "producers and consumers share one condition variable and notify_one wakes the wrong kind",
        "notify_all: every waiter re-checks its own condition"
    ),
    bug!(
        condvars::if_not_while,
        "condvar-if-not-while",
        Panic,
        "OSTEP ch. 30; Lampson and Redell, Mesa monitors (CACM 1980)",
        "a consumer re-checks the buffer with `if`, not `while`: another consumer took the item",
        "re-check the buffer in a `while` loop after every wakeup"
    ),
    bug!(
        atomicity::two_stage,
        "two-stage",
        Panic,
        "SCTBench twostage_bad (Thomson et al., PPoPP 2014)",
        "a pair is published in two acquisitions of one lock; a reader sees half of it",
        "publish both fields under one acquisition"
    ),
    bug!(
        atomicity::stringbuffer_append,
        "stringbuffer-append",
        Panic,
        "JDK 1.4 StringBuffer.append (Flanagan and Qadeer, PLDI 2003)",
        "append reads the source's length in one acquisition and its contents in another",
        "read the length and the contents under one acquisition"
    ),
    bug!(
        atomicity::bank_check_then_act,
        "bank-check-then-act",
        Panic,
        "SCTBench account_bad; Lu et al., ASPLOS 2008 (atomicity violations)",
        "a withdrawal checks the balance in one acquisition and debits it in another",
        "check and debit under one acquisition"
    ),
    bug!(
        atomicity::double_checked_init,
        "double-checked-init",
        Panic,
        "double-checked locking (Schmidt and Harrison, 1997); CHESS lazyinit",
        "lazy initialisation checks in one acquisition and initialises in another without re-checking",
        "check again under the acquisition that initialises"
    ),
    bug!(
        atomicity::reorder,
        "reorder-10",
        Panic,
        "SCTBench reorder_10_bad; PCT (Burckhardt et al., ASPLOS 2010)",
        "ten setters set `a` then `b` in two acquisitions; a checker asserts they agree",
        "set both, and read both, under one acquisition"
    ),
    bug!(
        locks::wrong_lock,
        "wrong-lock",
        Race,
        "SCTBench wronglock_bad (Thomson et al., PPoPP 2014)",
        "two tasks guard one counter with two different mutexes",
        "both tasks guard the counter with the same mutex"
    ),
    bug!(
        work_stealing::work_stealing,
        "work-stealing-queue",
        Panic,
        "CHESS WorkStealQueue (Musuvathi et al., OSDI 2008); Cilk THE protocol (Frigo et al., PLDI 1998)",
        "the owner checks the deque's size in one acquisition and pops in another; a thief steals in between",
        "check the size and pop under one acquisition"
    ),
    bug!(
        rwlocks::lightswitch,
        "lightswitch-deadlock",
        Deadlock,
        "Downey, The Little Book of Semaphores, 4.2.6 (writer-priority readers-writers)",
        "readers take the lightswitch before the turnstile: reader and writer hold what the other needs",
        "the turnstile first, then the lightswitch, as in the book"
    ),
    bug!(
        rwlocks::upgrade,
        "rwlock-upgrade",
        Deadlock,
        "read-to-write upgrade (Java ReentrantReadWriteLock documentation)",
        "a reader that finds the cache stale asks for the write lock while holding its read guard",
        "drop the read guard, take the write lock, check again"
    ),
    bug!(
        rwlocks::recursive_read,
        "rwlock-recursive-read",
        Deadlock,
        "tokio::sync::RwLock::read documentation (writer-preferring locks)",
        "a task holding a read guard reads again; a writer queued in between blocks both",
        "use the value under the read guard already held"
    ),
    bug!(
        actors::bounded_reply,
        "actor-bounded-reply",
        Deadlock,
        "Tu et al., Understanding Real-World Concurrency Bugs in Go (ASPLOS 2019)",
        "clients pipeline requests over bounded channels with fewer reply slots than requests in flight",
        "a reply slot for every request in flight"
    ),
];

/// Every bug of the benchmark, in a fixed order.
pub fn bugs() -> &'static [Bug] {
    BUGS
}

/// The bug named `name`.
pub fn bug(name: &str) -> Option<&'static Bug> {
    BUGS.iter().find(|b| b.name == name)
}
