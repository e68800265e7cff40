//! tokio's macros as its documentation states them: `select!` (branch order from the
//! run's seed, `biased;`, preconditions, patterns, `else`), `join!`, `try_join!`,
//! `pin!`, the cooperative budget seen through `select!`, and `#[sim::main]`.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use common::{ms, sweep};
use sim::sync::{broadcast, mpsc, watch};
use sim::task::yield_now;
use sim::time::{Instant, sleep};
use sim::{Builder, FailureKind, Strategy};

/// Which of two always-ready branches an unbiased `select!` takes under `seed`.
fn first_ready_branch(seed: u64) -> u8 {
    Builder::new()
        .seed(seed)
        .build()
        .block_on(async {
            sim::select! {
                () = std::future::ready(()) => 0,
                () = std::future::ready(()) => 1,
            }
        })
        .unwrap()
}

#[test]
fn select_branch_order_comes_from_the_seed() {
    let picks: Vec<u8> = (0..64).map(first_ready_branch).collect();
    assert!(picks.contains(&0) && picks.contains(&1), "{picks:?}");
    // The same seed picks the same branch, on any thread (no thread-local generator).
    let again: Vec<u8> = std::thread::spawn(|| (0..64).map(first_ready_branch).collect())
        .join()
        .unwrap();
    assert_eq!(picks, again);
}

#[test]
fn select_order_draws_from_the_runs_generator() {
    // The draw is a `sim::rand` draw: it moves the user stream by one, seed for seed.
    for seed in 0..20 {
        let (after_select, _) = Builder::new()
            .seed(seed)
            .build()
            .block_on(async {
                let branch = sim::select! {
                    () = std::future::ready(()) => 0usize,
                    () = std::future::ready(()) => 1,
                    () = std::future::ready(()) => 2,
                };
                (sim::rand::random::<u64>(), branch)
            })
            .unwrap();
        let (after_draw, drawn) = Builder::new()
            .seed(seed)
            .build()
            .block_on(async {
                let branch = sim::rand::gen_range(0..3usize);
                (sim::rand::random::<u64>(), branch)
            })
            .unwrap();
        assert_eq!(after_select, after_draw);
        assert_eq!(first_of_three(seed), drawn);
    }
}

fn first_of_three(seed: u64) -> usize {
    Builder::new()
        .seed(seed)
        .build()
        .block_on(async {
            sim::select! {
                () = std::future::ready(()) => 0,
                () = std::future::ready(()) => 1,
                () = std::future::ready(()) => 2,
            }
        })
        .unwrap()
}

#[test]
fn biased_select_polls_in_the_written_order() {
    for seed in 0..30 {
        let polled = Builder::new()
            .seed(seed)
            .build()
            .block_on(async {
                let polled = RefCell::new(Vec::new());
                let probe = |i: u8| {
                    let polled = &polled;
                    std::future::poll_fn(move |_| {
                        polled.borrow_mut().push(i);
                        std::task::Poll::Ready(i)
                    })
                };
                let won = sim::select! {
                    biased;
                    v = probe(0) => v,
                    v = probe(1) => v,
                };
                assert_eq!(won, 0);
                polled.into_inner()
            })
            .unwrap();
        assert_eq!(polled, [0], "the second branch is never polled");
    }
}

#[test]
fn select_precondition_disables_a_branch_and_else_runs_when_all_are_disabled() {
    Builder::new()
        .build()
        .block_on(async {
            let evaluated = Cell::new(0);
            let fut = |v: u32| {
                evaluated.set(evaluated.get() + 1);
                std::future::ready(v)
            };
            let v = sim::select! {
                v = fut(1), if false => v,
                v = fut(2) => v,
            };
            assert_eq!(v, 2);
            assert_eq!(
                evaluated.get(),
                2,
                "disabled branches' futures are still built"
            );
            let v = sim::select! {
                v = fut(1), if false => v,
                else => 99,
            };
            assert_eq!(v, 99);
        })
        .unwrap();
}

#[test]
fn select_output_not_matching_its_pattern_disables_the_branch() {
    sweep(20, || async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        drop(tx); // `recv` gives `None` at once
        let v = sim::select! {
            Some(v) = rx.recv() => v,
            _ = sleep(ms(5)) => 7,
        };
        assert_eq!(v, 7, "a `None` does not match `Some(v)`: the sleep wins");
        assert_eq!(Instant::now().since_start(), ms(5));
        let v = sim::select! {
            Some(v) = rx.recv() => v,
            else => 8,
        };
        assert_eq!(v, 8);
    });
}

