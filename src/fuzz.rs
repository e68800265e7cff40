//! `corosim fuzz [SPEC...]`: a coverage-guided fuzz campaign per selected variant
//! (`sim::fuzz::Fuzzer`), each input choosing the variant's configuration and every
//! decision of its run (`scenarios::Entry::run_input`).
//!
//! A campaign stops at `--runs` executions (default 10,000), at `--time` of wall-clock
//! time if given (the one place wall time is read; the run itself never sees it), or
//! at the first failure, whose input is then minimized (the fewest bytes that still
//! fail the same way) and written under `--out` (default `target/corosim/fuzz`), with a
//! report ending in `corosim replay SPEC --bytes FILE`. Given a seed and a run count the
//! campaign, its table and its files are the same on every machine and for any
//! `--jobs`. `--corpus DIR` starts each variant from the inputs in
//! `DIR/<scenario>.<variant>/` and adds the new ones there. Progress (executions per
//! second, features covered, corpus size) goes to stderr on a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use scenarios::Entry;
use sim::config::parse;
use sim::fuzz::{Fuzzer, minimize};
use sim::reproduce::Selection;

use crate::{
    emit, expectation, flag, flag_named, for_each_entry, jobs, point_at_corosim, select, verdict,
};

/// Default `--runs`.
const DEFAULT_RUNS: u64 = 10_000;
/// The most runs spent minimizing a failing input.
const MINIMIZE_BUDGET: u32 = 2_000;

#[derive(clap::Args, Debug)]
pub(crate) struct FuzzArgs {
    /// `SCENARIO` (all its variants) or `SCENARIO/VARIANT`; none: everything.
    specs: Vec<String>,
    /// Executions per variant (the campaign stops earlier at a failure).
    #[arg(long, value_parser = flag_named("--runs", None, parse::fuzz), default_value_t = DEFAULT_RUNS)]
    runs: u64,
    /// Also stop after this much wall-clock time per variant (`30s`, `10m`); the
    /// campaign is then no longer the same on every machine.
    #[arg(long, value_parser = wall_time)]
    time: Option<Duration>,
    /// A corpus directory: inputs are read from, and new ones written to,
    /// `DIR/<scenario>.<variant>/`.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// The fuzzer's seed (decimal or `0x` hexadecimal).
    #[arg(long, default_value = "0", value_parser = flag(parse::seed))]
    seed: u64,
    /// The virtual-time bound of each run: a number with a unit (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = flag(parse::max_time))]
    max_time: Duration,
    /// Where failing inputs are written.
    #[arg(long, value_name = "DIR", default_value = "target/corosim/fuzz")]
    out: PathBuf,
    /// Worker threads, one variant each (default: the available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
}

/// `--time`: a duration of the one grammar, greater than zero.
fn wall_time(v: &str) -> Result<Duration, String> {
    let expected = format!("expected a duration > 0: {}", parse::DURATION_FORMS);
    match parse::duration(v) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("invalid --time={v:?}: {expected}")),
        Err(e) => Err(format!("invalid --time={v:?}: {expected} ({e})")),
    }
}

/// A failing input found by a campaign.
struct Found {
    kind: sim::FailureKind,
    /// The failure report on the minimized input.
    report: String,
    original_len: usize,
    /// The minimized input, and where it was written (or why it could not be).
    input: Vec<u8>,
    file: Result<PathBuf, String>,
}

/// One variant's campaign.
struct Campaign {
    entry: &'static Entry,
    execs: u64,
    features: usize,
    corpus: usize,
    /// New corpus inputs written to `--corpus`, or why not.
    saved: Result<usize, String>,
    found: Option<Found>,
}

impl Campaign {
    fn problem(&self) -> Option<String> {
        let replay = self
            .found
            .as_ref()
            .map_or(String::new(), |f| match &f.file {
                Ok(p) => format!("corosim replay {} --bytes {}", self.entry.id(), p.display()),
                Err(e) => e.clone(),
            });
        expectation(
            self.entry,
            self.found.as_ref().map(|f| f.kind),
            &format!("{} fuzz executions", self.execs),
            &replay,
        )
    }
}

pub(crate) fn fuzz(args: &FuzzArgs) -> Result<ExitCode, String> {
    let entries = select(&args.specs)?;
    if let Some(dir) = &args.corpus {
        if dir.exists() && !dir.is_dir() {
            return Err(format!("--corpus {}: not a directory", dir.display()));
        }
        // Made before any run: a corpus that cannot be kept is an error up front, not a
        // campaign whose new inputs are lost at the end.
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "--corpus {}: cannot create the corpus directory: {e}",
                dir.display()
            )
        })?;
    }
    let bars = if std::io::stderr().is_terminal() {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    };
    let campaigns = for_each_entry(&entries, jobs(args.jobs), |entry| {
        let bar = bars.add(ProgressBar::new(args.runs));
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} {bar:20} {pos}/{len} {per_sec} {msg}")
                .expect("a valid template"),
        );
        let campaign = campaign(entry, args, &bar);
        bar.finish_and_clear();
        campaign
    });
    let _ = bars.clear();
    emit(&table(args, &campaigns));
    for c in &campaigns {
        if let Some(found) = &c.found {
            emit(&format!("\n{}\n", found.report));
        }
    }
    let problems: Vec<String> = campaigns.iter().filter_map(Campaign::problem).collect();
    if problems.is_empty() {
        emit("\nok: every correct variant passed and every bug was caught\n");
    }
    Ok(verdict(&problems))
}

