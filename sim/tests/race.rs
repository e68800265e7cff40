//! The data-race detector, both ways: it finds the check-then-act race from a single
//! schedule (even one where no update was lost), and stays silent when a `Mutex`,
//! channels, spawn/join, `Event` or `Notify` order the accesses, over 1,000 seeds per
//! strategy.

use std::sync::Arc;

use sim::cell::RaceCell;
use sim::sync::{Event, Mutex, Notify, mpsc};
use sim::{Builder, Check, Failure, Strategy};

mod common;
use common::{assert_silent, strategies};

/// Two transfers read the balance, pass a scheduling point, then write it back: the
/// classic lost update. (A scheduling point, not a `yield_now`: under
/// `Strategy::Bytes` a yield always lets the other transfer in, and one test needs a
/// schedule where it does not.)
async fn racy_bank() -> i64 {
    let balance = Arc::new(RaceCell::named("balance", 100i64));
    let withdraw = |b: Arc<RaceCell<i64>>, amount: i64| async move {
        let seen = b.get();
        sim::task::scheduling_point().await;
        b.set(seen - amount);
    };
    let a = sim::task::Builder::new()
        .name("alice")
        .spawn(withdraw(balance.clone(), 30))
        .unwrap();
    let b = sim::task::Builder::new()
        .name("bob")
        .spawn(withdraw(balance.clone(), 20))
        .unwrap();
    a.await.unwrap();
    b.await.unwrap();
    balance.get()
}

/// The same transfers under an async mutex held across the await.
async fn locked_bank() {
    let balance = Arc::new(RaceCell::named("balance", 100i64));
    let lock = Arc::new(Mutex::new(()));
    let withdraw = |b: Arc<RaceCell<i64>>, lock: Arc<Mutex<()>>, amount: i64| async move {
        let _guard = lock.lock().await;
        let seen = b.get();
        sim::task::yield_now().await;
        b.set(seen - amount);
    };
    let a = sim::spawn(withdraw(balance.clone(), lock.clone(), 30));
    let b = sim::spawn(withdraw(balance.clone(), lock.clone(), 20));
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(balance.get(), 50);
}

#[test]
fn finds_check_then_act_even_when_no_update_was_lost() {
    // Bytes of 1 keep the running task at every two-way choice (it is candidate
    // `n - 1`): alice runs to completion before bob, so the final balance is right,
    // and the race is still reported. (An empty input's tail is a portfolio strategy
    // chosen by its tail seed, which may preempt.)
    let no_preemption = vec![1u8; 16];
    let mut rt = Builder::new()
        .strategy(Strategy::Bytes(no_preemption.clone()))
        .build();
    let failure = rt.block_on(racy_bank()).unwrap_err();
    let Failure::Race(r) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(r.cell, "race-cell balance#r0");
    assert_ne!(r.first.task.id, r.second.task.id);
    assert!(r.first.write || r.second.write);
    assert!(
        r.first.location.starts_with("sim/tests/race.rs:")
            && r.second.location.starts_with("sim/tests/race.rs:")
    );
    let report = failure.to_string();
    assert!(
        report.contains("data race on race-cell balance#r0"),
        "{report}"
    );
    assert!(
        report.contains("`alice` (task 1)") && report.contains("`bob` (task 2)"),
        "{report}"
    );
    // The program itself did not lose an update on this schedule.
    let mut quiet = Builder::new()
        .strategy(Strategy::Bytes(no_preemption))
        .build();
    let out = quiet.block_on(async {
        let b = Arc::new(std::sync::Mutex::new(100i64));
        let w = |b: Arc<std::sync::Mutex<i64>>, n| async move {
            let seen = *b.lock().unwrap();
            sim::task::scheduling_point().await;
            *b.lock().unwrap() = seen - n;
        };
        let (x, y) = (sim::spawn(w(b.clone(), 30)), sim::spawn(w(b.clone(), 20)));
        x.await.unwrap();
        y.await.unwrap();
        *b.lock().unwrap()
    });
    assert_eq!(out.unwrap(), 50);
}

#[test]
fn finds_it_on_every_seed_of_every_strategy() {
    for strategy in strategies() {
        let f = Check::new()
            .seeds(20)
            .strategy(strategy)
            .no_regressions()
            .shrink_budget(0)
            .try_run(|| async {
                racy_bank().await;
            });
        let f = f.unwrap_err();
        assert_eq!(f.failure.kind(), sim::FailureKind::Race);
        assert_eq!(f.failure.run().seed, 0, "a single schedule suffices");
    }
}

#[test]
fn silent_under_a_mutex() {
    assert_silent(1000, locked_bank);
}

#[test]
fn silent_when_ownership_passes_through_channels() {
    assert_silent(1000, || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (to_b, mut at_b) = mpsc::channel::<()>(1);
        let (to_a, mut at_a) = mpsc::channel::<()>(1);
        let c = cell.clone();
        let b = sim::spawn(async move {
            for _ in 0..3 {
                at_b.recv().await.unwrap();
                c.with_mut(|v| *v += 1);
                to_a.send(()).await.unwrap();
            }
        });
        for _ in 0..3 {
            cell.with_mut(|v| *v += 1);
            to_b.send(()).await.unwrap();
            at_a.recv().await.unwrap();
        }
        b.await.unwrap();
        assert_eq!(cell.get(), 6);
    });
}

#[test]
fn silent_across_spawn_and_join() {
    assert_silent(1000, || async {
        let cell = Arc::new(RaceCell::new(1u32));
        cell.set(2);
        let c = cell.clone();
        let child = sim::spawn(async move {
            sim::task::yield_now().await;
            c.set(c.get() * 10);
        });
        child.await.unwrap();
        assert_eq!(cell.get(), 20);
    });
}

#[test]
fn silent_after_an_event_or_a_notify() {
    assert_silent(1000, || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let ready = Arc::new(Event::new());
        let done = Arc::new(Notify::new());
        let (c, r, d) = (cell.clone(), ready.clone(), done.clone());
        let waiter = sim::spawn(async move {
            r.wait().await;
            c.set(c.get() + 1);
            d.notify_one();
        });
        sim::task::yield_now().await;
        cell.set(41);
        ready.set();
        done.notified().await;
        assert_eq!(cell.get(), 42);
        waiter.await.unwrap();
    });
}