#[test]
fn select_without_else_panics_when_every_branch_is_disabled() {
    let failure = Builder::new()
        .build()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            drop(tx);
            sim::select! {
                Some(v) = rx.recv() => v,
            }
        })
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Panic);
    assert!(
        failure
            .to_string()
            .contains("all branches are disabled and there is no else branch"),
        "{failure}"
    );
}

#[test]
fn select_drops_the_futures_before_the_handler_runs() {
    Builder::new()
        .build()
        .block_on(async {
            let mut buf = vec![1, 2, 3];
            let (_tx, mut rx) = mpsc::channel::<u32>(1);
            sim::select! {
                // The first future borrows `buf` mutably ...
                _ = async { buf.push(4); std::future::pending::<()>().await } => {}
                _ = rx.recv() => {}
                () = std::future::ready(()) => {
                    // ... and the handler may use it again: the futures are gone.
                    buf.push(5);
                }
            }
            assert!(buf.ends_with(&[5]));
        })
        .unwrap();
}

#[test]
fn select_patterns_with_mut_bindings() {
    Builder::new()
        .build()
        .block_on(async {
            let v = sim::select! {
                mut v = async { vec![1] } => { v.push(2); v }
            };
            assert_eq!(v, [1, 2]);
        })
        .unwrap();
}

#[test]
fn select_branch_choice_replays_from_a_schedule() {
    let body = || async {
        let (tx, mut rx) = mpsc::channel::<u32>(8);
        let producer = sim::spawn(async move {
            for i in 0..4 {
                tx.send(i).await.unwrap();
            }
        });
        let mut log = Vec::new();
        for _ in 0..6 {
            sim::select! {
                Some(v) = rx.recv() => log.push(v),
                () = yield_now() => log.push(100),
            }
        }
        producer.await.unwrap();
        log
    };
    for seed in 0..10 {
        let mut rt = Builder::new().seed(seed).build();
        let first = rt.block_on(body()).unwrap();
        let replayed = sim::replay(rt.schedule().to_string().as_str(), body).unwrap();
        assert_eq!(first, replayed);
    }
}

#[test]
fn join_polls_concurrently_and_returns_every_output() {
    sweep(20, || async {
        let start = Instant::now();
        let (a, b, c) = sim::join!(
            async {
                sleep(ms(30)).await;
                'a'
            },
            async {
                sleep(ms(10)).await;
                2
            },
            std::future::ready("c"),
        );
        assert_eq!((a, b, c), ('a', 2, "c"));
        assert_eq!(
            start.elapsed(),
            ms(30),
            "concurrent: the longest, not the sum"
        );
        let () = sim::join!();
        let (x,) = sim::join!(biased; async { 1 });
        assert_eq!(x, 1);
    });
}

