//! A run is a pure function of (seed, code): same seed, byte-identical trace; different
//! seeds explore different interleavings; a recorded schedule replays the same trace
//! under every strategy.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use sim::time::sleep;
use sim::{Builder, Runtime, Strategy};

/// Several tasks, sleeps of random length, yields, spawns inside spawns, an abort,
/// a JoinSet: every source of scheduling decisions the core has.
async fn busy_program() -> Vec<u32> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut set = sim::task::JoinSet::new();
    for w in 0..4u32 {
        let log = log.clone();
        set.spawn(async move {
            for i in 0..3u32 {
                log.borrow_mut().push(w * 10 + i);
                if sim::rand::gen_bool(0.5) {
                    sim::task::yield_now().await;
                } else {
                    sleep(Duration::from_millis(sim::rand::gen_range(1..5u64))).await;
                }
            }
            let child_log = log.clone();
            let child = sim::spawn(async move {
                sim::task::yield_now().await;
                child_log.borrow_mut().push(100 + w);
            });
            child.await.unwrap();
            w
        });
    }
    let victim = sim::task::Builder::new()
        .name("victim")
        .spawn(async { sleep(Duration::from_secs(10)).await })
        .unwrap();
    sim::task::yield_now().await;
    victim.abort();
    assert!(victim.await.unwrap_err().is_cancelled());
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        done += r.unwrap();
    }
    assert_eq!(done, 6);
    log.take()
}

fn run(seed: u64, strategy: &Strategy) -> Runtime {
    let mut rt = Builder::new().seed(seed).strategy(strategy.clone()).build();
    rt.block_on(busy_program()).unwrap();
    rt
}

fn strategies() -> Vec<Strategy> {
    vec![
        Strategy::Random,
        Strategy::pct(3),
        Strategy::RoundRobin,
        Strategy::Bytes(vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]),
    ]
}

#[test]
fn same_seed_gives_byte_identical_traces() {
    for strategy in strategies() {
        for seed in 0..200 {
            let a = run(seed, &strategy);
            let b = run(seed, &strategy);
            assert_eq!(
                a.trace().digest(),
                b.trace().digest(),
                "seed {seed} {strategy}"
            );
            assert_eq!(a.schedule(), b.schedule(), "seed {seed} {strategy}");
            if seed % 50 == 0 {
                assert_eq!(a.trace().to_string(), b.trace().to_string());
            }
        }
    }
}

#[test]
fn one_runtime_rerun_is_a_fresh_identical_run() {
    let mut rt = Builder::new().seed(77).build();
    let first = rt.block_on(busy_program()).unwrap();
    let digest = rt.trace().digest();
    assert_eq!(rt.block_on(busy_program()).unwrap(), first);
    assert_eq!(rt.trace().digest(), digest);
}

#[test]
fn different_seeds_explore_different_interleavings() {
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let digests: BTreeSet<u64> = (0..200)
            .map(|seed| run(seed, &strategy).trace().digest())
            .collect();
        assert!(
            digests.len() >= 190,
            "{strategy}: only {} distinct traces in 200 seeds",
            digests.len()
        );
    }
}

#[test]
fn replaying_a_schedule_reproduces_the_trace_under_every_strategy() {
    // Under `Bytes`, `sim::rand` draws from the bytes too, so a bytes run replays from
    // its replay input (next test), not from its schedule and seed.
    for strategy in strategies()
        .into_iter()
        .filter(|s| !matches!(s, Strategy::Bytes(_)))
    {
        for seed in 0..50 {
            let original = run(seed, &strategy);
            let text = original.schedule().to_string();
            let schedule: sim::Schedule = text.parse().unwrap();
            let replayed = run(0, &Strategy::Replay(schedule));
            assert_eq!(
                replayed.trace().digest(),
                original.trace().digest(),
                "seed {seed} {strategy}"
            );
            assert_eq!(replayed.seed(), seed);
        }
    }
}

#[test]
fn a_bytes_run_replays_from_its_replay_input() {
    for seed in 0..50u64 {
        // Inputs too short for the run: the rest of it is decided past their end.
        let input: Vec<u8> = (0..seed % 7).map(|i| (seed * 31 + i * 7) as u8).collect();
        let original = run(0, &Strategy::Bytes(input.clone()));
        let replay = original.replay_input().expect("a bytes run").to_vec();
        let again = run(0, &Strategy::Bytes(replay.clone()));
        assert_eq!(
            again.trace().digest(),
            original.trace().digest(),
            "seed {seed}"
        );
        assert_eq!(again.replay_input(), Some(&replay[..]), "seed {seed}");
        // The replay input decides everything: another seed changes nothing.
        let other_seed = run(99, &Strategy::Bytes(replay));
        assert_eq!(other_seed.trace().digest(), original.trace().digest());
    }
}

