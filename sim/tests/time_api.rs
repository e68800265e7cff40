//! tokio's time API beyond sleeping, as its documentation states it for a paused
//! clock: `pause`/`resume` (accepted), `advance` (moves the clock now, firing the
//! timers due on the way), `Instant` arithmetic below the start of a run, and the
//! `Interval` resets.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::ms;
use sim::time::{
    Duration, Instant, MissedTickBehavior, advance, interval, pause, resume, sleep, sleep_until,
};
use sim::trace::EventKind;
use sim::{Builder, Failure, Strategy};

const STRATEGIES: [Strategy; 3] = [Strategy::Random, Strategy::pct(3), Strategy::RoundRobin];

#[test]
fn duration_is_std_duration() {
    let d: std::time::Duration = sim::time::Duration::from_millis(3);
    assert_eq!(d, ms(3));
}

#[test]
fn pause_and_resume_are_accepted_anywhere_and_change_nothing() {
    pause(); // outside a run
    resume();
    Builder::new()
        .build()
        .block_on(async {
            pause();
            pause(); // tokio panics on a second pause; the clock is always paused here
            let start = Instant::now();
            sleep(ms(7)).await;
            resume();
            resume();
            assert_eq!(start.elapsed(), ms(7));
            assert_eq!(Instant::now().since_start(), ms(7));
        })
        .unwrap();
}

#[test]
fn advance_moves_the_clock_while_other_tasks_are_runnable() {
    for strategy in STRATEGIES {
        for seed in 0..30 {
            let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
            rt.block_on(async {
                // A task that is runnable until the clock moves: `sleep` would wait for
                // it forever (the clock moves only when nobody can run); `advance` moves
                // the clock now.
                let spinner = sim::spawn(async {
                    while Instant::now().since_start().is_zero() {
                        sim::task::yield_now().await;
                    }
                });
                let start = Instant::now();
                advance(Duration::from_secs(90)).await;
                assert_eq!(start.elapsed(), Duration::from_secs(90));
                spinner.await.unwrap();
                assert_eq!(start.elapsed(), Duration::from_secs(90), "nothing slept");
            })
            .unwrap();
        }
    }
}

#[test]
fn advance_fires_the_timers_due_on_the_way_in_deadline_order() {
    for strategy in STRATEGIES {
        for seed in 0..30 {
            let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
            rt.block_on(async {
                let woke = Rc::new(RefCell::new(Vec::new()));
                let mut sleepers = Vec::new();
                for (name, after) in [("late", 30), ("early", 10), ("past", 80), ("mid", 20)] {
                    let woke = woke.clone();
                    // Armed now, whoever runs first.
                    let mut timer = Box::pin(sleep(ms(after)));
                    assert!(futures::poll!(timer.as_mut()).is_pending());
                    sleepers.push(sim::spawn(async move {
                        timer.await;
                        woke.borrow_mut().push((name, Instant::now().since_start()));
                    }));
                }
                advance(ms(50)).await;
                assert_eq!(Instant::now().since_start(), ms(50));
                // Tasks woken by the jump run at the new instant (in the scheduler's order).
                sleep(ms(1)).await;
                let mut at_50: Vec<_> = woke.borrow().clone();
                at_50.sort();
                assert_eq!(
                    at_50,
                    [("early", ms(50)), ("late", ms(50)), ("mid", ms(50))],
                    "the three due timers fired in the jump, the fourth did not"
                );
                for s in sleepers {
                    s.await.unwrap();
                }
                assert_eq!(woke.borrow().last(), Some(&("past", ms(80))));
            })
            .unwrap();
            // In the trace, each timer fired at its own deadline, in deadline order,
            // before the caller went on at the new instant.
            let fired: Vec<Duration> = rt
                .trace()
                .events()
                .filter(|e| e.kind == EventKind::TimerFired)
                .map(|e| e.time)
                .collect();
            assert_eq!(fired, [ms(10), ms(20), ms(30), ms(50), ms(51), ms(80)]);
        }
    }
}

#[test]
fn advance_past_max_time_is_a_time_limit_failure() {
    let failure = Builder::new()
        .max_time(Duration::from_secs(60))
        .build()
        .block_on(async {
            advance(Duration::from_secs(59)).await;
            advance(Duration::from_secs(2)).await;
            unreachable!("the run stops at the jump past its bound");
        })
        .unwrap_err();
    let Failure::TimeLimit(t) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(t.next_timer, Duration::from_secs(61));
    assert_eq!(t.run.time, Duration::from_secs(59));
}

