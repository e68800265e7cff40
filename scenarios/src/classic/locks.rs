//! Lock-order and wrong-lock bugs over [`Mutex`]es: the ABBA deadlock, the dining
//! philosophers, and two tasks guarding one counter with two different mutexes.
//!
//! Owns these three programs only; every wait is a plain `lock().await`.

use std::rc::Rc;

use sim::cell::RaceCell;
use sim::sync::Mutex;

use super::Twin;
use crate::{join_all, spawn_named};

/// Rounds of the ABBA program: each task takes both locks this many times.
const ABBA_ROUNDS: u32 = 2;

/// Two tasks each take mutexes `a` and `b` and bump both counters. Buggy: the second
/// task takes them in the opposite order, so each can hold one and wait for the other.
pub(super) async fn abba(twin: Twin) -> Result<(), String> {
    let a = Rc::new(Mutex::new(0u32));
    let b = Rc::new(Mutex::new(0u32));
    let mut tasks = Vec::new();
    for who in ["a-then-b", "b-then-a"] {
        let (a, b) = (a.clone(), b.clone());
        tasks.push(spawn_named(who, async move {
            let (first, second) = match (who, twin) {
                // BUG: the second task takes `b` first: a cycle of waits.
                ("b-then-a", Twin::Buggy) => (b, a),
                _ => (a, b),
            };
            for _ in 0..ABBA_ROUNDS {
                let mut one = first.lock().await;
                let mut two = second.lock().await;
                *one += 1;
                *two += 1;
            }
        }));
    }
    join_all(tasks).await?;
    let (a, b) = (*a.lock().await, *b.lock().await);
    assert_eq!(
        (a, b),
        (2 * ABBA_ROUNDS, 2 * ABBA_ROUNDS),
        "a round was lost"
    );
    Ok(())
}

/// Philosophers around the table (and forks between them).
const PHILOSOPHERS: usize = 5;

/// Meals each philosopher eats.
const MEALS: u32 = 2;

/// Five philosophers, one fork (a mutex counting its uses) between each pair of
/// neighbours; each eats twice, holding both of its forks. Buggy: everyone takes the
/// left fork, then the right one, so all five can hold one fork and wait for the next.
pub(super) async fn philosophers(twin: Twin) -> Result<(), String> {
    let n = PHILOSOPHERS;
    let forks: Rc<Vec<Mutex<u32>>> = Rc::new((0..n).map(|_| Mutex::new(0)).collect());
    let mut tasks = Vec::new();
    for i in 0..n {
        let forks = forks.clone();
        tasks.push(spawn_named(&format!("philosopher-{i}"), async move {
            let (left, right) = (i, (i + 1) % n);
            let (first, second) = match twin {
                // BUG: left then right for everyone: a cycle of waits around the table.
                Twin::Buggy => (left, right),
                Twin::Fixed => (left.min(right), left.max(right)),
            };
            for _ in 0..MEALS {
                let mut one = forks[first].lock().await;
                let mut two = forks[second].lock().await;
                *one += 1; // eat
                *two += 1;
            }
        }));
    }
    join_all(tasks).await?;
    let mut uses = 0;
    for fork in forks.iter() {
        uses += *fork.lock().await;
    }
    assert_eq!(uses, 2 * MEALS * n as u32, "a meal was lost");
    Ok(())
}

/// Increments per task in the wrong-lock program.
const INCREMENTS: u32 = 2;

/// Two tasks increment one shared counter (a [`RaceCell`]), each under "its" mutex.
/// Buggy: the second task locks another mutex than the first, so nothing orders their
/// accesses: a data race (and, on real threads, lost updates).
pub(super) async fn wrong_lock(twin: Twin) -> Result<(), String> {
    let counter = Rc::new(RaceCell::named("counter", 0u32));
    let lock_a = Rc::new(Mutex::new(()));
    let lock_b = Rc::new(Mutex::new(()));
    let mut tasks = Vec::new();
    for who in ["incr-a", "incr-b"] {
        let counter = counter.clone();
        let lock = match (who, twin) {
            // BUG: this task guards the counter with another mutex than its peer.
            ("incr-b", Twin::Buggy) => lock_b.clone(),
            _ => lock_a.clone(),
        };
        tasks.push(spawn_named(who, async move {
            for _ in 0..INCREMENTS {
                let _guard = lock.lock().await;
                counter.with_mut(|c| *c += 1);
            }
        }));
    }
    join_all(tasks).await?;
    assert_eq!(counter.get(), 2 * INCREMENTS, "an increment was lost");
    Ok(())
}
