//! The `corosim` command.
//!
//! - `corosim list`: every scenario/variant of the `scenarios` crate, with a one-line
//!   description and its expectation (`pass`, or `catch:<kind>` for a known bug).
//! - `corosim run [SCENARIO[/VARIANT]...]`: sweeps seeds over the selected variants (all
//!   when none is named) in parallel, with a progress bar on stderr, and ends with a
//!   table (or `--format json`). Exit code 0 when every correct variant passed every
//!   seed and every buggy variant was caught with its expected failure kind, 1
//!   otherwise (the reasons are printed).
//! - `corosim replay SCENARIO/VARIANT --seed N [--strategy S]` (or `--schedule
//!   STR|@file`): runs one seed again and prints the failure report and the trace.
//!   Exit code 1 when the run fails, 0 when it passes. `--trace-out FILE` is opened
//!   before the run, so a path that cannot be written exits with code 2 at once.
//! - `corosim schedule SCHEDULE`: decodes a schedule string (as printed in a failure
//!   report, or `@file`) and summarises it: seed, steps, context switches, steps per
//!   task.
//!
//! Bad input (an unknown scenario, a bad shard, a corrupt schedule, `--seeds 0`,
//! `--max-time 0s`) exits with code 2 and a message naming the input and what was
//! expected. Every value a setting of `sim` also has (`--seeds`, `--start-seed`,
//! `--strategy`, `--max-time`, `--seed`, `--schedule`) is parsed by that setting's one
//! parser in `sim::config`, so it reads exactly as `SIM_*` and `#[sim::test]` do
//! (durations take a unit: `10s`, `500ms`, `1.5h`).
//!
//! # Determinism of `run`
//!
//! Each worker thread owns its runtimes (a run is single-threaded); workers take seeds
//! in increasing order from a shared counter. A correct variant runs every seed; a
//! buggy one stops once caught, but only seeds above the smallest failing seed found
//! so far are skipped, so the first failing seed (the minimum), the seeds counted as
//! run (up to and including it) and the failure reported do not depend on `--jobs`.
//!
//! # Shards
//!
//! `--shard I/N` keeps the seeds `s` of `start..start + seeds` with `s % N == I - 1`
//! (interleaved, not contiguous blocks), so `N` machines given the same `--seeds` and
//! `--start-seed` cover the range exactly once between them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use scenarios::{Entry, Expect};
use serde::Serialize;
use sim::config::{ConfigError, Source, StartSeed, parse};
use sim::reproduce::{Place, Reproduce};
use sim::{Schedule, Strategy};

/// Deterministic simulation testing for async Rust.
#[derive(Parser, Debug)]
#[command(name = "corosim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode and summarise a schedule string (`v2:<seed>:<decisions>`, or `@path` of a file).
    Schedule {
        /// The schedule string, or `@path` of a file holding one.
        schedule: String,
    },
    /// List the scenarios and their variants, with what each is expected to do.
    List,
    /// Sweep seeds over scenario variants and print a table of results.
    Run(RunArgs),
    /// Run one seed (or schedule) of one variant again; print its report and trace.
    Replay(ReplayArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// `SCENARIO` (all its variants) or `SCENARIO/VARIANT`; none: everything.
    specs: Vec<String>,
    /// How many seeds to sweep (before sharding).
    #[arg(long, default_value = "1000", value_parser = flag(parse::seeds))]
    seeds: u64,
    /// The first seed (decimal or `0x` hexadecimal), or `random` (drawn and printed).
    #[arg(long, default_value = "0", value_parser = flag(parse::start_seed))]
    start_seed: StartSeed,
    /// The scheduler: portfolio (a strategy per seed), random, pct (depth 3),
    /// `pct:<depth>`, prob, `prob:<keep percent>`, pos, round-robin.
    #[arg(long, default_value = "portfolio", value_parser = flag(parse::sweep_strategy))]
    strategy: Strategy,
    /// The virtual-time bound of each run: a number with a unit (`10s`, `500ms`, `2m`).
    #[arg(long, default_value = "10s", value_parser = flag(parse::max_time))]
    max_time: Duration,
    /// Worker threads (default: the available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// Run only shard I of N: the seeds `s` with `s % N == I - 1`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args, Debug)]
struct ReplayArgs {
    /// `SCENARIO/VARIANT`.
    spec: String,
    /// The seed to run (decimal or `0x` hexadecimal).
    #[arg(
        long,
        conflicts_with = "schedule",
        required_unless_present = "schedule",
        value_parser = flag(parse::seed)
    )]
    seed: Option<u64>,
    /// The scheduler: portfolio (the seed's pick), random, pct, `pct:<depth>`,
    /// `pct:<depth>:<steps>`, prob, `prob:<keep percent>`, pos, round-robin. A failure
    /// report names the exact strategy to pass here.
    #[arg(long, default_value = "portfolio", value_parser = flag(parse::sweep_strategy), conflicts_with = "schedule")]
    strategy: Strategy,
    /// A recorded schedule (from a failure report), or `@path` of a file holding one.
    #[arg(long, value_parser = flag(parse::schedule))]
    schedule: Option<Schedule>,
    /// The virtual-time bound of the run: a number with a unit (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = flag(parse::max_time))]
    max_time: Duration,
    /// Write the trace to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    trace_out: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// One JSON object.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shard {
    index: u64,
    count: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Schedule { schedule } => parse::schedule(Source::Flag, &schedule)
            .map_err(|e| e.to_string())
            .map(|s| {
                emit(&summarise(&s));
                ExitCode::SUCCESS
            }),
        Command::List => {
            emit(&list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(&args),
        Command::Replay(args) => replay(&args),
    };
    result.unwrap_or_else(|message| {
        eprintln!("corosim: {message}");
        ExitCode::from(2)
    })
}