#[test]
fn advance_by_zero_yields_once() {
    let mut rt = Builder::new().build();
    rt.block_on(async {
        advance(Duration::ZERO).await;
        assert_eq!(Instant::now().since_start(), Duration::ZERO);
    })
    .unwrap();
    assert!(rt.trace().events().any(|e| e.kind == EventKind::Yield));
}

#[test]
fn advance_is_deterministic() {
    let body = || async {
        let t = sim::spawn(async { sleep(ms(5)).await });
        sim::task::yield_now().await;
        advance(ms(3)).await;
        advance(ms(3)).await;
        t.await.unwrap();
    };
    for seed in 0..20 {
        let mut a = Builder::new().seed(seed).build();
        let mut b = Builder::new().seed(seed).build();
        a.block_on(body()).unwrap();
        b.block_on(body()).unwrap();
        assert_eq!(a.trace().to_string(), b.trace().to_string());
    }
}

#[test]
fn instants_before_the_start_of_a_run_exist() {
    Builder::new()
        .build()
        .block_on(async {
            let now = Instant::now();
            assert_eq!(now.since_start(), Duration::ZERO);
            // tokio's paused clock starts far from zero: these must not overflow.
            let hour_ago = now - Duration::from_secs(3600);
            let day_ago = now.checked_sub(Duration::from_secs(86_400)).unwrap();
            assert!(hour_ago < now && day_ago < hour_ago);
            assert_eq!(now - hour_ago, Duration::from_secs(3600));
            assert_eq!(now.duration_since(day_ago), Duration::from_secs(86_400));
            assert_eq!(hour_ago.duration_since(now), Duration::ZERO, "saturates");
            assert_eq!(hour_ago.checked_duration_since(now), None);
            assert_eq!(hour_ago.since_start(), Duration::ZERO);
            assert_eq!(hour_ago.elapsed(), Duration::from_secs(3600));
            assert_eq!(format!("{hour_ago:?}"), "Instant(-3600.000000s)");
            assert_eq!(format!("{now:?}"), "Instant(0.000000s)");
            // A deadline in the past is due at once.
            let before = Instant::now();
            sleep_until(hour_ago).await;
            assert_eq!(Instant::now(), before);
            // Going further back than the clock's epoch (a year) is an overflow.
            assert!(now.checked_sub(Duration::from_secs(400 * 86_400)).is_none());
            assert_eq!(Instant::default(), now, "the default instant is the start");
        })
        .unwrap();
}

#[test]
fn subtracting_past_the_epoch_panics_like_std() {
    let failure = Builder::new()
        .build()
        .block_on(async {
            let _ = Instant::now() - Duration::from_secs(400 * 86_400);
        })
        .unwrap_err();
    assert!(
        failure
            .to_string()
            .contains("overflow when subtracting duration from instant"),
        "{failure}"
    );
}

#[test]
fn the_trace_shows_time_since_the_start() {
    let mut rt = Builder::new().build();
    rt.block_on(async { sleep(ms(250)).await }).unwrap();
    let text = rt.trace().to_string();
    assert!(text.contains("sleep until 0.250000s"), "{text}");
}

#[test]
fn interval_reset_at_a_later_deadline_waits_longer_than_the_period() {
    Builder::new()
        .build()
        .block_on(async {
            let start = Instant::now();
            let mut every = interval(ms(10));
            assert_eq!(every.tick().await, start);
            every.reset_at(start + ms(35));
            assert_eq!(every.tick().await, start + ms(35));
            assert_eq!(
                every.tick().await,
                start + ms(45),
                "the period goes on from there"
            );
        })
        .unwrap();
}

#[test]
fn interval_reset_at_a_past_deadline_ticks_at_once_then_catches_up_by_its_behavior() {
    for (behavior, next) in [
        (MissedTickBehavior::Burst, 10),
        (MissedTickBehavior::Delay, 40),
        (MissedTickBehavior::Skip, 40),
    ] {
        Builder::new()
            .build()
            .block_on(async move {
                let start = Instant::now();
                let mut every = interval(ms(10));
                every.set_missed_tick_behavior(behavior);
                every.tick().await;
                sleep(ms(30)).await;
                every.reset_at(start); // in the past: due at once
                assert_eq!(every.tick().await, start);
                assert_eq!(Instant::now(), start + ms(30), "no wait");
                assert_eq!(every.tick().await, start + ms(next), "{behavior:?}");
            })
            .unwrap();
    }
}

