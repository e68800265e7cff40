//! `corosim run`: sweeps seeds over scenario variants in parallel and prints a table
//! (or `--format json`); `--html FILE` also writes the table as a page, with each
//! failing variant's HTML report beside it ([`write_html`]).
//!
//! # Determinism
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

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use scenarios::{Entry, Expect};
use serde::Serialize;
use sim::config::{StartSeed, parse};
use sim::report::{HtmlReport, escape, page};
use sim::reproduce::Reproduce;
use sim::{Schedule, Strategy};

use crate::{OutFile, emit, flag, point_at_corosim, select, variant_width};

#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
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
    /// Also write the sweep's table as an HTML page to this file, with each failing
    /// variant's report (timeline, wait-for graph) in the directory named after the
    /// file's stem beside it (`sweep.html` → `sweep/SCENARIO.VARIANT.html`), linked.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A table for people.
    Table,
    /// One JSON object.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u64,
    count: u64,
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
    /// The failing run's schedule, to run it again for its HTML report.
    replay: Schedule,
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
            replay: failure.schedule().clone(),
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

pub(crate) fn run(args: &RunArgs) -> Result<ExitCode, String> {
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
    // Opened before the sweep: a path that cannot be written is bad input (exit 2).
    let html = OutFile::create(args.html.as_ref(), "the HTML summary")?;
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
    if let (Some(file), Some(path)) = (html, &args.html) {
        write_html(file, path, args, &outcomes)?;
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

/// `corosim run --html FILE`: the table as a page (`file`, at `path`), and the HTML
/// report of each failing variant's first failing seed, run again from its schedule,
/// in the directory `path`'s stem names beside it, linked relatively. Nothing in it
/// comes from the wall clock (no seeds per second): the same sweep gives the same
/// bytes.
fn write_html(
    file: OutFile,
    path: &Path,
    args: &RunArgs,
    outcomes: &[Outcome],
) -> Result<(), String> {
    let stem = path.file_stem().map_or_else(
        || "corosim-run".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let dir = path.parent().unwrap_or(Path::new("")).join(&stem);
    let mut rows = String::new();
    for o in outcomes {
        let (first, kind) = match &o.first {
            Some(f) => (f.seed.to_string(), f.kind.as_str()),
            None => ("-".to_string(), "-"),
        };
        let report = match &o.first {
            Some(f) => {
                let name = format!("{}.{}.html", o.entry.scenario, o.entry.variant);
                let target = dir.join(&name);
                std::fs::create_dir_all(&dir).map_err(|e| {
                    format!("cannot write the HTML reports to {}: {e}", dir.display())
                })?;
                std::fs::write(&target, variant_report(o.entry, f, args.max_time)).map_err(
                    |e| format!("cannot write the HTML report to {}: {e}", target.display()),
                )?;
                format!(
                    "<a href=\"{}/{}\">report</a>",
                    escape(&url_segment(&stem)),
                    escape(&url_segment(&name))
                )
            }
            None => String::new(),
        };
        let ok = o.problem().is_none();
        let _ = writeln!(
            rows,
            "<tr data-variant=\"{}\" class=\"{}\"><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td><td>{report}</td></tr>",
            escape(&o.entry.id()),
            if ok { "ok" } else { "problem" },
            escape(o.entry.scenario),
            escape(o.entry.variant),
            escape(&o.entry.expect.label()),
            o.seeds_run,
            o.failures,
            first,
            kind,
            if ok { "ok" } else { "FAIL" },
        );
    }
    let title = format!("corosim run: strategy {}", args.strategy.env_value());
    let body = format!(
        "<header>\n<h1>{}</h1>\n<p class=\"facts\">{} variants · {} seeds each · max time \
         {:?}</p>\n</header>\n<section id=\"sweep\">\n<table class=\"sweep\">\n<thead><tr>\
         <th>scenario</th><th>variant</th><th>expected</th><th>seeds</th><th>failures</th>\
         <th>first fail</th><th>kind</th><th>result</th><th>report</th></tr></thead>\n<tbody>\n\
         {rows}</tbody>\n</table>\n</section>\n",
        escape(&title),
        outcomes.len(),
        args.seeds,
        args.max_time,
    );
    file.write(&page(&title, &body))
}

/// The HTML report of a variant's first failing seed: the run again, from its schedule.
fn variant_report(entry: &Entry, first: &FirstFailure, max_time: Duration) -> String {
    let strategy = Strategy::Replay(first.replay.clone());
    let mut rt = scenarios::builder(first.replay.seed(), &strategy, max_time).build();
    let title = format!(
        "corosim: {} (seed {}, {})",
        entry.id(),
        first.seed,
        first.kind
    );
    match entry.run_on(&mut rt) {
        Err(mut failure) => {
            point_at_corosim(&mut failure, entry);
            HtmlReport::failure(&failure)
                .title(title)
                .text(first.report.clone())
                .render()
        }
        // A replay always fails the same way; should it not, the page says so.
        Ok(()) => HtmlReport::run(rt.trace())
            .title(title)
            .text(format!(
                "{}\n\n(replaying its schedule passed: the run is not reproducible)",
                first.report
            ))
            .render(),
    }
}

/// `s` as one segment of a relative URL: bytes other than letters, digits, `.`, `-`
/// and `_` percent-encoded.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
