//! Systematic exploration: counts of schedules with and without partial-order
//! reduction, bugs found within a preemption bound, exhaustion, and soundness (every
//! final state random schedules reach, the reduced exploration reaches too).

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use sim::sync::{Mutex, mpsc};
use sim::{Builder, Explore, FailureKind, Strategy};

/// `n` tasks, each locking its own mutex twice: no two transitions depend.
async fn independent(n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let m = Arc::new(Mutex::new(0));
            sim::spawn(async move {
                for _ in 0..2 {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[test]
fn independent_tasks_take_one_schedule_reduced_and_many_without() {
    for n in [2, 3, 4] {
        let reduced = Explore::new().run(|| independent(n));
        assert!(reduced.exhausted && reduced.failure.is_none(), "{reduced}");
        assert_eq!(reduced.schedules, 1, "n = {n}: {reduced}");
        // Plain depth-first search runs every interleaving of the tasks' steps: at
        // least n! (for 4 tasks it does not finish within the budget).
        let plain = Explore::new()
            .reduction(false)
            .max_schedules(5_000)
            .run(|| independent(n));
        let factorial: u64 = (1..=n as u64).product();
        assert!(plain.schedules >= factorial, "n = {n}: {plain}");
        assert!(plain.failure.is_none());
    }
}

/// Two tasks increment a counter under two separate acquisitions of one lock: an
/// update can be lost, but only with a preemption between the acquisitions.
async fn lost_update() -> u32 {
    let m = Arc::new(Mutex::new(0u32));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            sim::spawn(async move {
                let seen = *m.lock().await;
                *m.lock().await = seen + 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    *m.lock().await
}

#[test]
fn a_bug_needing_one_preemption_is_found_with_bound_one_not_zero() {
    let body = || async {
        assert_eq!(lost_update().await, 2, "an update was lost");
    };
    let none = Explore::new().preemption_bound(0).run(body);
    assert!(none.failure.is_none() && none.exhausted, "{none}");
    let one = Explore::new().preemption_bound(1).run(body);
    let failure = one.failure.as_ref().expect("found within one preemption");
    assert_eq!(failure.kind(), FailureKind::Panic);
    // The failing schedule replays from its report's schedule.
    let again = sim::replay(failure.schedule(), body).unwrap_err();
    assert_eq!(again.kind(), FailureKind::Panic);
    assert!(
        failure.to_string().contains("SIM_SCHEDULE=v2:"),
        "{failure}"
    );
}

/// A producer and a consumer over a channel of capacity 1, plus a bystander task on
/// its own lock; the final state is the order the consumer saw the values in and the
/// bystander's counter.
async fn program(state: Rc<RefCell<BTreeSet<Vec<u32>>>>) {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let shared = Arc::new(Mutex::new(Vec::new()));
    let s2 = shared.clone();
    let p1 = sim::spawn(async move {
        for v in [1, 2] {
            tx.send(v).await.unwrap();
        }
    });
    let p2 = sim::spawn(async move {
        s2.lock().await.push(10);
    });
    let c = sim::spawn(async move {
        let mut seen = Vec::new();
        while let Some(v) = rx.recv().await {
            seen.push(v);
        }
        seen
    });
    shared.lock().await.push(20);
    p1.await.unwrap();
    p2.await.unwrap();
    let mut seen = c.await.unwrap();
    seen.extend(shared.lock().await.iter());
    state.borrow_mut().insert(seen);
}

#[test]
fn the_reduced_exploration_reaches_every_final_state_random_schedules_reach() {
    let random = Rc::new(RefCell::new(BTreeSet::new()));
    for seed in 0..10_000 {
        let mut rt = Builder::new().seed(seed).strategy(Strategy::Random).build();
        rt.block_on(program(random.clone())).unwrap();
    }
    let explored = Rc::new(RefCell::new(BTreeSet::new()));
    let report = Explore::new().run(|| program(explored.clone()));
    assert!(report.exhausted, "{report}");
    assert!(
        random.borrow().len() >= 2,
        "the program has several outcomes"
    );
    assert_eq!(*explored.borrow(), *random.borrow(), "{report}");
    let plain = Explore::new()
        .reduction(false)
        .max_schedules(200_000)
        .run(|| async {});
    assert!(plain.exhausted);
}

#[test]
fn a_schedule_budget_stops_the_search_unexhausted() {
    let report = Explore::new()
        .reduction(false)
        .max_schedules(3)
        .run(|| independent(3));
    assert_eq!(report.schedules, 3);
    assert!(!report.exhausted);
    assert!(report.to_string().contains("not exhausted"), "{report}");
}

/// A task waiting in a `yield_now` loop gives way, as loom's yield does: the search of
/// the correct program is exhausted with no failure (it used to report a false
/// step-limit failure: the default branch kept the waiting task spinning), and the
/// lost update of the buggy one is still found.
#[test]
fn a_yield_loop_neither_spins_the_search_nor_hides_the_bug() {
    let correct = Explore::new()
        .max_steps(10_000)
        .run(|| common::counted_behind_a_spin_wait(true));
    assert!(correct.exhausted && correct.failure.is_none(), "{correct}");
    let buggy = Explore::new()
        .max_steps(10_000)
        .run(|| common::counted_behind_a_spin_wait(false));
    let failure = buggy.failure.as_ref().expect("the lost update is found");
    assert_eq!(failure.kind(), FailureKind::Panic, "{failure}");
}
