//! Semantics of the runtime core: tasks, join/abort/detach, panics, bounds, virtual
//! time, replay divergence, foreign wakes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use sim::time::{Instant, interval, sleep, timeout};
use sim::trace::EventKind;
use sim::{Builder, Failure, FailureKind, Runtime, Strategy, UnhandledPanic};

fn rt(seed: u64) -> Runtime {
    Builder::new().seed(seed).build()
}

const STRATEGIES: [Strategy; 3] = [Strategy::Random, Strategy::pct(3), Strategy::RoundRobin];

fn kinds(rt: &Runtime) -> Vec<EventKind> {
    rt.trace().events().map(|e| e.kind).collect()
}

#[test]
fn spawn_and_join_return_outputs() {
    for strategy in STRATEGIES {
        for seed in 0..50 {
            let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
            let out = rt.block_on(async {
                let a = sim::spawn(async { 1u64 });
                let b = sim::spawn(async {
                    let inner = sim::spawn(async { 20u64 });
                    inner.await.unwrap() * 2
                });
                a.await.unwrap() + b.await.unwrap()
            });
            assert_eq!(out.unwrap(), 41);
        }
    }
}

#[test]
fn join_set_collects_every_output() {
    for seed in 0..100 {
        let sum = rt(seed)
            .block_on(async {
                let mut set = sim::task::JoinSet::new();
                for i in 0..20u64 {
                    set.spawn(async move {
                        sim::task::yield_now().await;
                        i
                    });
                }
                let mut seen = Vec::new();
                while let Some((id, v)) = set.join_next_with_id().await.map(Result::unwrap) {
                    assert_eq!(u64::from(id.as_u32()), v + 1, "task ids follow spawn order");
                    seen.push(v);
                }
                seen.sort();
                assert_eq!(seen, (0..20).collect::<Vec<_>>());
                seen.iter().sum::<u64>()
            })
            .unwrap();
        assert_eq!(sum, 190);
    }
}

#[test]
fn abort_cancels_at_next_scheduling_point() {
    let mut rt = rt(1);
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let err = rt
        .block_on(async move {
            let guard = DropFlag(d);
            let h = sim::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            sim::task::yield_now().await;
            h.abort();
            h.await.unwrap_err()
        })
        .unwrap();
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.to_string(), "task 1 was cancelled");
    assert!(dropped.get(), "the aborted future was dropped");
    let k = kinds(&rt);
    assert!(
        k.iter()
            .any(|e| matches!(e, EventKind::Abort { target } if target.as_u32() == 1))
    );
    assert!(k.contains(&EventKind::Cancelled));
}

#[test]
fn abort_after_completion_is_a_no_op() {
    let out = rt(2)
        .block_on(async {
            let h = sim::spawn(async { 5 });
            while !h.is_finished() {
                sim::task::yield_now().await;
            }
            h.abort();
            h.await
        })
        .unwrap();
    assert_eq!(out.unwrap(), 5);
}

#[test]
fn a_task_can_abort_itself() {
    let mut rt = rt(3);
    let reached = Rc::new(Cell::new(false));
    let r = reached.clone();
    let err = rt
        .block_on(async move {
            let slot: Rc<RefCell<Option<sim::task::AbortHandle>>> = Rc::default();
            let s = slot.clone();
            let h = sim::spawn(async move {
                while s.borrow().is_none() {
                    sim::task::yield_now().await;
                }
                s.borrow().as_ref().unwrap().abort();
                sim::task::yield_now().await;
                r.set(true); // never reached: cancelled at the yield
            });
            *slot.borrow_mut() = Some(h.abort_handle());
            h.await.unwrap_err()
        })
        .unwrap();
    assert!(err.is_cancelled());
    assert!(!reached.get());
}

#[test]
fn dropping_a_handle_detaches_the_task() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    rt(4)
        .block_on(async move {
            drop(sim::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                d.set(true);
            }));
            sleep(Duration::from_millis(10)).await;
        })
        .unwrap();
    assert!(done.get());
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn tasks_alive_when_main_returns_are_dropped_and_traced() {
    let mut rt = rt(5);
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    rt.block_on(async move {
        let flag = DropFlag(d);
        sim::task::Builder::new()
            .name("forever")
            .spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await
            })
            .unwrap();
        sim::task::yield_now().await;
    })
    .unwrap();
    assert!(dropped.get());
    let last = rt.trace().events().last().unwrap();
    assert_eq!(last.kind, EventKind::Dropped);
    assert_eq!(rt.trace().actor_label(last.task), "forever#1");
}