#[test]
fn interval_reset_discards_missed_ticks() {
    Builder::new()
        .build()
        .block_on(async {
            let start = Instant::now();
            let mut every = interval(ms(10)); // Burst: missed ticks fire back to back
            every.tick().await;
            sleep(ms(35)).await; // three ticks missed
            every.reset_after(ms(5));
            assert_eq!(
                every.tick().await,
                start + ms(40),
                "the missed ticks are gone"
            );
            assert_eq!(every.tick().await, start + ms(50));
        })
        .unwrap();
}

#[test]
fn interval_reset_immediately_and_reset() {
    Builder::new()
        .build()
        .block_on(async {
            let start = Instant::now();
            let mut every = interval(ms(100));
            every.tick().await;
            sleep(ms(20)).await;
            every.reset_immediately();
            assert_eq!(every.tick().await, start + ms(20));
            assert_eq!(every.tick().await, start + ms(120));
            sleep(ms(30)).await; // now 150 ms
            every.reset(); // one period from now
            assert_eq!(every.tick().await, start + ms(250));
        })
        .unwrap();
}

#[test]
fn a_tick_up_to_five_ms_late_is_on_time() {
    for (late, next) in [(5, 10), (6, 16)] {
        Builder::new()
            .build()
            .block_on(async move {
                let start = Instant::now();
                let mut every = interval(ms(10));
                every.set_missed_tick_behavior(MissedTickBehavior::Delay);
                every.tick().await;
                sleep(ms(10 + late)).await; // the second tick is `late` ms late
                assert_eq!(every.tick().await, start + ms(10));
                // On time: the period goes on from the schedule; missed: from now.
                assert_eq!(
                    every.tick().await,
                    start + ms(10 + next),
                    "late by {late} ms"
                );
            })
            .unwrap();
    }
}

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// tokio's paused clock finishes years-long sleeps in one jump, and a sleep, timeout or
/// interval period of `Duration::MAX` ends thirty years on (its `Instant::far_future`);
/// so does a run with the default bounds (tokio's `time_sleep` and `time_timeout`
/// tests: `long_sleeps`, `exactly_max`, `no_out_of_bounds_close_to_max`,
/// `very_large_timeout`).
#[test]
fn years_long_and_maximal_sleeps_end_as_on_a_paused_tokio_clock() {
    let mut rt = Builder::new().build();
    rt.block_on(async {
        let start = Instant::now();
        sleep(10 * YEAR).await;
        assert_eq!(start.elapsed(), 10 * YEAR);
        sleep(Duration::MAX).await;
        assert_eq!(start.elapsed(), 40 * YEAR);
        sleep(Duration::MAX - ms(1)).await;
        assert_eq!(start.elapsed(), 70 * YEAR);
        let (tx, rx) = sim::sync::oneshot::channel::<()>();
        let waiting = sim::spawn(sim::time::timeout(Duration::MAX, rx));
        advance(10 * YEAR).await;
        assert!(!waiting.is_finished());
        tx.send(()).unwrap();
        assert!(waiting.await.unwrap().is_ok());
        assert_eq!(start.elapsed(), 80 * YEAR);
    })
    .unwrap();
    rt.block_on(async {
        let mut every = interval(Duration::MAX);
        let first = every.tick().await;
        assert_eq!(every.tick().await - first, 30 * YEAR);
    })
    .unwrap();
}

/// The default time bound is a hundred years: a sleep past it is a time-limit failure
/// naming the timer's deadline.
#[test]
fn the_default_time_bound_is_a_hundred_years() {
    assert_eq!(sim::DEFAULT_MAX_TIME, 100 * YEAR);
    let failure = Builder::new()
        .build()
        .block_on(async {
            sleep(99 * YEAR).await;
            sleep(2 * YEAR).await;
        })
        .unwrap_err();
    let Failure::TimeLimit(t) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(t.next_timer, 101 * YEAR);
    assert_eq!(t.run.time, 99 * YEAR);
}
