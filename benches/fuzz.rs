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
//! length as sweeps do.

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

/// The mean of `trials` searches (a miss counts the budget), noting misses and
/// failures of the wrong kind.
fn cell(
    e: &Entry,
    trials: u64,
    budget: u64,
    search: impl Fn(u64) -> Option<(u64, sim::FailureKind)>,
) -> String {
    let (mut sum, mut missed, mut wrong) = (0, 0, 0);
    for t in 0..trials {
        match search(t) {
            Some((n, kind)) if Expect::Catch(kind) == e.expect => sum += n,
            Some((n, _)) => {
                sum += n;
                wrong += 1;
            }
            None => {
                sum += budget;
                missed += 1;
            }
        }
    }
    let mut out = format!("{:.1}", sum as f64 / trials as f64);
    if missed > 0 {
        out.push_str(&format!(" ({missed} missed)"));
    }
    if wrong > 0 {
        out.push_str(&format!(" ({wrong} wrong kind)"));
    }
    out
}

fn main() {
    let mut budget = 10_000;
    let mut trials = 20;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--budget" => {
                budget = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--budget needs a whole number")
            }
            "--trials" => {
                trials = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&t| t > 0)
                    .expect("--trials needs a whole number >= 1")
            }
            other => filters.push(other.to_string()),
        }
    }
    let started = std::time::Instant::now();
    println!("| variant | expect | fuzzer | random | default |");
    println!("|---|---|---:|---:|---:|");
    for e in registry().iter().filter(|e| e.expect != Expect::Pass) {
        let id = e.id();
        if !filters.is_empty() && !filters.iter().any(|f| id.contains(f.as_str())) {
            continue;
        }
        println!(
            "| {id} | {} | {} | {} | {} |",
            e.expect.label(),
            cell(e, trials, budget, |t| fuzz_execs(e, t, budget)),
            cell(e, trials, budget, |t| {
                sweep_execs(e, &Strategy::Random, t * budget, budget)
            }),
            cell(e, trials, budget, |t| {
                sweep_execs(e, &Strategy::Portfolio, t * budget, budget)
            }),
        );
    }
    eprintln!(
        "({:.1}s, budget {budget}, {trials} trials)",
        started.elapsed().as_secs_f64()
    );
}