#[test]
fn a_panicking_task_fails_the_run_by_default() {
    let mut rt = rt(3);
    let failure = rt
        .block_on(async {
            let h = sim::task::Builder::new()
                .name("worker")
                .spawn(async {
                    sim::task::yield_now().await;
                    panic!("boom {}", 7);
                })
                .unwrap();
            h.await.unwrap();
        })
        .unwrap_err();
    let Failure::Panic(p) = &failure else {
        panic!("expected a panic, got {failure}")
    };
    assert_eq!(p.task.name.as_deref(), Some("worker"));
    assert_eq!(p.message, "boom 7");
    assert!(
        p.location
            .as_deref()
            .unwrap()
            .starts_with("sim/tests/runtime.rs:"),
        "{:?}",
        p.location
    );
    assert!(p.task.spawned_at.starts_with("sim/tests/runtime.rs:"));
    let report = failure.to_string();
    assert!(
        report.contains("`worker` (task 1) panicked: boom 7"),
        "{report}"
    );
    assert!(report.contains("last events:"), "{report}");
    // The default portfolio gives seed 3 PCT of depth 3 with the default run length:
    // the command names that, not the portfolio.
    let last = report.lines().last().unwrap();
    assert!(
        last.contains("SIM_SEED=3 SIM_STRATEGY=pct:3:1000 cargo test"),
        "{last}"
    );
}

#[test]
fn unhandled_panic_ignore_delivers_it_to_the_join_handle() {
    let mut rt = Builder::new()
        .unhandled_panic(UnhandledPanic::Ignore)
        .build();
    let err = rt
        .block_on(async {
            sim::spawn(async { panic!("on purpose") })
                .await
                .unwrap_err()
        })
        .unwrap();
    assert!(err.is_panic());
    assert!(err.to_string().contains("on purpose"));
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "on purpose");
    assert!(kinds(&rt).contains(&EventKind::Panicked));
}

#[test]
fn a_panic_in_main_fails_the_run() {
    let failure = rt(7).block_on(async { panic!("main broke") }).unwrap_err();
    let Failure::Panic(p) = failure else { panic!() };
    assert_eq!(p.task.id, sim::task::TaskId::MAIN);
    assert_eq!(p.message, "main broke");
}

#[test]
fn deadlock_lists_blocked_tasks() {
    let failure = rt(8)
        .block_on(async {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            sim::task::Builder::new()
                .name("waiter")
                .spawn(async move {
                    let _ = rx.await;
                })
                .unwrap()
                .await
                .unwrap();
            drop(tx);
        })
        .unwrap_err();
    let Failure::Deadlock(d) = &failure else {
        panic!("{failure}")
    };
    let names: Vec<_> = d
        .blocked
        .iter()
        .map(|t| t.task.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["main", "waiter"]);
    assert!(failure.to_string().contains("2 task(s) blocked forever"));
}

#[test]
fn step_limit_stops_a_livelock() {
    let failure = Builder::new()
        .max_steps(500)
        .build()
        .block_on(async {
            loop {
                sim::task::yield_now().await;
            }
        })
        .unwrap_err();
    let Failure::StepLimit(s) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(s.max_steps, 500);
    assert_eq!(s.run.step, 500);
    assert!(failure.to_string().contains("SIM_MAX_STEPS"));
}

#[test]
fn time_limit_stops_a_run_waiting_past_it() {
    let failure = Builder::new()
        .max_time(Duration::from_secs(60))
        .build()
        .block_on(async {
            sleep(Duration::from_secs(59)).await;
            sleep(Duration::from_secs(2)).await;
        })
        .unwrap_err();
    let Failure::TimeLimit(t) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(t.next_timer, Duration::from_secs(61));
    assert_eq!(t.run.time, Duration::from_secs(59));
}

