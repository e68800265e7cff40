//! The deadlock and leak detectors, both ways: they find the planted bug, and stay
//! silent on the fixed variant over many seeds per strategy.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim::task::JoinHandle;
use sim::{Builder, Check, Failure, FailureKind};

mod common;
use common::strategies;

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
    let a = sim::task::Builder::new()
        .name("a")
        .spawn(join_other(slot_b.clone(), deadline))
        .unwrap();
    let b = sim::task::Builder::new()
        .name("b")
        .spawn(join_other(slot_a.clone(), deadline))
        .unwrap();
    *slot_a.borrow_mut() = Some(a);
    *slot_b.borrow_mut() = Some(b);
    let mut tick = sim::time::interval(Duration::from_millis(100));
    for _ in 0..100 {
        tick.tick().await;
    }
}

#[test]
fn joins_on_each_other_are_a_partial_deadlock_found_when_the_cycle_closes() {
    let failure = Builder::new()
        .seed(1)
        .build()
        .block_on(mutual_join(None))
        .unwrap_err();
    let Failure::Deadlock(d) = &failure else {
        panic!("{failure}")
    };
    assert!(d.partial);
    assert!(
        d.run.time < Duration::from_secs(1),
        "found when the cycle closed, not at the end"
    );
    let names: Vec<_> = d
        .blocked
        .iter()
        .map(|b| b.task.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        d.cycles,
        vec![vec![d.blocked[0].task.id, d.blocked[1].task.id]]
    );
    assert_eq!(d.blocked[0].awaits[0].what, "the end of `b` (task 2)");
    assert_eq!(d.blocked[0].awaits[0].held_by[0].name.as_deref(), Some("b"));
    let report = failure.to_string();
    assert!(
        report.contains("a cycle of tasks waits on each other forever"),
        "{report}"
    );
    assert!(
        report.contains("cycle (each waits on what the next holds): `a` (task 1) -> `b` (task 2) -> `a` (task 1)"),
        "{report}"
    );
    let dot = d.to_dot();
    assert!(
        dot.starts_with("digraph deadlock {")
            && dot.contains("color=red")
            && dot.contains("held by"),
        "{dot}"
    );
}

#[test]
fn partial_detection_can_be_turned_off() {
    // Without it, the run goes on until main returns; the pair is leaked, not a deadlock.
    let mut rt = Builder::new()
        .seed(1)
        .detect_partial_deadlocks(false)
        .build();
    rt.block_on(mutual_join(None)).unwrap();
    let leaked: Vec<_> = rt
        .leaked()
        .iter()
        .map(|b| b.task.name.clone().unwrap())
        .collect();
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
    assert!(
        failure
            .to_string()
            .contains("2 task(s) still alive when the main future returned"),
        "{failure}"
    );
}

#[test]
fn found_under_every_strategy_on_every_seed() {
    for strategy in strategies() {
        let f = Check::new()
            .seeds(50)
            .strategy(strategy)
            .no_regressions()
            .shrink_budget(0)
            .try_run(|| mutual_join(None));
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

/// Two tasks take two locks in opposite orders (`ordered: false`), or both in the same
/// order (the fix), while a ticker keeps the run alive.
async fn lock_order(ordered: bool) {
    use sim::sync::Mutex;
    let (m1, m2) = (
        std::sync::Arc::new(Mutex::new(0)),
        std::sync::Arc::new(Mutex::new(0)),
    );
    let take = |first: std::sync::Arc<Mutex<i32>>, second: std::sync::Arc<Mutex<i32>>| async move {
        let mut a = first.lock().await;
        sim::task::yield_now().await;
        let mut b = second.lock().await;
        *a += 1;
        *b += 1;
    };
    let x = sim::task::Builder::new()
        .name("x")
        .spawn(take(m1.clone(), m2.clone()))
        .unwrap();
    let y = if ordered {
        sim::task::Builder::new()
            .name("y")
            .spawn(take(m1.clone(), m2.clone()))
            .unwrap()
    } else {
        sim::task::Builder::new()
            .name("y")
            .spawn(take(m2.clone(), m1.clone()))
            .unwrap()
    };
    let ticker = sim::spawn(async {
        let mut tick = sim::time::interval(Duration::from_millis(1));
        for _ in 0..50 {
            tick.tick().await;
        }
    });
    x.await.unwrap();
    y.await.unwrap();
    ticker.await.unwrap();
    assert_eq!((*m1.lock().await, *m2.lock().await), (2, 2));
}

#[test]
fn lock_order_inversion_is_a_partial_deadlock_naming_holders() {
    let f = Check::new()
        .seeds(200)
        .no_regressions()
        .shrink_budget(0)
        .try_run(|| lock_order(false))
        .unwrap_err();
    let Failure::Deadlock(d) = &f.failure else {
        panic!("{}", f)
    };
    assert!(d.partial, "the ticker is still running");
    assert_eq!(d.cycles.len(), 1);
    // main joins x, so it is stuck too; the cycle itself is x and y.
    let names: Vec<_> = d
        .blocked
        .iter()
        .map(|b| b.task.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["main", "x", "y"]);
    assert_eq!(
        d.cycles[0],
        vec![d.blocked[1].task.id, d.blocked[2].task.id]
    );
    for b in &d.blocked[1..] {
        assert!(b.awaits[0].what.starts_with("mutex#r"), "{:?}", b.awaits);
        let holder = &b.awaits[0].held_by[0];
        assert_ne!(
            holder.id, b.task.id,
            "each waits on the lock the other holds"
        );
    }
}

#[test]
fn lock_order_deadlock_shrinks_to_a_handful_of_switches() {
    let f = Check::new()
        .seeds(200)
        .no_regressions()
        .try_run(|| lock_order(false))
        .unwrap_err();
    let shrunk = f
        .shrunk
        .as_ref()
        .expect("shrinking finds a smaller schedule");
    let switches = shrunk.failure.schedule().context_switches();
    assert!(
        switches <= 4,
        "x takes m1, y takes m2, x blocks, y blocks: {switches} switches"
    );
    let again = sim::replay(shrunk.failure.schedule(), || lock_order(false)).unwrap_err();
    assert_eq!(again.kind(), FailureKind::Deadlock);
}

#[test]
fn ordered_locks_are_silent_over_1000_seeds_per_strategy() {
    for strategy in strategies() {
        Check::new()
            .seeds(1000)
            .strategy(strategy)
            .no_regressions()
            .try_run(|| lock_order(true))
            .unwrap();
    }
}

#[test]
fn fail_on_leak_is_silent_when_every_task_is_joined_over_1000_seeds_per_strategy() {
    for strategy in strategies() {
        for seed in 0..1000 {
            let mut rt = Builder::new()
                .seed(seed)
                .strategy(strategy.clone())
                .fail_on_leak(true)
                .build();
            rt.block_on(async {
                let mut set = sim::task::JoinSet::new();
                for i in 0..3u64 {
                    set.spawn(async move { sim::time::sleep(Duration::from_millis(i)).await });
                }
                while set.join_next().await.is_some() {}
            })
            .unwrap();
            assert!(rt.leaked().is_empty());
        }
    }
}
