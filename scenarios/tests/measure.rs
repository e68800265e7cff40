//! Prints each variant's sweep results (run with `--ignored --nocapture`).

use scenarios::{DEFAULT_MAX_TIME, Expect, registry};
use sim::Strategy;

#[test]
#[ignore = "a measuring tool, not a check: prints per-variant failure statistics used to choose the seed budgets in sweep.rs; run with --ignored --nocapture"]
fn measure() {
    for e in registry() {
        for strategy in [Strategy::Random, Strategy::pct(3)] {
            let t = std::time::Instant::now();
            let seeds = if e.expect == Expect::Pass { 300 } else { 1000 };
            let mut first = None;
            let mut fails = 0;
            let mut kinds = std::collections::BTreeMap::new();
            for seed in 0..seeds {
                if let Err(f) = e.run_seed(seed, &strategy, DEFAULT_MAX_TIME) {
                    fails += 1;
                    *kinds.entry(format!("{:?}", f.kind())).or_insert(0) += 1;
                    if first.is_none() {
                        first = Some((seed, f.kind()));
                        if e.expect == Expect::Pass {
                            println!("{f}");
                        }
                    }
                }
            }
            println!(
                "{:40} {:10} fails {fails}/{seeds} first {:?} {:?}/seed {kinds:?}",
                e.id(),
                strategy.to_string(),
                first,
                t.elapsed() / seeds as u32
            );
        }
    }
}
