//! Systematic exploration (`sim::Explore`) on the scenario library: every buggy variant
//! (schedules to the first failure under preemption bounds `p` 0, 1, 2, with a delay
//! bound `d`, and without partial-order reduction), and every correct variant with its
//! smallest configuration explored to completion within 2 preemptions (schedules
//! counted). Prints Markdown tables for `benches/RESULTS.md`.
//!
//! ```sh
//! cargo bench --bench explore
//! cargo bench --bench explore -- --max-schedules 20000 classic
//! ```

use scenarios::{Entry, Expect, registry};
use sim::{Explore, ExploreReport};

fn explore(
    e: &Entry,
    bound: u32,
    delays: Option<u32>,
    reduction: bool,
    max: u64,
    smallest: bool,
) -> ExploreReport {
    let mut x = Explore::new().preemption_bound(bound);
    if let Some(d) = delays {
        x = x.delay_bound(d);
    }
    x.reduction(reduction)
        .max_schedules(max)
        .max_steps(200_000)
        .run(|| async move {
            let program = match (smallest, e.configured) {
                (true, Some(configured)) => configured(&mut arbitrary::Unstructured::new(&[])),
                _ => (e.run)(),
            };
            if let Err(message) = program.await {
                panic!("{message}");
            }
        })
}

fn cell(r: &ExploreReport, expect: Expect) -> String {
    match (&r.failure, expect) {
        (Some(f), Expect::Catch(kind)) if f.kind() == kind => format!("{}", r.schedules),
        (Some(f), _) => format!("{} ({}?)", r.schedules, scenarios::kind_name(f.kind())),
        (None, _) if r.exhausted => format!("none ({})", r.schedules),
        (None, _) => format!("- ({}+)", r.schedules),
    }
}

fn main() {
    let mut max = 20_000;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--max-schedules" => {
                max = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--max-schedules needs a whole number")
            }
            f => filters.push(f.to_string()),
        }
    }
    let chosen =
        |e: &&Entry| filters.is_empty() || filters.iter().any(|f| e.id().contains(f.as_str()));
    let started = std::time::Instant::now();
    println!(
        "Buggy variants: schedules to the first failure (`none (n)`: exhausted without one; `- (n+)`: budget {max} spent).\n"
    );
    println!("| variant | expect | p ≤ 0 | p ≤ 1 | p ≤ 2 | p ≤ 2, d ≤ 2 | p ≤ 2, no reduction |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for e in registry()
        .iter()
        .filter(|e| e.expect != Expect::Pass)
        .filter(chosen)
    {
        let r: Vec<String> = [
            (0, None, true),
            (1, None, true),
            (2, None, true),
            (2, Some(2), true),
            (2, None, false),
        ]
        .iter()
        .map(|&(b, d, red)| cell(&explore(e, b, d, red, max, false), e.expect))
        .collect();
        println!("| {} | {} | {} |", e.id(), e.expect.label(), r.join(" | "));
    }
    println!("\nCorrect variants, smallest configuration, every schedule within 2 preemptions:\n");
    println!(
        "| variant | schedules (reduced) | exhausted | schedules (no reduction) | exhausted |"
    );
    println!("|---|---:|---|---:|---|");
    for e in registry()
        .iter()
        .filter(|e| e.expect == Expect::Pass)
        .filter(chosen)
    {
        let a = explore(e, 2, None, true, max, true);
        let b = explore(e, 2, None, false, max, true);
        let ok = |r: &ExploreReport| match &r.failure {
            Some(f) => format!("FAILED: {}", f.kind()),
            None if r.exhausted => "yes".to_string(),
            None => format!("no (budget {max})"),
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            e.id(),
            a.schedules,
            ok(&a),
            b.schedules,
            ok(&b)
        );
    }
    eprintln!("({:.1}s)", started.elapsed().as_secs_f64());
}