/// Three tasks each take three steps, staying runnable in between; `yield_hint` says
/// whether they use `yield_now` (a hint to let others run) or wake themselves.
fn pct_steps_log(seed: u64, yield_hint: bool) -> Vec<u32> {
    let mut rt = Builder::new().seed(seed).strategy(Strategy::pct(1)).build();
    rt.block_on(async move {
        let log = Rc::new(RefCell::new(Vec::new()));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let log = log.clone();
                sim::spawn(async move {
                    for _ in 0..3 {
                        log.borrow_mut().push(i);
                        if yield_hint {
                            sim::task::yield_now().await;
                        } else {
                            let mut woke = false;
                            std::future::poll_fn(|cx| {
                                if woke {
                                    return std::task::Poll::Ready(());
                                }
                                woke = true;
                                cx.waker().wake_by_ref();
                                std::task::Poll::Pending
                            })
                            .await;
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        log.take()
    })
    .unwrap()
}

#[test]
fn pct_depth_one_never_preempts_a_runnable_task() {
    // No change points: the top-priority task runs until it blocks or finishes.
    for seed in 0..50 {
        let log = pct_steps_log(seed, false);
        for chunk in log.chunks(3) {
            assert!(chunk.iter().all(|&x| x == chunk[0]), "seed {seed}: {log:?}");
        }
    }
}

#[test]
fn pct_lets_others_run_after_a_yield() {
    // A yield drops the task below the others, so no task runs twice in a row.
    for seed in 0..50 {
        let log = pct_steps_log(seed, true);
        assert!(log.windows(2).all(|w| w[0] != w[1]), "seed {seed}: {log:?}");
    }
}

/// A task spinning on `yield_now` until another finishes ends under every PCT seed and
/// depth, even when the task it waits for was demoted at a change point: a yield drops
/// the yielder below every priority, change points' too (else the spinner, above the
/// demoted task, would starve it and the run would end at its step bound, a false
/// livelock; tokio's `JoinSet` coop test spins like this).
#[test]
fn pct_spin_wait_on_a_demoted_task_ends() {
    for depth in [2, 3, 5] {
        for seed in 0..200 {
            let mut rt = Builder::new()
                .seed(seed)
                .strategy(Strategy::Pct {
                    depth,
                    steps: Some(4),
                })
                .max_steps(10_000)
                .build();
            rt.block_on(async {
                let done = Rc::new(std::cell::Cell::new(0));
                for _ in 0..3 {
                    let done = done.clone();
                    sim::spawn(async move {
                        sim::task::yield_now().await;
                        done.set(done.get() + 1);
                    });
                }
                while done.get() < 3 {
                    sim::task::yield_now().await;
                }
            })
            .unwrap_or_else(|f| panic!("depth {depth}, seed {seed}: {f}"));
        }
    }
}

/// A task busy-waiting by waking itself (no `yield_now`: a `poll_fn` that wakes its
/// waker and returns `Pending`, as `futures_lite::future::yield_now` does) ends under
/// every PCT seed: after `SPIN_LIMIT` such polls in a row it is treated as yielding.
/// Before, PCT gave it the top priority for good in about one run in five (56 of 300
/// here) and the run ended at its step bound: a livelock no fair scheduler has.
#[test]
fn pct_busy_wait_by_self_wake_ends() {
    for depth in [1, 2, 3] {
        for seed in 0..100 {
            let mut rt = Builder::new()
                .seed(seed)
                .strategy(Strategy::pct(depth))
                .max_steps(10_000)
                .build();
            rt.block_on(async {
                let done = Rc::new(std::cell::Cell::new(false));
                let flag = done.clone();
                sim::spawn(async move { flag.set(true) });
                std::future::poll_fn(|cx| {
                    if done.get() {
                        return std::task::Poll::Ready(());
                    }
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                })
                .await;
            })
            .unwrap_or_else(|f| panic!("depth {depth}, seed {seed}: {f}"));
        }
    }
}

/// Peterson's mutual exclusion for two tasks, each entering twice, waiting in a
/// `yield_now` loop; `buggy` publishes `turn` before its flag (the textbook mistake),
/// which lets both in.
async fn peterson(buggy: bool) {
    use std::cell::Cell;
    let flag = Rc::new([Cell::new(false), Cell::new(false)]);
    let turn = Rc::new(Cell::new(0usize));
    let inside = Rc::new(Cell::new(0u32));
    let tasks: Vec<_> = (0..2usize)
        .map(|me| {
            let (flag, turn, inside) = (flag.clone(), turn.clone(), inside.clone());
            sim::spawn(async move {
                let other = 1 - me;
                for _ in 0..2 {
                    if buggy {
                        turn.set(other);
                        sim::task::scheduling_point().await;
                        flag[me].set(true);
                    } else {
                        flag[me].set(true);
                        sim::task::scheduling_point().await;
                        turn.set(other);
                    }
                    sim::task::scheduling_point().await;
                    while flag[other].get() && turn.get() == other {
                        sim::task::yield_now().await;
                    }
                    inside.set(inside.get() + 1);
                    assert_eq!(inside.get(), 1, "both tasks are inside");
                    sim::task::scheduling_point().await;
                    inside.set(inside.get() - 1);
                    flag[me].set(false);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// Every strategy lets a spin wait finish: Peterson's correct lock passes 300 seeds of
/// each (POS starved the task the spinner waited for when its priority was drawn low:
/// seed 0 ran to its step bound), and the buggy one is still caught by each that can.
#[test]
fn every_strategy_lets_a_spin_wait_finish_and_still_finds_the_bug() {
    let strategies = [
        Strategy::Portfolio,
        Strategy::Random,
        Strategy::pct(2),
        Strategy::pct(3),
        Strategy::Probabilistic { keep_percent: 80 },
        Strategy::Pos,
        Strategy::RoundRobin,
    ];
    for strategy in strategies {
        let check = || {
            sim::Check::new()
                .strategy(strategy.clone())
                .max_steps(50_000)
                .no_regressions()
                .shrink_budget(0)
        };
        check()
            .seeds(300)
            .try_run(|| peterson(false))
            .unwrap_or_else(|f| panic!("{strategy}: {f}"));
        // The bug needs two preemptions (one task stopped after publishing `turn`,
        // the other stopped inside), out of reach of PCT with one change point and of
        // round-robin's one schedule.
        if ![Strategy::pct(2), Strategy::RoundRobin].contains(&strategy) {
            let Err(found) = check().seeds(2_000).try_run(|| peterson(true)) else {
                panic!("{strategy}: the buggy lock was not caught in 2,000 seeds");
            };
            assert_eq!(found.failure.kind(), sim::FailureKind::Panic, "{strategy}");
        }
    }
}

#[test]
fn trace_snapshot_of_a_pinned_seed() {
    let mut rt = Builder::new().seed(2024).build();
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel();
        let producer = sim::task::Builder::new()
            .name("producer")
            .spawn(async move {
                sleep(Duration::from_millis(250)).await;
                tx.send(7u32).unwrap();
            })
            .unwrap();
        let consumer = sim::task::Builder::new()
            .name("consumer")
            .spawn(async move { rx.await.unwrap() })
            .unwrap();
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), 7);
    })
    .unwrap();
    insta::assert_snapshot!(rt.trace().to_string());
    assert_eq!(
        rt.schedule().to_string().parse::<sim::Schedule>().unwrap(),
        *rt.schedule()
    );
}

/// Under `Strategy::Bytes` a `yield_now` lets the other ready tasks go first, as tokio's
/// does: no input, whether it decides the run from its bytes or past their end (the
/// tail), polls the yielder again straight after its yield while another task is ready.
/// Every such run still replays from its replay input.
#[test]
fn a_bytes_run_never_undoes_a_yield() {
    // `a` yields three times while `b` and `c` count and yield; after each of `a`'s
    // yields, one of them has counted or finished. Three tasks ready at once make the
    // tail choose among two after a yield, so it sometimes picks the yielder and must
    // be overruled.
    async fn program() {
        // (counted, finished) by `b` and `c`.
        let count = Rc::new(RefCell::new((0u32, 0u32)));
        let counters: Vec<_> = (0..2)
            .map(|_| {
                let count = count.clone();
                sim::spawn(async move {
                    for _ in 0..3 {
                        count.borrow_mut().0 += 1;
                        sim::task::yield_now().await;
                    }
                    count.borrow_mut().1 += 1;
                })
            })
            .collect();
        let a = {
            let count = count.clone();
            sim::spawn(async move {
                for i in 0..3 {
                    let before = *count.borrow();
                    sim::task::yield_now().await;
                    let now = *count.borrow();
                    assert!(
                        now.0 > before.0 || now.1 > before.1 || now.1 == 2,
                        "a ran again at once after yield {i}"
                    );
                }
            })
        };
        a.await.unwrap();
        for c in counters {
            c.await.unwrap();
        }
    }
    let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    inputs.extend((0..500u64).map(|s| {
        (0..s % 12)
            .map(|i| (s.wrapping_mul(0x9E37_79B9) >> (i % 24)) as u8)
            .collect()
    }));
    for input in inputs {
        let mut rt = Builder::new()
            .strategy(Strategy::Bytes(input.clone()))
            .build();
        rt.block_on(program())
            .unwrap_or_else(|f| panic!("input {input:?}: {f}"));
        let replay = rt.replay_input().expect("a bytes run").to_vec();
        let mut again = Builder::new().strategy(Strategy::Bytes(replay)).build();
        again.block_on(program()).unwrap();
        assert_eq!(
            again.trace().digest(),
            rt.trace().digest(),
            "input {input:?}"
        );
    }
}
