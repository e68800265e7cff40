//! Executions to the first bug: the built-in coverage-guided fuzzer (`sim::fuzz`)
//! beside plain seed sweeps (`random` and the default portfolio), on every buggy
//! variant of the scenario library (the patterns and the classic bug benchmark), with
//! the same budget. Prints a Markdown table for `benches/RESULTS.md`.
//!
//! ```sh
//! cargo bench --bench fuzz                    # every buggy variant, budget 10,000
//! cargo bench --bench fuzz -- --budget 2000 philosophers classic/abba-deadlock
//! ```
//!
//! A cell is the mean, over `--trials` independent searches (default 20), of the number
//! of runs up to and including the first failure of the expected kind; a search that
//! finds nothing within the budget counts the budget, and the cell says how many
//! missed (`123 (2 missed)`). Trial `t` of the fuzzer runs with seed `t` (`corosim fuzz
//! --seed t`); trial `t` of a sweep runs seeds from `t * budget`, PCT learning its run
//! length as sweeps do. A cell also gives the standard error of its mean (`3.10 ±
//! 0.37`). `--columns fuzzer,random,default,pct:2` chooses the columns (`fuzzer`,
//! `default` for the portfolio, or any strategy name); `--jobs N` (default 2) spreads
//! the trials over threads without changing any number.

use scenarios::{DEFAULT_MAX_TIME, Entry, Expect, Sweep, registry};
use sim::Strategy;
use sim::fuzz::{Fuzzer, Verdict};

fn fuzz_execs(e: &Entry, seed: u64, budget: u64) -> Option<(u64, sim::FailureKind)> {
    let prefix: &[u8] = if e.configured.is_some() { &[0] } else { &[] };
    let mut fuzzer = Fuzzer::new(seed).with_prefix(prefix);
    for n in 1..=budget {
        let input = fuzzer.next_input();
        let (verdict, failure) = fuzzer.try_input(&input, |d| e.run_input(d, DEFAULT_MAX_TIME));
        if verdict == Verdict::Failed {
            return Some((n, failure.expect("a failure").kind()));
        }
    }
    None
}

fn sweep_execs(
    e: &Entry,
    strategy: &Strategy,
    start: u64,
    budget: u64,
) -> Option<(u64, sim::FailureKind)> {
    let mut sweep = Sweep::new(strategy, DEFAULT_MAX_TIME);
    sweep
        .first_failure(start..start + budget, e.run)
        .map(|(seed, f)| (seed - start + 1, f.kind()))
}

/// A column of the table: the fuzzer, or a seed sweep of one strategy.
enum Column {
    Fuzzer,
    Sweep(Strategy),
}

impl Column {
    /// `fuzzer`, `default` (the portfolio), or any strategy name (`random`, `pct:2`).
    fn parse(name: &str) -> Result<Column, String> {
        match name {
            "fuzzer" => Ok(Column::Fuzzer),
            "default" => Ok(Column::Sweep(Strategy::default())),
            other => other
                .parse()
                .map(Column::Sweep)
                .map_err(|e| format!("--columns: {other:?}: {e}")),
        }
    }

    /// Search `t` of this column on `e`.
    fn search(&self, e: &Entry, t: u64, budget: u64) -> Option<(u64, sim::FailureKind)> {
        match self {
            Column::Fuzzer => fuzz_execs(e, t, budget),
            Column::Sweep(s) => sweep_execs(e, s, t * budget, budget),
        }
    }
}

/// The mean and its standard error over `trials` searches (a miss counts the budget),
/// noting misses and failures of the wrong kind. Trials are spread over `jobs`
/// threads; the numbers do not depend on it.
fn cell(e: &Entry, trials: u64, budget: u64, jobs: u64, column: &Column) -> String {
    let counts = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for j in 0..jobs {
            let counts = &counts;
            s.spawn(move || {
                let mut mine = Vec::new();
                for t in (j..trials).step_by(jobs as usize) {
                    mine.push(column.search(e, t, budget));
                }
                counts.lock().unwrap().extend(mine);
            });
        }
    });
    let counts = counts.into_inner().unwrap();
    let (mut missed, mut wrong) = (0, 0);
    let xs: Vec<f64> = counts
        .iter()
        .map(|c| match c {
            Some((n, kind)) => {
                if Expect::Catch(*kind) != e.expect {
                    wrong += 1;
                }
                *n as f64
            }
            None => {
                missed += 1;
                budget as f64
            }
        })
        .collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let mut out = format!("{mean:.2} ± {:.2}", (var / n).sqrt());
    if missed > 0 {
        out.push_str(&format!(" ({missed} missed)"));
    }
    if wrong > 0 {
        out.push_str(&format!(" ({wrong} wrong kind)"));
    }
    out
}

/// A bad flag: says so and exits with status 2.
fn usage(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}

fn main() {
    let mut budget = 10_000;
    let mut trials = 20;
    let mut jobs = 2;
    let mut columns = vec!["fuzzer".to_string(), "random".into(), "default".into()];
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    let number = |v: Option<String>, flag: &str| -> u64 {
        v.and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| usage(&format!("{flag} needs a whole number >= 1")))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--budget" => budget = number(args.next(), "--budget"),
            "--trials" => trials = number(args.next(), "--trials"),
            "--jobs" => jobs = number(args.next(), "--jobs"),
            "--columns" => {
                columns = args
                    .next()
                    .unwrap_or_else(|| usage("--columns needs a comma-separated list"))
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            other => filters.push(other.to_string()),
        }
    }
    let parsed: Vec<Column> = columns
        .iter()
        .map(|c| Column::parse(c))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| usage(&e));
    let started = std::time::Instant::now();
    println!("| variant | expect | {} |", columns.join(" | "));
    println!("|---|---|{}", "---:|".repeat(columns.len()));
    for e in registry().iter().filter(|e| e.expect != Expect::Pass) {
        let id = e.id();
        if !filters.is_empty() && !filters.iter().any(|f| id.contains(f.as_str())) {
            continue;
        }
        let cells: Vec<String> = parsed
            .iter()
            .map(|c| cell(e, trials, budget, jobs, c))
            .collect();
        println!("| {id} | {} | {} |", e.expect.label(), cells.join(" | "));
    }
    eprintln!(
        "({:.1}s, budget {budget}, {trials} trials)",
        started.elapsed().as_secs_f64()
    );
}