/// Writes `text` to stdout; a closed pipe (`corosim ... | head`) is not an error.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A `sim::config` parser as a `clap` value parser: the flag's value, read as the
/// setting reads it everywhere else (the error names the flag).
fn flag<T>(
    parser: fn(Source, &str) -> Result<T, ConfigError>,
) -> impl Fn(&str) -> Result<T, ConfigError> + Clone {
    move |s| parser(Source::Flag, s)
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let expected = "expected I/N with 1 <= I <= N, e.g. 1/4";
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("shard {s:?} has no '/'; {expected}"))?;
    let (Ok(index), Ok(count)) = (i.trim().parse::<u64>(), n.trim().parse::<u64>()) else {
        return Err(format!("shard {s:?} is not two whole numbers; {expected}"));
    };
    if index == 0 || count == 0 || index > count {
        return Err(format!("shard {s:?} does not exist; {expected}"));
    }
    Ok(Shard { index, count })
}

fn summarise(s: &Schedule) -> String {
    let mut per_task: BTreeMap<u32, usize> = BTreeMap::new();
    for t in s.steps() {
        *per_task.entry(t.as_u32()).or_default() += 1;
    }
    let mut out = format!(
        "seed             {} (SIM_SEED={})\nsteps            {}\ncontext switches {}\ntasks            {}\n",
        s.seed(),
        s.seed(),
        s.len(),
        s.context_switches(),
        per_task.len()
    );
    for (task, steps) in per_task {
        out.push_str(&format!("  task {task:<6} {steps} steps\n"));
    }
    out
}

/// The width of the variant column: the longest variant name, at least 20.
fn variant_width<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> usize {
    entries
        .into_iter()
        .map(|e| e.variant.len())
        .max()
        .unwrap_or(0)
        .max(20)
}

fn list() -> String {
    let w = variant_width(scenarios::registry());
    let mut out = format!(
        "{:<18} {:<w$} {:<16} {}\n",
        "SCENARIO", "VARIANT", "EXPECT", "DESCRIPTION"
    );
    for e in scenarios::registry() {
        let _ = writeln!(
            out,
            "{:<18} {:<w$} {:<16} {}",
            e.scenario,
            e.variant,
            e.expect.label(),
            e.description
        );
    }
    out
}

