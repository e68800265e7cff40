//! The `corosim` command.
//!
//! - `corosim list`: every scenario/variant of the `scenarios` crate, with a one-line
//!   description and its expectation (`pass`, or `catch:<kind>` for a known bug).
//! - `corosim run [SPEC...]`: sweeps seeds over the selected variants (all when none is
//!   named) in parallel ([`sweep`]).
//! - `corosim fuzz [SPEC...]`: a coverage-guided fuzz campaign per variant
//!   ([`fuzz`]).
//! - `corosim explore [SPEC...]`: a systematic exploration of each variant's schedules
//!   ([`explore`]).
//! - `corosim replay SCENARIO/VARIANT`: one seed, schedule or fuzz input again, with
//!   its trace, then its report ([`replay`]).
//! - `corosim schedule SCHEDULE`: decodes and summarises a schedule string
//!   ([`schedule`]).
//!
//! `run`, `fuzz` and `explore` exit with code 0 when every correct variant passed and
//! every buggy variant was caught with its expected failure kind, 1 otherwise (the
//! reasons are printed). Bad input (an unknown scenario, a bad shard, a corrupt
//! schedule, `--seeds 0`, `--max-time 0s`) exits with code 2 and a message naming the
//! input and what was expected. Every value a setting of `sim` also has (`--seeds`,
//! `--start-seed`, `--strategy`, `--max-time`, `--seed`, `--schedule`, `--runs`,
//! `--bound`, `--max-schedules`) is parsed by that setting's one parser in
//! `sim::config`, so it reads exactly as `SIM_*` and `#[sim::test]` do (durations take
//! a unit: `10s`, `500ms`, `1.5h`).

mod explore;
mod fuzz;
mod replay;
mod schedule;
mod sweep;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scenarios::{Entry, Expect};
use sim::config::{ConfigError, Source, parse};
use sim::reproduce::Place;

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
    Run(sweep::RunArgs),
    /// Fuzz scenario variants (coverage-guided, deterministic for a seed and a run count).
    Fuzz(fuzz::FuzzArgs),
    /// Explore scenario variants' schedules systematically, within a preemption bound.
    Explore(explore::ExploreArgs),
    /// Run one seed, schedule or fuzz input of one variant again; print its trace, then its report.
    Replay(replay::ReplayArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Schedule { schedule } => parse::schedule(Source::Flag, &schedule)
            .map_err(|e| e.to_string())
            .map(|s| {
                emit(&schedule::summarise(&s));
                ExitCode::SUCCESS
            }),
        Command::List => {
            emit(&list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => sweep::run(&args),
        Command::Fuzz(args) => fuzz::fuzz(&args),
        Command::Explore(args) => explore::explore(&args),
        Command::Replay(args) => replay::replay(&args),
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

/// An output file given by a flag, created before the run (a path that cannot be
/// written is bad input) and written after it.
pub(crate) struct OutFile {
    file: std::fs::File,
    path: PathBuf,
    what: &'static str,
}

impl OutFile {
    /// Creates `path` (or nothing without one); the error names `what` and the path.
    pub(crate) fn create(
        path: Option<&PathBuf>,
        what: &'static str,
    ) -> Result<Option<Self>, String> {
        path.map(|path| {
            std::fs::File::create(path)
                .map(|file| OutFile {
                    file,
                    path: path.clone(),
                    what,
                })
                .map_err(|e| format!("cannot write {what} to {}: {e}", path.display()))
        })
        .transpose()
    }

    /// Writes `text` to the file.
    pub(crate) fn write(mut self, text: &str) -> Result<(), String> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| format!("cannot write {} to {}: {e}", self.what, self.path.display()))
    }
}

/// A `sim::config` parser as a `clap` value parser: the flag's value, read as the
/// setting reads it everywhere else (the error names the flag).
fn flag<T>(
    parser: fn(Source, &str) -> Result<T, ConfigError>,
) -> impl Fn(&str) -> Result<T, ConfigError> + Clone {
    move |s| parser(Source::Flag, s)
}

/// [`flag`] for a flag whose name is not the setting's (`fuzz --runs` reads the
/// `fuzz` setting): the error names the flag the user typed, and says `expected` when
/// given (the setting's own words would name another quantity).
fn flag_named<T>(
    name: &'static str,
    expected: Option<&'static str>,
    parser: fn(Source, &str) -> Result<T, ConfigError>,
) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |s| {
        parser(Source::Flag, s).map_err(|e| {
            let expected = expected.unwrap_or(&e.expected);
            format!("invalid {name}={:?}: expected {expected}", e.value)
        })
    }
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

/// Points the report's reproduce command at `corosim replay` of this scenario (the
/// runtime names the run: its seed and strategy, or the schedule it replayed).
fn point_at_corosim(failure: &mut sim::Failure, entry: &Entry) {
    failure.run_mut().reproduce.place = Place::Corosim {
        scenario: entry.id(),
    };
}

/// Whether a search's result is what the variant expects: `None` when it is, else why
/// not. `found`: the failure kind it found, if any; `how`: what was searched ("3000
/// fuzz executions"); `replay`: the command that replays the failure.
fn expectation(
    entry: &Entry,
    found: Option<sim::FailureKind>,
    how: &str,
    replay: &str,
) -> Option<String> {
    let id = entry.id();
    match (entry.expect, found) {
        (Expect::Pass, None) => None,
        (Expect::Pass, Some(k)) => Some(format!(
            "{id}: expected to pass, but {how} found {k}; replay with `{replay}`"
        )),
        (Expect::Catch(k), None) => Some(format!("{id}: expected {k}, but {how} found none")),
        (Expect::Catch(k), Some(f)) if f != k => Some(format!(
            "{id}: expected {k}, but {how} found {f}; replay with `{replay}`"
        )),
        _ => None,
    }
}

/// Exit code 0 when there are no problems (printed to stderr), else 1.
fn verdict(problems: &[String]) -> ExitCode {
    for p in problems {
        eprintln!("corosim: {p}");
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The number of worker threads: `--jobs`, else the available parallelism.
fn jobs(flag: Option<u64>) -> usize {
    flag.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| usize::try_from(j).unwrap_or(usize::MAX),
    )
}

/// Runs `work` on every entry with `jobs` worker threads; the results come back in the
/// entries' order, whatever the thread count.
fn for_each_entry<T: Send>(
    entries: &[&'static Entry],
    jobs: usize,
    work: impl Fn(&'static Entry) -> T + Sync,
) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<T>>> = entries
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(entries.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(entry) = entries.get(i) else { break };
                    let result = work(entry);
                    *results[i].lock().expect("no worker panics") = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .expect("no worker panics")
                .expect("every entry ran")
        })
        .collect()
}