#[test]
fn join_rotates_the_first_future_polled() {
    Builder::new()
        .build()
        .block_on(async {
            let order = RefCell::new(Vec::new());
            let probe = |i: u8| {
                let order = &order;
                let mut polls = 0;
                std::future::poll_fn(move |cx| {
                    order.borrow_mut().push(i);
                    polls += 1;
                    if polls == 3 {
                        std::task::Poll::Ready(())
                    } else {
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
            };
            sim::join!(probe(0), probe(1));
            assert_eq!(order.into_inner(), [0, 1, 1, 0, 0, 1]);
        })
        .unwrap();
}

#[test]
fn try_join_returns_every_output_or_the_first_error() {
    sweep(20, || async {
        let ok = sim::try_join!(async { Ok::<_, String>(1) }, async {
            sleep(ms(5)).await;
            Ok("b")
        });
        assert_eq!(ok, Ok((1, "b")));
        let dropped = Rc::new(Cell::new(false));
        struct SetOnDrop(Rc<Cell<bool>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let guard = SetOnDrop(dropped.clone());
        let start = Instant::now();
        let err = sim::try_join!(
            async move {
                let _guard = guard;
                sleep(ms(1000)).await;
                Ok::<u32, &str>(1)
            },
            async {
                sleep(ms(5)).await;
                Err::<u32, &str>("failed")
            },
        );
        assert_eq!(err, Err("failed"));
        assert_eq!(start.elapsed(), ms(5), "the first error ends it at once");
        assert!(dropped.get(), "the other future was dropped");
    });
}

/// The futures of `select!`, `join!` and `try_join!` keep the futures they wait on
/// pinned together behind one pointer, as tokio's: the same size as tokio's macros
/// make (compared with tokio in the same build, so the layout rules are the same), and
/// one more future adds only its own size. A `join!` may be smaller: its `MaybeDone`
/// uses niches where tokio's is `repr(C)`.
#[test]
fn macro_futures_are_as_small_as_tokios() {
    use futures::future::ready;
    use std::mem::size_of_val;
    macro_rules! sizes {
        ($m:ident; $($f:expr),+) => {
            (
                size_of_val(&async { sim::$m!($($f),+) }),
                size_of_val(&async { tokio::$m!($($f),+) }),
            )
        };
    }
    macro_rules! select_sizes {
        ($($f:expr),+) => {
            (
                size_of_val(&async { sim::select! { $(_ = $f => {},)+ } }),
                size_of_val(&async { tokio::select! { $(_ = $f => {},)+ } }),
            )
        };
    }
    let ok = |v: i32| ready(Ok::<i32, ()>(v));
    for (ours, tokio) in [
        select_sizes!(ready(0i32)),
        select_sizes!(ready(0i32), ready(1i32)),
        select_sizes!(ready(0i32), ready(1i32), ready(2i32)),
        sizes!(try_join; ok(0)),
        sizes!(try_join; ok(0), ok(1)),
        sizes!(try_join; ok(0), ok(1), ok(2)),
    ] {
        assert_eq!(ours, tokio);
    }
    for (ours, tokio) in [
        sizes!(join; ready(0i32)),
        sizes!(join; ready(0i32), ready(1i32)),
        sizes!(join; ready(0i32), ready(1i32), ready(2i32)),
    ] {
        assert!(ours <= tokio, "join!: {ours} bytes, tokio's {tokio}");
    }
    // One pointer for all: two more 16-byte futures add their 32 bytes, no pointers.
    let (one, _) = select_sizes!(ready(0u64));
    let (three, _) = select_sizes!(ready(0u64), ready(1u64), ready(2u64));
    assert!(three - one <= 2 * 16, "{one} -> {three}");
}

#[test]
fn pin_shadows_variables_and_let_statements() {
    Builder::new()
        .build()
        .block_on(async {
            let a = async { 1 };
            let b = async { 2 };
            sim::pin!(a, b);
            let sum = (&mut a).await + (&mut b).await;
            sim::pin! {
                let c = async { 3 };
                let d = sleep(ms(1));
            }
            (&mut d).await;
            assert!(d.is_elapsed());
            assert_eq!(sum + c.await, 6);
        })
        .unwrap();
}

// --- the cooperative budget ---------------------------------------------------------------

/// The loop of tokio's "is cooperative" tests: an operation that is always ready, raced
/// (biased) against `yield_now`. Only a budget makes the loop return `Pending`, so that
/// the `yield_now` branch completes on the next poll.
fn assert_cooperative<S>(setup: impl Fn() -> S, op: impl AsyncFn(&mut S)) {
    for strategy in [Strategy::Random, Strategy::pct(3), Strategy::RoundRobin] {
        for seed in 0..10 {
            Builder::new()
                .seed(seed)
                .strategy(strategy.clone())
                .max_steps(1_000)
                .build()
                .block_on(async {
                    let mut state = setup();
                    let mut ops = 0u32;
                    sim::select! {
                        biased;
                        () = async {
                            loop {
                                op(&mut state).await;
                                ops += 1;
                                assert!(ops < 100_000, "no budget: the loop never gives way");
                            }
                        } => {}
                        () = yield_now() => {}
                    }
                })
                .unwrap_or_else(|f| panic!("seed {seed} {strategy}: {f}"));
        }
    }
}

#[test]
fn an_always_ready_mpsc_receiver_gives_way_to_yield_now() {
    assert_cooperative(mpsc::unbounded_channel::<u32>, async |(tx, rx)| {
        tx.send(1).unwrap();
        assert_eq!(rx.recv().await, Some(1));
    });
}

#[test]
fn an_always_ready_broadcast_receiver_gives_way_to_yield_now() {
    assert_cooperative(
        || broadcast::channel::<u32>(8),
        async |(tx, rx)| {
            tx.send(1).unwrap();
            assert_eq!(rx.recv().await.unwrap(), 1);
        },
    );
}

#[test]
fn a_closed_watch_receiver_gives_way_to_yield_now() {
    assert_cooperative(
        || watch::channel(()).1,
        async |rx| assert!(rx.changed().await.is_err()),
    );
}

#[test]
fn a_loop_of_scheduling_points_gives_way_to_yield_now() {
    assert_cooperative(|| (), async |_| sim::task::consume_budget().await);
}

// --- #[sim::main] and #[sim::test] ---------------------------------------------------------

/// `#[sim::main]` on a function other than `main`: one run, configured by `SIM_`
/// variables (none set here: seed 0).
#[sim::main]
async fn simulated_program() -> (u32, std::time::Duration) {
    let worker = sim::spawn(async {
        sleep(ms(40)).await;
        42
    });
    (worker.await.unwrap(), Instant::now().since_start())
}

#[test]
fn main_attribute_runs_its_body_in_one_simulated_run() {
    assert!(sim::runtime::Handle::try_current().is_err());
    assert_eq!(simulated_program(), (42, ms(40)));
}

#[sim::main(crate = "sim")]
async fn simulated_program_returning_a_result() -> Result<BTreeSet<u8>, String> {
    let set: sim::task::JoinSet<u8> = (0..3).map(|i| async move { i }).collect();
    Ok(set.join_all().await.into_iter().collect())
}

#[test]
fn main_attribute_passes_the_output_through() {
    assert_eq!(
        simulated_program_returning_a_result(),
        Ok(BTreeSet::from([0, 1, 2]))
    );
}

#[sim::test(seeds = 5, crate = "sim", regressions = "off")]
async fn test_attribute_takes_the_crate_path() {
    sim::task::yield_now().await;
}

/// `#[sim::main]` on a method: the body's future owns the arguments, `self` included
/// (tokio's attribute allows it on any function but `main`).
struct Account(u32);

impl Account {
    #[sim::main]
    async fn settle(self, fee: u32) -> u32 {
        let worker = sim::spawn(async move {
            sleep(ms(5)).await;
            fee
        });
        self.0 - worker.await.unwrap()
    }
}

#[test]
fn main_attribute_takes_arguments_on_a_method() {
    assert_eq!(Account(100).settle(7), 93);
}

// --- runtime names (tokio's `Builder::name`, `Handle::name`, `name = ".."`) ------------

#[sim::main(name = "ledger")]
async fn named_program() -> Option<String> {
    let inner = sim::spawn(async { sim::runtime::Handle::current().name().map(String::from) });
    inner.await.unwrap()
}

#[test]
fn main_attribute_names_the_runtime() {
    assert_eq!(named_program().as_deref(), Some("ledger"));
}

#[sim::test(name = "a valid runtime name", seeds = 3, regressions = "off")]
async fn test_attribute_names_the_runtime_of_every_seed() {
    let handle = sim::runtime::Handle::current();
    assert_eq!(handle.name(), Some("a valid runtime name"));
}

#[test]
fn runtimes_are_unnamed_unless_named() {
    let mut rt = Builder::new().seed(3).build();
    let name = rt.block_on(async { sim::runtime::Handle::current().name().map(String::from) });
    assert_eq!(name.unwrap(), None);
    let mut rt = Builder::new().name("payments").build();
    let name = rt.block_on(async { sim::runtime::Handle::current().name().map(String::from) });
    assert_eq!(name.unwrap().as_deref(), Some("payments"));
    // tokio's builder, and its runtime's handle outside and inside a run.
    let rt = sim::runtime::Builder::new_current_thread()
        .name("shell")
        .build()
        .unwrap();
    assert_eq!(rt.handle().name(), Some("shell"));
    let inside = rt.block_on(async { sim::runtime::Handle::current().name().map(String::from) });
    assert_eq!(inside.as_deref(), Some("shell"));
}

#[test]
fn a_blank_runtime_name_is_refused_with_the_method_and_value() {
    assert_eq!(
        common::panic_message(|| {
            Builder::new().name("  ");
        }),
        "invalid Builder::name=\"  \": expected a runtime name that is not empty or blank"
    );
    let message = common::panic_message(|| {
        sim::runtime::Builder::new_current_thread().name("");
    });
    assert!(
        message.starts_with("invalid runtime::Builder::name=\"\""),
        "{message}"
    );
}
