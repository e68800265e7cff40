//! The deadlock and leak detectors, both ways: they find the planted bug, and stay
//! silent on the fixed variant over many seeds per strategy.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim::task::JoinHandle;
use sim::{Builder, Check, Failure, FailureKind, Strategy};

fn strategies() -> [Strategy; 3] {
    [Strategy::Random, Strategy::Pct { depth: 3 }, Strategy::RoundRobin]
}

type Slot = Rc<RefCell<Option<JoinHandle<()>>>>;

/// Waits until the other task's handle is published, then awaits it (optionally with a
/// deadline): two such tasks join on each other.
async fn join_other(other: Slot, deadline: Option<Duration>) {
    let handle = loop {
        if let Some(h) = other.borrow_mut().take() {
            break h;
        }
        sim::task::yield_now().await;
    };
    match deadline {
        None => drop(handle.await),
        Some(d) => drop(sim::time::timeout(d, handle).await),
    }
}

/// Two tasks join on each other while a ticker keeps the run busy for 10 s.
async fn mutual_join(deadline: Option<Duration>) {
    let (slot_a, slot_b): (Slot, Slot) = Default::default();
    let a = sim::task::Builder::new().name("a").spawn(join_other(slot_b.clone(), deadline)).unwrap();
    let b = sim::task::Builder::new().name("b").spawn(join_other(slot_a.clone(), deadline)).unwrap();
    *slot_a.borrow_mut() = Some(a);
    *slot_b.borrow_mut() = Some(b);
    let mut tick = sim::time::interval(Duration::from_millis(100));
    for _ in 0..100 {
        tick.tick().await;
    }
}

#[test]
fn joins_on_each_other_are_a_partial_deadlock_found_when_the_cycle_closes() {
    let failure = Builder::new().seed(1).build().block_on(mutual_join(None)).unwrap_err();
    let Failure::Deadlock(d) = &failure else { panic!("{failure}") };
    assert!(d.partial);
    assert!(d.run.time < Duration::from_secs(1), "found when the cycle closed, not at the end");
    let names: Vec<_> = d.blocked.iter().map(|b| b.task.name.clone().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(d.cycles, vec![vec![d.blocked[0].task.id, d.blocked[1].task.id]]);
    assert_eq!(d.blocked[0].awaits[0].what, "the end of `b` (task 2)");
    assert_eq!(d.blocked[0].awaits[0].held_by[0].name.as_deref(), Some("b"));
    let report = failure.to_string();
    assert!(report.contains("a cycle of tasks waits on each other forever"), "{report}");
    assert!(report.contains("cycle: `a` (task 1) -> waits on a resource held by -> `b` (task 2)"), "{report}");
    let dot = d.to_dot();
    assert!(dot.starts_with("digraph deadlock {") && dot.contains("color=red") && dot.contains("held by"), "{dot}");
}

#[test]
fn partial_detection_can_be_turned_off() {
    // Without it, the run goes on until main returns; the pair is leaked, not a deadlock.
    let mut rt = Builder::new().seed(1).detect_partial_deadlocks(false).build();
    rt.block_on(mutual_join(None)).unwrap();
    let leaked: Vec<_> = rt.leaked().iter().map(|b| b.task.name.clone().unwrap()).collect();
    assert_eq!(leaked, ["a", "b"]);
    assert_eq!(rt.leaked()[0].awaits[0].what, "the end of `b` (task 2)");
}

#[test]
fn fail_on_leak_makes_leaks_failures() {
    let failure = Builder::new()
        .seed(1)
        .detect_partial_deadlocks(false)
        .fail_on_leak(true)
        .build()
        .block_on(mutual_join(None))
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Leak);
    assert!(failure.to_string().contains("2 task(s) still alive when the main future returned"), "{failure}");
}

#[test]
fn found_under_every_strategy_on_every_seed() {
    for strategy in strategies() {
        let f = Check::new().seeds(50).strategy(strategy).no_regressions().shrink_budget(0).try_run(|| mutual_join(None));
        let f = f.unwrap_err();
        assert_eq!(f.failure.kind(), FailureKind::Deadlock);
        assert_eq!(f.failure.run().seed, 0);
    }
}

#[test]
fn timed_waits_are_not_deadlocks_over_1000_seeds_per_strategy() {
    // The same mutual join inside `timeout`: each task waits for its deadline.
    for strategy in strategies() {
        Check::new()
            .seeds(1000)
            .strategy(strategy)
            .no_regressions()
            .try_run(|| mutual_join(Some(Duration::from_secs(1))))
            .unwrap();
    }
}

#[test]
fn a_one_way_join_is_silent_over_1000_seeds_per_strategy() {
    for strategy in strategies() {
        Check::new()
            .seeds(1000)
            .strategy(strategy)
            .no_regressions()
            .try_run(|| async {
                let a = sim::spawn(async { sim::time::sleep(Duration::from_millis(10)).await });
                let b = sim::spawn(async move { a.await.unwrap() });
                let mut tick = sim::time::interval(Duration::from_millis(3));
                for _ in 0..5 {
                    tick.tick().await;
                }
                b.await.unwrap();
            })
            .unwrap();
    }
}
