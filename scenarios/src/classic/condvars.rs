//! Condition-variable bugs over a [`Mutex`] and a [`Condvar`]: a lost wakeup, a bounded
//! buffer whose single condition variable is signalled with `notify_one`, and a
//! consumer that re-checks with `if` instead of `while`.
//!
//! Owns these three programs only; every wait is a plain `.await` on the primitives.

use std::collections::VecDeque;
use std::rc::Rc;

use sim::sync::{Condvar, Mutex};

use super::Twin;
use crate::{join_all, spawn_named};

/// Tasks waiting for the flag in the lost-wakeup program.
const WAITERS: usize = 2;

/// Waiters wait until a setter raises a flag and calls `notify_all`. Buggy: a waiter
/// reads the flag under one acquisition of the mutex and waits under a second one; a
/// setter that runs in between notifies nobody, and the waiter sleeps forever.
pub(super) async fn lost_wakeup(twin: Twin) -> Result<(), String> {
    let shared = Rc::new((Mutex::new(false), Condvar::new()));
    let mut tasks = Vec::new();
    for i in 0..WAITERS {
        let shared = shared.clone();
        tasks.push(spawn_named(&format!("waiter-{i}"), async move {
            let (flag, cv) = &*shared;
            match twin {
                Twin::Buggy => {
                    let ready = *flag.lock().await;
                    if !ready {
                        // BUG: the flag was read under the previous acquisition; a
                        // notify_all sent since then is lost.
                        let guard = flag.lock().await;
                        drop(cv.wait(guard).await);
                    }
                }
                Twin::Fixed => {
                    let mut guard = flag.lock().await;
                    while !*guard {
                        guard = cv.wait(guard).await;
                    }
                }
            }
        }));
    }
    let setter = spawn_named("setter", {
        let shared = shared.clone();
        async move {
            let (flag, cv) = &*shared;
            *flag.lock().await = true;
            cv.notify_all();
        }
    });
    tasks.push(setter);
    join_all(tasks).await?;
    Ok(())
}

/// Producers (and consumers) of the bounded buffer.
const PRODUCERS: u32 = 2;
const CONSUMERS: u32 = 2;
/// Items each producer puts (and each consumer takes).
const ITEMS: u32 = 2;
/// The bounded buffer's capacity.
const CAPACITY: usize = 1;

/// Wakes waiters of the one condition variable after a change of the buffer.
fn signal(cv: &Condvar, twin: Twin) {
    match twin {
        // BUG: one condition variable for "not full" and "not empty": notify_one can
        // wake a task of the same kind (which waits again), and the wakeup is lost.
        Twin::Buggy => cv.notify_one(),
        Twin::Fixed => cv.notify_all(),
    }
}

/// Producers and consumers over a bounded buffer guarded by one mutex and one
/// condition variable, each waiting in a `while` loop. Buggy: `notify_one` instead of
/// `notify_all`: a producer's signal can reach the other producer and a consumer's
/// signal the other consumer, until everyone waits.
pub(super) async fn bounded_buffer(twin: Twin) -> Result<(), String> {
    let shared = Rc::new((Mutex::new(VecDeque::new()), Condvar::new()));
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let shared = shared.clone();
        producers.push(spawn_named(&format!("producer-{p}"), async move {
            let (buffer, cv) = &*shared;
            for k in 0..ITEMS {
                let mut items = buffer.lock().await;
                while items.len() == CAPACITY {
                    items = cv.wait(items).await;
                }
                items.push_back(p * ITEMS + k);
                signal(cv, twin);
            }
        }));
    }
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let shared = shared.clone();
        consumers.push(spawn_named(&format!("consumer-{c}"), async move {
            let (buffer, cv) = &*shared;
            let mut got = Vec::new();
            for _ in 0..ITEMS {
                let mut items = buffer.lock().await;
                while items.is_empty() {
                    items = cv.wait(items).await;
                }
                got.extend(items.pop_front());
                signal(cv, twin);
            }
            got
        }));
    }
    join_all(producers).await?;
    let mut got: Vec<u32> = join_all(consumers).await?.concat();
    got.sort_unstable();
    assert_eq!(
        got,
        (0..PRODUCERS * ITEMS).collect::<Vec<_>>(),
        "items lost or duplicated"
    );
    Ok(())
}

/// Consumers in the `if`-not-`while` program; the producer puts one item for each.
const IF_CONSUMERS: u32 = 2;

/// One producer and two consumers over a one-slot buffer, one mutex and one condition
/// variable signalled with `notify_all`. Buggy: a consumer re-checks the buffer with
/// `if`, not `while`; woken, it takes an item without looking again, and another
/// consumer may have taken it first (Mesa semantics: a wakeup is a hint).
pub(super) async fn if_not_while(twin: Twin) -> Result<(), String> {
    let shared = Rc::new((Mutex::new(VecDeque::new()), Condvar::new()));
    let mut tasks = Vec::new();
    for c in 0..IF_CONSUMERS {
        let shared = shared.clone();
        tasks.push(spawn_named(&format!("consumer-{c}"), async move {
            let (buffer, cv) = &*shared;
            let mut items = buffer.lock().await;
            match twin {
                // BUG: `if`: after the wait another consumer may have emptied the buffer.
                Twin::Buggy => {
                    if items.is_empty() {
                        items = cv.wait(items).await;
                    }
                }
                Twin::Fixed => {
                    while items.is_empty() {
                        items = cv.wait(items).await;
                    }
                }
            }
            let item = items.pop_front();
            assert!(item.is_some(), "consumer-{c} woke to an empty buffer");
            cv.notify_all();
        }));
    }
    let producer = spawn_named("producer", {
        let shared = shared.clone();
        async move {
            let (buffer, cv) = &*shared;
            for k in 0..IF_CONSUMERS {
                let mut items = buffer.lock().await;
                while items.len() == CAPACITY {
                    items = cv.wait(items).await;
                }
                items.push_back(k);
                cv.notify_all();
            }
        }
    });
    tasks.push(producer);
    join_all(tasks).await?;
    Ok(())
}