#[test]
fn virtual_time_jumps_to_the_next_timer() {
    Builder::new()
        .max_time(Duration::from_secs(7200))
        .build()
        .block_on(async {
            let start = Instant::now();
            assert_eq!(start.since_start(), Duration::ZERO);
            sleep(Duration::from_secs(3600)).await;
            assert_eq!(start.elapsed(), Duration::from_secs(3600));
            let h = sim::spawn(async {
                sleep(Duration::from_millis(250)).await;
                Instant::now()
            });
            let woke = h.await.unwrap();
            assert_eq!(woke.since_start(), Duration::from_millis(3_600_250));
        })
        .unwrap();
}

#[test]
fn timeout_elapses_or_passes_through() {
    rt(10)
        .block_on(async {
            let r = timeout(Duration::from_millis(10), sleep(Duration::from_millis(20))).await;
            assert!(r.is_err());
            assert_eq!(r.unwrap_err().to_string(), "deadline has elapsed");
            assert_eq!(Instant::now().since_start(), Duration::from_millis(10));
            let r = timeout(Duration::from_millis(10), async { 3 }).await;
            assert_eq!(r.unwrap(), 3);
            // The cancelled timer does not move the clock later.
            sleep(Duration::from_millis(1)).await;
            assert_eq!(Instant::now().since_start(), Duration::from_millis(11));
        })
        .unwrap();
}

#[test]
fn interval_ticks_on_the_period() {
    rt(11)
        .block_on(async {
            let mut every = interval(Duration::from_millis(100));
            let mut ticks = Vec::new();
            for _ in 0..4 {
                ticks.push(every.tick().await.since_start().as_millis());
            }
            assert_eq!(ticks, [0, 100, 200, 300]);
        })
        .unwrap();
}

#[test]
fn same_instant_timers_fire_in_an_order_the_strategy_chooses() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let order = rt(seed)
            .block_on(async {
                let log = Rc::new(RefCell::new(Vec::new()));
                let hs: Vec<_> = (0..3)
                    .map(|i| {
                        let log = log.clone();
                        sim::spawn(async move {
                            sleep(Duration::from_millis(10)).await;
                            log.borrow_mut().push(i);
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                log.take()
            })
            .unwrap();
        orders.insert(order);
    }
    assert_eq!(orders.len(), 6, "all 3! orders appear: {orders:?}");
}

#[test]
fn user_randomness_follows_the_seed_and_replays() {
    let draw = || async {
        (0..8)
            .map(|_| sim::rand::gen_range(0..1000u32))
            .collect::<Vec<_>>()
    };
    let mut a = rt(12);
    let xs = a.block_on(draw()).unwrap();
    assert_eq!(rt(12).block_on(draw()).unwrap(), xs);
    assert_ne!(rt(13).block_on(draw()).unwrap(), xs);
    let mut replay = Builder::new()
        .strategy(Strategy::Replay(a.schedule().clone()))
        .build();
    assert_eq!(replay.block_on(draw()).unwrap(), xs);
}

#[test]
fn replay_divergence_names_the_step() {
    let mut rec = rt(14);
    rec.block_on(async {
        let h = sim::spawn(async {});
        h.await.unwrap();
    })
    .unwrap();
    // A different program: three steps for main, where the schedule expects task 1.
    let mut replay = Builder::new()
        .strategy(Strategy::Replay(rec.schedule().clone()))
        .build();
    let failure = replay
        .block_on(async {
            sim::task::yield_now().await;
            sim::task::yield_now().await;
            sim::task::yield_now().await;
        })
        .unwrap_err();
    let Failure::NonDeterminism(n) = &failure else {
        panic!("{failure}")
    };
    assert!(
        n.reason.contains("at decision 2 (step 2)") || n.reason.contains("asks for decision"),
        "{}",
        n.reason
    );
    assert_eq!(failure.kind(), FailureKind::NonDeterminism);
    assert_eq!(n.cause, sim::NonDeterminismCause::ReplayDiverged);
    // Replaying the schedule reproduces it: no determinism check in the command.
    assert!(!failure.run().reproduce.check_determinism);
}

#[test]
fn a_wake_from_another_thread_is_reported() {
    let failure = rt(15)
        .block_on(std::future::poll_fn(|cx| {
            let waker: Waker = cx.waker().clone();
            std::thread::spawn(move || waker.wake()).join().unwrap();
            Poll::<()>::Pending
        }))
        .unwrap_err();
    let Failure::NonDeterminism(n) = &failure else {
        panic!("{failure}")
    };
    assert!(n.reason.contains("another OS thread"), "{}", n.reason);
    assert_eq!(n.cause, sim::NonDeterminismCause::ForeignWake);
}

#[test]
fn stale_wakers_of_a_finished_run_do_nothing() {
    // A waker kept past its run (e.g. in a static) is stale: waking it on this thread
    // during a later run, or from another thread, must neither wake a task of the
    // later run nor fail it.
    let kept = rt(19)
        .block_on(std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())))
        .unwrap();
    let kept2 = kept.clone();
    assert!(kept.will_wake(&kept2), "a clone wakes the same task");
    let mut second = rt(19);
    second
        .block_on(async move {
            // Runs while main sleeps: a wrong wake of task 0 would poll main early.
            let h = sim::spawn(async move {
                kept.wake_by_ref();
                std::thread::spawn(move || kept2.wake()).join().unwrap();
                kept.wake();
            });
            sim::time::sleep(Duration::from_secs(1)).await;
            h.await.unwrap();
        })
        .unwrap();
    let main_polls = second
        .trace()
        .events()
        .filter(|e| e.task == Some(sim::task::TaskId::MAIN) && e.kind == EventKind::Poll)
        .count();
    assert_eq!(main_polls, 2, "{}", second.trace());
}