/// The entries the specs name, in order, without duplicates (all when none).
fn select(specs: &[String]) -> Result<Vec<&'static Entry>, String> {
    if specs.is_empty() {
        return Ok(scenarios::registry().iter().collect());
    }
    let mut out: Vec<&'static Entry> = Vec::new();
    for spec in specs {
        for e in scenarios::select(spec)? {
            if !out.iter().any(|o| std::ptr::eq(*o, e)) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// The seeds a sweep runs: `first`, `first + step`, ... (`len` of them).
#[derive(Clone, Copy, Debug)]
struct SeedSet {
    first: u64,
    step: u64,
    len: u64,
}

impl SeedSet {
    /// The seeds of `start..end` in `shard` (`s % N == I - 1`), or all of them.
    fn new(start: u64, end: u64, shard: Option<Shard>) -> SeedSet {
        let Some(sh) = shard else {
            return SeedSet {
                first: start,
                step: 1,
                len: end - start,
            };
        };
        let offset = (sh.index - 1 + sh.count - start % sh.count) % sh.count;
        let len = match start.checked_add(offset) {
            Some(first) if first < end => (end - first - 1) / sh.count + 1,
            _ => 0,
        };
        SeedSet {
            first: start.wrapping_add(offset),
            step: sh.count,
            len,
        }
    }

    /// The `i`th seed.
    fn get(&self, i: u64) -> u64 {
        self.first + i * self.step
    }
}

/// The first (smallest) failing seed of a variant's sweep.
struct FirstFailure {
    seed: u64,
    kind: sim::FailureKind,
    report: String,
    schedule: String,
    /// `corosim replay` of this seed, under the strategy it ran (a portfolio's pick,
    /// PCT's run length).
    command: Reproduce,
}

impl FirstFailure {
    fn new(seed: u64, failure: &sim::Failure) -> Self {
        FirstFailure {
            seed,
            kind: failure.kind(),
            report: failure.to_string(),
            schedule: failure.schedule().to_string(),
            command: failure.run().reproduce.clone(),
        }
    }
}

/// The sweep of one variant.
struct Outcome {
    entry: &'static Entry,
    seeds_run: u64,
    failures: u64,
    first: Option<FirstFailure>,
    seeds_per_second: f64,
}

impl Outcome {
    /// `None` when as expected; otherwise why not.
    fn problem(&self) -> Option<String> {
        let id = self.entry.id();
        match (self.entry.expect, &self.first) {
            (Expect::Pass, None) => None,
            (Expect::Pass, Some(f)) => Some(format!(
                "{id}: expected to pass, failed on {} of {} seeds (first: seed {}, {}); replay with `{}`",
                self.failures, self.seeds_run, f.seed, f.kind, f.command
            )),
            (Expect::Catch(k), None) => Some(format!(
                "{id}: expected {k}, but none of the {} seeds failed",
                self.seeds_run
            )),
            (Expect::Catch(k), Some(f)) if f.kind != k => Some(format!(
                "{id}: expected {k}, but seed {} failed with {}; replay with `{}`",
                f.seed, f.kind, f.command
            )),
            _ => None,
        }
    }
}

fn run(args: &RunArgs) -> Result<ExitCode, String> {
    let entries = select(&args.specs)?;
    let start_seed = match args.start_seed {
        StartSeed::Fixed(s) => s,
        StartSeed::Random => {
            let s = sim::env::fresh_seed();
            eprintln!("corosim: --start-seed random drew {s} (rerun with --start-seed {s})");
            s
        }
    };
    let end = start_seed.checked_add(args.seeds).ok_or_else(|| {
        format!(
            "--start-seed {start_seed} with --seeds {} goes past the last seed {}",
            args.seeds,
            u64::MAX
        )
    })?;
    let seeds = SeedSet::new(start_seed, end, args.shard);
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| usize::try_from(j).unwrap_or(usize::MAX),
    );

    let total = seeds.len.saturating_mul(entries.len() as u64);
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} {bar:20} {pos}/{len} seeds {rate} {wide_msg}",
        )
        .expect("a valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        ),
    );
    let failures_total = AtomicU64::new(0);
    let mut outcomes = Vec::new();
    for entry in entries {
        bar.set_message(format!(
            "{} failures  {}",
            failures_total.load(Ordering::Relaxed),
            entry.id()
        ));
        let outcome = sweep(entry, &seeds, args, jobs, &bar, &failures_total);
        outcomes.push(outcome);
    }
    bar.finish_and_clear();

    let problems: Vec<String> = outcomes.iter().filter_map(Outcome::problem).collect();
    match args.format {
        Format::Table => {
            emit(&table(&outcomes, &args.strategy));
            if problems.is_empty() {
                emit("ok: every correct variant passed and every bug was caught\n");
            }
        }
        Format::Json => emit(&format!(
            "{}\n",
            json(args, start_seed, &seeds, &outcomes, &problems)
        )),
    }
    for p in &problems {
        eprintln!("corosim: {p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Seeds of each variant's sweep that run one after another before the others run in
/// parallel: PCT's run-length estimate is the longest run among them, the same for any
/// `--jobs`.
const CALIBRATION_SEEDS: u64 = 16;

/// Runs `entry` on `seeds` with `jobs` worker threads; see the module docs on why the
/// result does not depend on `jobs`.
fn sweep(
    entry: &'static Entry,
    seeds: &SeedSet,
    args: &RunArgs,
    jobs: usize,
    bar: &ProgressBar,
    failures_total: &AtomicU64,
) -> Outcome {
    let buggy = entry.expect != Expect::Pass;
    let calibrate = seeds.len.min(CALIBRATION_SEEDS);
    let next = AtomicU64::new(calibrate);
    // Index of the smallest failing seed found so far (buggy variants stop past it).
    let stop_at = AtomicU64::new(u64::MAX);
    let failures = AtomicU64::new(0);
    // Learned from the calibration runs only, then frozen.
    let learned = Mutex::new(sim::sched::SweepState::new(None));
    let first: Mutex<Option<(u64, FirstFailure)>> = Mutex::new(None);
    let executed = AtomicU64::new(0);
    let started = Instant::now();
    let run_index = |i: u64| {
        executed.fetch_add(1, Ordering::Relaxed);
        let seed = seeds.get(i);
        let strategy = learned
            .lock()
            .expect("no worker panics")
            .strategy_for(&args.strategy, seed);
        let mut rt = scenarios::builder(seed, &strategy, args.max_time).build();
        let result = entry.run_on(&mut rt);
        if i < calibrate {
            let decisions = rt.schedule().len() as u64;
            learned.lock().expect("no worker panics").observe(decisions);
        }
        bar.inc(1);
        let Err(mut failure) = result else { return };
        point_at_corosim(&mut failure, entry);
        failures.fetch_add(1, Ordering::Relaxed);
        let n = failures_total.fetch_add(1, Ordering::Relaxed) + 1;
        bar.set_message(format!("{n} failures  {}", entry.id()));
        stop_at.fetch_min(i, Ordering::Relaxed);
        let mut first = first.lock().expect("no worker panics");
        if first.as_ref().is_none_or(|f| i < f.0) {
            *first = Some((i, FirstFailure::new(seed, &failure)));
        }
    };
    let stopped = |i: u64| buggy && i > stop_at.load(Ordering::Relaxed);
    for i in 0..calibrate {
        if stopped(i) {
            break;
        }
        run_index(i);
    }
    std::thread::scope(|scope| {
        let workers = usize::try_from(seeds.len - calibrate).map_or(jobs, |n| jobs.min(n));
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= seeds.len || stopped(i) {
                        break;
                    }
                    run_index(i);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let first = first.into_inner().expect("no worker panics");
    let (seeds_run, failures) = match (&first, buggy) {
        // Seeds up to and including the first failing one; only it counts.
        (Some((i, _)), true) => (*i + 1, 1),
        _ => (seeds.len, failures.load(Ordering::Relaxed)),
    };
    // The bar counts every seed of the variant, run or skipped.
    let executed = executed.into_inner();
    bar.inc(seeds.len - executed);
    Outcome {
        entry,
        seeds_run,
        failures,
        first: first.map(|(_, f)| f),
        seeds_per_second: executed as f64 / elapsed.as_secs_f64().max(1e-9),
    }
}

fn table(outcomes: &[Outcome], strategy: &Strategy) -> String {
    let w = variant_width(outcomes.iter().map(|o| o.entry));
    let mut out = format!(
        "strategy: {}\n{:<18} {:<w$} {:<16} {:>6} {:>8} {:>10} {:<10} {:>9} {}\n",
        strategy.env_value(),
        "SCENARIO",
        "VARIANT",
        "EXPECTED",
        "SEEDS",
        "FAILURES",
        "FIRST-FAIL",
        "KIND",
        "SEEDS/S",
        "RESULT"
    );
    for o in outcomes {
        let (first, kind) = match &o.first {
            Some(f) => (f.seed.to_string(), f.kind.as_str()),
            None => ("-".to_string(), "-"),
        };
        let _ = writeln!(
            out,
            "{:<18} {:<w$} {:<16} {:>6} {:>8} {:>10} {:<10} {:>9.0} {}",
            o.entry.scenario,
            o.entry.variant,
            o.entry.expect.label(),
            o.seeds_run,
            o.failures,
            first,
            kind,
            o.seeds_per_second,
            if o.problem().is_none() { "ok" } else { "FAIL" }
        );
    }
    out
}

/// `corosim run --format json`: the sweep's parameters and one result per variant.
#[derive(Serialize)]
struct JsonRun<'a> {
    strategy: String,
    start_seed: u64,
    seeds: u64,
    shard: Option<String>,
    max_time_ms: u128,
    seed_first: u64,
    seed_step: u64,
    seed_count: u64,
    ok: bool,
    results: Vec<JsonResult<'a>>,
}

/// One variant's sweep in the JSON output.
#[derive(Serialize)]
struct JsonResult<'a> {
    scenario: &'a str,
    variant: &'a str,
    expected: String,
    seeds_run: u64,
    failures: u64,
    first_failing_seed: Option<u64>,
    failure_kind: Option<&'static str>,
    schedule: Option<&'a str>,
    report: Option<&'a str>,
    ok: bool,
    problem: Option<String>,
    /// Rounded to one decimal.
    seeds_per_second: f64,
}

fn json(
    args: &RunArgs,
    start_seed: u64,
    seeds: &SeedSet,
    outcomes: &[Outcome],
    problems: &[String],
) -> String {
    let results = outcomes
        .iter()
        .map(|o| {
            let first = o.first.as_ref();
            JsonResult {
                scenario: o.entry.scenario,
                variant: o.entry.variant,
                expected: o.entry.expect.label(),
                seeds_run: o.seeds_run,
                failures: o.failures,
                first_failing_seed: first.map(|f| f.seed),
                failure_kind: first.map(|f| f.kind.as_str()),
                schedule: first.map(|f| f.schedule.as_str()),
                report: first.map(|f| f.report.as_str()),
                ok: o.problem().is_none(),
                problem: o.problem(),
                seeds_per_second: (o.seeds_per_second * 10.0).round() / 10.0,
            }
        })
        .collect();
    let run = JsonRun {
        strategy: args.strategy.env_value(),
        start_seed,
        seeds: args.seeds,
        shard: args.shard.map(|s| format!("{}/{}", s.index, s.count)),
        max_time_ms: args.max_time.as_millis(),
        seed_first: seeds.first,
        seed_step: seeds.step,
        seed_count: seeds.len,
        ok: problems.is_empty(),
        results,
    };
    serde_json::to_string(&run).expect("plain data serializes")
}

/// Points the report's reproduce command at `corosim replay` of this scenario (the
/// runtime names the run: its seed and strategy, or the schedule it replayed).
fn point_at_corosim(failure: &mut sim::Failure, entry: &Entry) {
    failure.run_mut().reproduce.place = Place::Corosim {
        scenario: entry.id(),
    };
}

fn replay(args: &ReplayArgs) -> Result<ExitCode, String> {
    let entries = scenarios::select(&args.spec)?;
    let [entry] = entries.as_slice() else {
        return Err(format!(
            "replay needs one SCENARIO/VARIANT, {:?} names {} variants: {}",
            args.spec,
            entries.len(),
            entries
                .iter()
                .map(|e| e.id())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let (seed, strategy) = match &args.schedule {
        Some(schedule) => (schedule.seed(), Strategy::Replay(schedule.clone())),
        None => (
            args.seed.expect("clap requires --seed without --schedule"),
            args.strategy.clone(),
        ),
    };
    // Opened before the run: a path that cannot be written is bad input (exit 2), not
    // something found after the run that would hide its result.
    let mut trace_out = match &args.trace_out {
        Some(path) => Some(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write the trace to {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let mut rt = scenarios::builder(seed, &strategy, args.max_time).build();
    let mut result = entry.run_on(&mut rt);
    if let Err(failure) = &mut result {
        point_at_corosim(failure, entry);
    }
    let trace = rt.trace().to_string();
    match &result {
        Ok(()) => emit(&format!(
            "{}: passed (seed {seed}, strategy {})\n",
            entry.id(),
            rt.strategy().env_value()
        )),
        Err(failure) => emit(&format!("{failure}\n")),
    }
    match (&mut trace_out, &args.trace_out) {
        (Some(file), Some(path)) => file
            .write_all(trace.as_bytes())
            .map_err(|e| format!("cannot write the trace to {}: {e}", path.display()))?,
        _ => {
            emit("--- trace ---\n");
            emit(&trace);
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