fn campaign(entry: &'static Entry, args: &FuzzArgs, bar: &ProgressBar) -> Campaign {
    let prefix: &[u8] = if entry.configured.is_some() {
        &[0]
    } else {
        &[]
    };
    let mut fuzzer = Fuzzer::new(args.seed).with_prefix(prefix);
    let corpus_dir = args
        .corpus
        .as_ref()
        .map(|d| d.join(format!("{}.{}", entry.scenario, entry.variant)));
    let loaded = corpus_dir.as_deref().map_or(Ok(Vec::new()), read_corpus);
    let loaded_error = loaded.as_ref().err().cloned();
    fuzzer.add_to_corpus(loaded.unwrap_or_default());
    let started = Instant::now();
    let found = fuzzer.search(
        |f| {
            if f.execs() % 64 == 0 {
                bar.set_position(f.execs());
                bar.set_message(format!(
                    "{}: {} features, corpus {}",
                    entry.id(),
                    f.features(),
                    f.corpus().len()
                ));
            }
            f.execs() < args.runs && args.time.is_none_or(|t| started.elapsed() < t)
        },
        |input| entry.run_input(input, args.max_time),
    );
    let saved = match (&corpus_dir, loaded_error) {
        (_, Some(e)) => Err(e),
        (Some(dir), None) => write_corpus(dir, fuzzer.corpus()),
        (None, None) => Ok(0),
    };
    let found = found.map(|(input, failure)| {
        let wanted = failure.signature();
        let small = minimize(&input, MINIMIZE_BUDGET, |candidate| {
            matches!(entry.run_input(candidate, args.max_time).0, Err(f) if f.signature() == wanted)
        });
        let mut failure = entry
            .run_input(&small, args.max_time)
            .0
            .err()
            .unwrap_or(failure);
        let file = write_input(&args.out, entry, &small);
        point_at_corosim(&mut failure, entry);
        if let Ok(path) = &file {
            failure.run_mut().reproduce.selection = Selection::InputFile(path.clone());
        }
        // How it was found first: the report itself ends with the command that
        // reproduces it, as every report does.
        let mut report = format!(
            "found by: corosim fuzz {} --seed {} at execution {} (input of {} bytes, \
             minimized to {} bytes{})\n",
            entry.id(),
            args.seed,
            fuzzer.execs(),
            input.len(),
            small.len(),
            if small.is_empty() {
                String::new()
            } else {
                format!(": {}", hex(&small))
            }
        );
        if let Err(e) = &file {
            let _ = writeln!(report, "(the input could not be written: {e})");
        }
        report.push_str(&failure.to_string());
        Found {
            kind: failure.kind(),
            report,
            original_len: input.len(),
            input: small,
            file,
        }
    });
    Campaign {
        entry,
        execs: fuzzer.execs(),
        features: fuzzer.features(),
        corpus: fuzzer.corpus().len(),
        saved,
        found,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The inputs of a corpus directory, by file name (none when it does not exist yet).
fn read_corpus(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(format!(
                "cannot read corpus directory {}: {e}",
                dir.display()
            ));
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(|p| parse::input_file(p)).collect()
}

/// Writes the corpus inputs not yet in `dir` (named by a hash of their bytes); returns
/// how many were new.
fn write_corpus(dir: &Path, corpus: &[Vec<u8>]) -> Result<usize, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create corpus directory {}: {e}", dir.display()))?;
    let mut new = 0;
    for input in corpus {
        let path = dir.join(format!("{:016x}", fnv(input)));
        if !path.exists() {
            std::fs::write(&path, input)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            new += 1;
        }
    }
    Ok(new)
}

/// FNV-1a: a stable name for an input (the standard library's hasher is not stable
/// across releases).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes a failing input to `out/<scenario>.<variant>.input`.
fn write_input(out: &Path, entry: &Entry, input: &[u8]) -> Result<PathBuf, String> {
    let path = out.join(format!("{}.{}.input", entry.scenario, entry.variant));
    std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&path, input))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The table of campaigns: the same for the same seed and run count.
fn table(args: &FuzzArgs, campaigns: &[Campaign]) -> String {
    let w = crate::variant_width(campaigns.iter().map(|c| c.entry));
    let mut out = format!(
        "fuzz: seed {}, at most {} executions per variant{}\n{:<18} {:<w$} {:<16} {:>7} {:>8} {:>6} {:<10} {:>9} {}\n",
        args.seed,
        args.runs,
        args.time
            .map_or(String::new(), |t| format!(", at most {t:?} each")),
        "SCENARIO",
        "VARIANT",
        "EXPECTED",
        "EXECS",
        "FEATURES",
        "CORPUS",
        "FOUND",
        "INPUT",
        "RESULT"
    );
    for c in campaigns {
        let (kind, input) = match &c.found {
            Some(f) => (
                f.kind.as_str(),
                format!("{}->{}", f.original_len, f.input.len()),
            ),
            None => ("-", "-".to_string()),
        };
        let _ = writeln!(
            out,
            "{:<18} {:<w$} {:<16} {:>7} {:>8} {:>6} {:<10} {:>9} {}",
            c.entry.scenario,
            c.entry.variant,
            c.entry.expect.label(),
            c.execs,
            c.features,
            c.corpus,
            kind,
            input,
            if c.problem().is_none() { "ok" } else { "FAIL" }
        );
        if let Err(e) = &c.saved {
            let _ = writeln!(out, "  corpus not saved: {e}");
        }
    }
    out
}