#[test]
fn nested_block_on_is_a_clear_error() {
    let mut outer = rt(16);
    let failure = outer
        .block_on(async {
            let _ = rt(17).block_on(async {});
        })
        .unwrap_err();
    let Failure::Panic(p) = failure else { panic!() };
    assert!(p.message.contains("runs cannot nest"), "{}", p.message);
}

#[test]
fn sim_apis_outside_a_run_are_clear_errors() {
    let err = std::panic::catch_unwind(|| sim::time::sleep(Duration::from_secs(1))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("outside a sim runtime"), "{msg}");
}

#[test]
fn joinhandles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<sim::task::JoinHandle<u64>>();
    assert_send_sync::<sim::task::JoinSet<u64>>();
    assert_send_sync::<sim::task::AbortHandle>();
    assert_send_sync::<sim::time::Sleep>();
    assert_send_sync::<sim::Failure>();
}

#[test]
fn bytes_strategy_is_deterministic_and_continues_past_the_input() {
    let program = || async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let log = log.clone();
                sim::spawn(async move {
                    for _ in 0..3 {
                        log.borrow_mut().push(i);
                        sim::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        log.take()
    };
    let run = |bytes: Vec<u8>| {
        let mut rt = Builder::new().strategy(Strategy::Bytes(bytes)).build();
        let log = rt.block_on(program()).unwrap();
        (log, rt.replay_input().unwrap().to_vec())
    };
    assert_eq!(run(vec![7, 1, 200, 3]), run(vec![7, 1, 200, 3]));
    assert_ne!(run(vec![0; 64]).0, run(vec![1; 64]).0);
    // Past the end of the input the run goes on, decided by a generator seeded with
    // the bytes taken; its replay input decides every step from bytes.
    let (log, replay) = run(vec![]);
    assert_eq!(log.len(), 12);
    assert!(!replay.is_empty());
    assert_eq!(run(replay.clone()), (log, replay));
    assert_ne!(run(vec![]).0, run(vec![5]).0);
}

#[test]
fn foreign_data_across_threads_is_fine_when_not_waking() {
    // A std Mutex shared with the run is plain data, not a source of non-determinism.
    let shared = Arc::new(Mutex::new(0));
    let s = shared.clone();
    rt(18)
        .block_on(async move { *s.lock().unwrap() += 1 })
        .unwrap();
    assert_eq!(*shared.lock().unwrap(), 1);
}

/// Panics in its destructor.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn a_panicking_destructor_after_a_failure_is_reported_after_it() {
    // A guard panicking while its own task unwinds would abort the process (a panic
    // during a panic): here the failure is another task's, and the guards are dropped
    // after it, when the run stops.
    let failure = rt(3)
        .block_on(async {
            let guard = PanicOnDrop("sleeper's guard");
            sim::task::Builder::new()
                .name("sleeper")
                .spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                })
                .unwrap();
            sim::task::Builder::new()
                .name("worker")
                .spawn(async {
                    sim::task::yield_now().await;
                    panic!("the original failure");
                })
                .unwrap();
            let _main_guard = PanicOnDrop("main's guard");
            std::future::pending::<()>().await;
        })
        .unwrap_err();
    let Failure::Panic(p) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(p.message, "the original failure");
    assert_eq!(p.task.name.as_deref(), Some("worker"));
    let drops: Vec<String> = failure
        .run()
        .drop_panics
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(drops.len(), 2, "{drops:?}");
    assert!(
        drops[0].starts_with("`main` (task 0) panicked while being dropped: main's guard"),
        "{drops:?}"
    );
    assert!(
        drops[1].starts_with("`sleeper` (task 1) panicked while being dropped: sleeper's guard"),
        "{drops:?}"
    );
    let report = failure.to_string();
    let original = report.find("the original failure").unwrap();
    let after = report
        .find("then, while the run's tasks were dropped:")
        .unwrap();
    assert!(original < after, "{report}");
    assert!(
        report.lines().last().unwrap().starts_with("  reproduce:"),
        "{report}"
    );
}

