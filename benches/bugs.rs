//! The classic concurrency bug benchmark (`scenarios::classic`): for each bug and each
//! strategy, the schedules (seeds, from 0) run until the first failure of the buggy
//! program, and the false alarms of its fixed twin. Prints Markdown tables for
//! `benches/RESULTS.md`.
//!
//! ```sh
//! cargo bench --bench bugs                                  # every bug, the strategies below
//! cargo bench --bench bugs -- --strategies random,pct:3 abba # some strategies, some bugs
//! cargo bench --bench bugs -- --budget 1000 --twin-seeds 200 --jobs 1
//! ```
//!
//! The defaults are the benchmark's done-when: a budget of `classic::BUDGET` (10,000)
//! schedules per bug and `classic::TWIN_SEEDS` (2,000) seeds per fixed twin.
//!
//! A cell of the bug table is the number of schedules run up to and including the
//! first failing one (seed `s` counts `s + 1`), `-` when no seed of the budget fails,
//! and the number followed by the wrong kind (`12 panic?`) when the first failure is
//! not the expected kind. Runs are independent, so they are spread over `--jobs`
//! threads (default 2); the numbers do not depend on it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use scenarios::classic::{BUDGET, Bug, TWIN_SEEDS, Twin, bugs};
use scenarios::{DEFAULT_MAX_TIME, Sweep};
use sim::{FailureKind, Strategy};

/// The strategies of the table, by name: `default` is `Strategy::default()`, the rest
/// parse with `str::parse::<Strategy>()`. Adding a strategy is one line here.
const STRATEGIES: &[&str] = &[
    "default",
    "random",
    "pct:2",
    "pct:3",
    "prob:80",
    "pos",
    "round-robin",
];

/// The settings of one benchmark run.
struct Args {
    strategies: Vec<(String, Strategy)>,
    budget: u64,
    twin_seeds: u64,
    jobs: usize,
    filters: Vec<String>,
}

fn strategy(name: &str) -> Result<Strategy, String> {
    if name == "default" {
        Ok(Strategy::default())
    } else {
        name.parse()
            .map_err(|e: sim::sched::ParseStrategyError| e.to_string())
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        strategies: Vec::new(),
        budget: BUDGET,
        twin_seeds: TWIN_SEEDS,
        jobs: 2,
        filters: Vec::new(),
    };
    let mut names: Vec<String> = STRATEGIES.iter().map(|s| s.to_string()).collect();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            // Passed by `cargo bench`.
            "--bench" => {}
            "--strategies" => {
                names = value("--strategies")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--budget" => args.budget = number(&value("--budget")?)?,
            "--twin-seeds" => args.twin_seeds = number(&value("--twin-seeds")?)?,
            "--jobs" => args.jobs = number(&value("--jobs")?)?.max(1) as usize,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            filter => args.filters.push(filter.to_string()),
        }
    }
    for name in names {
        let st = strategy(&name)?;
        args.strategies.push((name, st));
    }
    Ok(args)
}

fn number(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number"))
}

/// One unit of work: a bug's version under one strategy.
struct Job {
    bug: usize,
    strategy: usize,
    twin: Twin,
}

/// What a job found.
enum Outcome {
    /// Buggy: the first failing seed and its kind, if any within the budget.
    First(Option<(u64, FailureKind)>),
    /// Fixed: how many seeds failed, and the first of them.
    Alarms(u64, Option<u64>),
}

