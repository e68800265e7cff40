//! Every registered variant against its expectation: correct variants pass 1,000 seeds
//! under `random` and under `pct:3`; buggy ones are caught, with the expected failure
//! kind, within the seed budget the registry states.

use scenarios::{DEFAULT_MAX_TIME, Entry, Expect, registry};
use sim::Strategy;

const SEEDS: u64 = 1000;

fn strategies() -> [Strategy; 2] {
    [Strategy::Random, Strategy::pct(3)]
}

fn check(e: &Entry) {
    for strategy in strategies() {
        match e.expect {
            Expect::Pass => {
                for seed in 0..SEEDS {
                    if let Err(f) = e.run_seed(seed, &strategy, DEFAULT_MAX_TIME) {
                        panic!("{} failed seed {seed} under {strategy}:\n{f}", e.id());
                    }
                }
            }
            Expect::Catch(kind) => {
                let first = (0..e.budget).find_map(|seed| {
                    e.run_seed(seed, &strategy, DEFAULT_MAX_TIME)
                        .err()
                        .map(|f| (seed, f))
                });
                let Some((seed, failure)) = first else {
                    panic!(
                        "{} not caught in {} seeds under {strategy}",
                        e.id(),
                        e.budget
                    );
                };
                assert_eq!(
                    failure.kind(),
                    kind,
                    "{} seed {seed} under {strategy}:\n{failure}",
                    e.id()
                );
                assert!(seed < e.budget);
                // The failure replays from its seed: the same report.
                let again = e.run_seed(seed, &strategy, DEFAULT_MAX_TIME).unwrap_err();
                assert_eq!(again.to_string(), failure.to_string());
            }
        }
    }
}

fn check_scenario(name: &str) {
    let entries: Vec<&Entry> = registry().iter().filter(|e| e.scenario == name).collect();
    assert!(entries.len() >= 2, "{name}: a correct and a buggy variant");
    assert!(entries.iter().any(|e| e.expect == Expect::Pass));
    for e in entries {
        check(e);
    }
}

macro_rules! scenario_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_scenario(stringify!($name));
            }
        )*

        #[test]
        fn every_registered_scenario_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for name in scenarios::scenario_names() {
                assert!(tested.contains(&name), "{name} has no sweep test");
            }
        }
    };
}

scenario_tests!(
    producer_consumer,
    channel,
    actors,
    philosophers,
    bank,
    bounded_pool,
    event_waiter,
    task_distributor,
    pipeline,
    timeouts,
    ordering,
    stream,
    task_group,
    resource_guard,
    completion,
    echo,
    broker,
    downloads,
    leader,
    classic,
);