#[test]
fn a_panicking_destructor_at_the_end_of_a_passing_run_fails_it() {
    let failure = rt(4)
        .block_on(async {
            let guard = PanicOnDrop("leaked guard");
            sim::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            sim::task::yield_now().await;
        })
        .unwrap_err();
    let Failure::Panic(p) = &failure else {
        panic!("{failure}")
    };
    assert_eq!(p.task.id.as_u32(), 1);
    assert_eq!(p.message, "while being dropped: leaked guard");
    assert!(
        p.location
            .as_deref()
            .unwrap()
            .starts_with("sim/tests/runtime.rs:")
    );
    assert!(failure.run().drop_panics.is_empty());
}

#[test]
fn a_check_keeps_its_report_when_a_destructor_panics() {
    let failure = sim::Check::new()
        .seeds(3)
        .no_regressions()
        .shrink_budget(0)
        .try_run(|| async {
            let guard = PanicOnDrop("a task's guard");
            sim::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            sim::task::yield_now().await;
            assert_eq!(1 + 1, 3, "the real bug");
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(report.contains("the real bug"), "{report}");
    assert!(report.contains("a task's guard"), "{report}");
    assert!(
        report
            .lines()
            .last()
            .unwrap()
            .starts_with("reproduce: SIM_SEED="),
        "{report}"
    );
}

#[test]
fn a_sleep_past_the_end_of_the_clock_ends_there() {
    // With no time bound, a sleep past the clock's last nanosecond (about 584 years)
    // used to fire and re-arm forever, until the step limit. (A sleep of
    // `Duration::MAX` ends thirty years on, as tokio's: `sleep_until` gets past the end.)
    let mut rt = Builder::new()
        .seed(1)
        .max_time(Duration::MAX)
        .max_steps(100)
        .build();
    let end = rt
        .block_on(async {
            let start = sim::time::Instant::now();
            let century = Duration::from_secs(100 * 365 * 86_400);
            sim::time::sleep_until(start + 6 * century).await;
            assert_eq!(start.elapsed(), Duration::from_nanos(u64::MAX));
            sim::time::sleep(Duration::from_secs(1)).await;
            sim::time::sleep(Duration::MAX).await;
            sim::time::Instant::now().since_start()
        })
        .unwrap();
    assert_eq!(end, Duration::from_nanos(u64::MAX));
}

#[test]
fn a_replay_with_decisions_left_over_is_a_divergence() {
    let mut rec = rt(9);
    let body = || async {
        let h = sim::spawn(async {
            sim::task::yield_now().await;
        });
        sim::task::yield_now().await;
        h.await.unwrap();
    };
    rec.block_on(body()).unwrap();
    let schedule = rec.schedule().clone();
    // The same program replays; a shorter one (main alone) ends with decisions left.
    sim::replay(&schedule, body).unwrap();
    let failure = sim::replay(&schedule, || async {}).unwrap_err();
    let Failure::NonDeterminism(n) = &failure else {
        panic!("{failure}")
    };
    assert!(
        n.reason
            .contains("the program ended after 1 of the replayed schedule's"),
        "{}",
        n.reason
    );
}
