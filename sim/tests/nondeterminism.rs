//! The determinism detector, both ways: it finds code that reads outside the
//! simulation, and stays silent on the fixed variant over 1,000 seeds per strategy.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use sim::{Builder, Check, Failure, FailureKind};

mod common;
use common::strategies;

/// Spawns one named task per key, in the map's iteration order.
async fn spawn_in_order<'a>(keys: impl Iterator<Item = &'a String>) {
    let handles: Vec<_> = keys
        .map(|k| {
            sim::task::Builder::new()
                .name(k)
                .spawn(async { sim::task::yield_now().await })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
}

fn names() -> Vec<String> {
    (0..10).map(|i| format!("worker-{i}")).collect()
}

#[test]
fn finds_a_global_counter_read_across_runs() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let mut rt = Builder::new().seed(3).check_determinism(true).build();
    let failure = rt
        .run(|| async {
            let extra = RUNS.fetch_add(1, Ordering::Relaxed) % 2 == 1;
            sim::spawn(async move {
                if extra {
                    sim::task::yield_now().await;
                }
            })
            .await
            .unwrap();
        })
        .unwrap_err();
    let Failure::NonDeterminism(n) = &failure else {
        panic!("{failure}")
    };
    assert!(n.reason.contains("traces differ at event"), "{}", n.reason);
    assert!(
        n.reason.contains("first run `") && n.reason.contains("second run `"),
        "{}",
        n.reason
    );
    assert_eq!(n.cause, sim::NonDeterminismCause::RerunDiffers);
    let last = failure.to_string().lines().last().unwrap().to_string();
    assert!(
        last.contains("SIM_CHECK_DETERMINISM=1 SIM_SEED=3"),
        "{last}"
    );
}

#[test]
fn only_a_rerun_difference_needs_the_check_in_its_command() {
    // A panic reproduces from its seed alone, with or without the check.
    let mut rt = Builder::new().seed(4).check_determinism(true).build();
    let failure = rt
        .run(|| async {
            if true {
                panic!("plain bug")
            }
        })
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Panic);
    let command = failure.run().reproduce.to_string();
    assert!(command.starts_with("SIM_SEED=4 "), "{command}");
}

#[test]
fn finds_hash_map_iteration_order() {
    let failure = Check::new()
        .seeds(5)
        .check_determinism(true)
        .no_regressions()
        .try_run(|| async {
            let map: HashMap<String, u32> = names().into_iter().map(|n| (n, 0)).collect();
            spawn_in_order(map.keys()).await;
        })
        .unwrap_err();
    assert_eq!(failure.failure.kind(), FailureKind::NonDeterminism);
    assert!(failure.to_string().contains("spawn worker-"), "{failure}");
    assert!(
        failure
            .command
            .to_string()
            .starts_with("SIM_CHECK_DETERMINISM=1 SIM_SEED=0 "),
        "{}",
        failure.command
    );
    let sim::Failure::NonDeterminism(n) = &failure.failure else {
        panic!("{failure}")
    };
    assert_eq!(n.cause, sim::NonDeterminismCause::RerunDiffers);
}

#[test]
fn silent_on_the_fixed_variant_over_1000_seeds_per_strategy() {
    for strategy in strategies() {
        let report = Check::new()
            .seeds(1000)
            .strategy(strategy)
            .check_determinism(true)
            .no_regressions()
            .try_run(|| async {
                let map: BTreeMap<String, u32> = names().into_iter().map(|n| (n, 0)).collect();
                spawn_in_order(map.keys()).await;
                let _: u64 = sim::rand::random(); // seeded: the same both times
            })
            .unwrap();
        assert_eq!(report.runs, 1000);
    }
}