/// Runs one job as a sweep (`scenarios::Sweep`: seeds in order, PCT's run length
/// learned as `sim`'s sweeps learn it).
fn run_job(bug: &Bug, strategy: &Strategy, twin: Twin, args: &Args) -> Outcome {
    let mut sweep = Sweep::new(strategy, DEFAULT_MAX_TIME);
    let program = bug.program(twin);
    match twin {
        Twin::Buggy => Outcome::First(
            sweep
                .first_failure(0..args.budget, program)
                .map(|(seed, f)| (seed, f.kind())),
        ),
        Twin::Fixed => {
            let failing: Vec<u64> = (0..args.twin_seeds)
                .filter(|&seed| sweep.run(seed, program).is_err())
                .collect();
            Outcome::Alarms(failing.len() as u64, failing.first().copied())
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bugs: {e}");
            std::process::exit(2);
        }
    };
    let selected: Vec<&Bug> = bugs()
        .iter()
        .filter(|b| args.filters.is_empty() || args.filters.iter().any(|f| b.name.contains(f)))
        .collect();
    let mut jobs = Vec::new();
    for bug in 0..selected.len() {
        for strategy in 0..args.strategies.len() {
            for twin in [Twin::Buggy, Twin::Fixed] {
                jobs.push(Job {
                    bug,
                    strategy,
                    twin,
                });
            }
        }
    }
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..args.jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let strategy = &args.strategies[job.strategy].1;
                    let outcome = run_job(selected[job.bug], strategy, job.twin, &args);
                    results.lock().expect("no worker panics")[i] = Some(outcome);
                }
            });
        }
    });
    let results = results.into_inner().expect("no worker panics");
    let outcome = |bug: usize, strategy: usize, twin: Twin| {
        let i = jobs
            .iter()
            .position(|j| j.bug == bug && j.strategy == strategy && j.twin == twin)
            .expect("every job ran");
        results[i].as_ref().expect("every job ran")
    };

    let names: Vec<&str> = args.strategies.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = String::new();
    out.push_str(&format!(
        "Schedules to the first failure of each buggy program (budget {}; `-`: not found; \
         `default` is `{}`):\n\n",
        args.budget,
        Strategy::default()
    ));
    out.push_str(&format!("| bug | expect | {} |\n", names.join(" | ")));
    out.push_str(&format!("|---|---|{}\n", "---:|".repeat(names.len())));
    let mut found = vec![0usize; names.len()];
    let mut log_sum = vec![0f64; names.len()];
    for (b, bug) in selected.iter().enumerate() {
        let mut cells = Vec::new();
        for (s, count) in found.iter_mut().enumerate() {
            let Outcome::First(first) = outcome(b, s, Twin::Buggy) else {
                unreachable!("a buggy job finds a first failure")
            };
            cells.push(match first {
                None => "-".to_string(),
                Some((seed, kind)) if *kind == bug.expect => {
                    *count += 1;
                    log_sum[s] += ((seed + 1) as f64).ln();
                    (seed + 1).to_string()
                }
                Some((seed, kind)) => format!("{} {}?", seed + 1, kind.as_str()),
            });
        }
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            bug.name,
            bug.expect.as_str(),
            cells.join(" | ")
        ));
    }
    let found_row: Vec<String> = found
        .iter()
        .map(|n| format!("{n}/{}", selected.len()))
        .collect();
    out.push_str(&format!("| **found** | | {} |\n", found_row.join(" | ")));
    let mean_row: Vec<String> = found
        .iter()
        .zip(&log_sum)
        .map(|(&n, &l)| {
            if n == 0 {
                "-".to_string()
            } else {
                format!("{:.1}", (l / n as f64).exp())
            }
        })
        .collect();
    out.push_str(&format!(
        "| **geometric mean** (found) | | {} |\n",
        mean_row.join(" | ")
    ));

    out.push_str(&format!(
        "\nFalse alarms: failing seeds of each fixed twin out of {} (first failing seed in brackets):\n\n",
        args.twin_seeds
    ));
    out.push_str(&format!("| fixed twin | {} |\n", names.join(" | ")));
    out.push_str(&format!("|---|{}\n", "---:|".repeat(names.len())));
    let mut alarms_total = vec![0u64; names.len()];
    for (b, bug) in selected.iter().enumerate() {
        let mut cells = Vec::new();
        for (s, total) in alarms_total.iter_mut().enumerate() {
            let Outcome::Alarms(n, first) = outcome(b, s, Twin::Fixed) else {
                unreachable!("a fixed job counts false alarms")
            };
            *total += n;
            cells.push(match first {
                None => "0".to_string(),
                Some(seed) => format!("{n} [{seed}]"),
            });
        }
        out.push_str(&format!("| {} | {} |\n", bug.name, cells.join(" | ")));
    }
    let totals: Vec<String> = alarms_total.iter().map(u64::to_string).collect();
    out.push_str(&format!("| **total** | {} |\n", totals.join(" | ")));
    out.push_str(&format!(
        "\n({} bugs, {} strategies, {} jobs, {:.1}s)\n",
        selected.len(),
        names.len(),
        args.jobs,
        start.elapsed().as_secs_f64()
    ));
    print!("{out}");
}
