//! tokio's task API beyond `spawn`, as its documentation states it: `JoinSet`'s
//! `spawn_on`/`spawn_local_on`/`Extend`/`FromIterator`, `LocalSet` and `spawn_local`,
//! `Handle`, blocking sections (`spawn_blocking`, `block_in_place`,
//! `Handle::block_on`) and task-local storage.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{ms, sweep};
use sim::runtime::Handle;
use sim::task::{JoinSet, LocalSet, block_in_place, spawn_blocking, spawn_local, yield_now};
use sim::time::{Duration, Instant, sleep};
use sim::{Builder, FailureKind};

// --- JoinSet ---------------------------------------------------------------------------

#[test]
fn join_set_from_iter_and_extend_spawn_every_future() {
    sweep(30, || async {
        let mut set: JoinSet<u32> = (0..4).map(|i| async move { i }).collect();
        assert_eq!(set.len(), 4);
        set.extend((4..6).map(|i| async move {
            yield_now().await;
            i
        }));
        assert_eq!(set.len(), 6);
        let mut all = set.join_all().await;
        all.sort();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
    });
}

#[test]
fn join_set_spawn_on_a_handle_and_on_a_local_set() {
    sweep(30, || async {
        let handle = Handle::current();
        let local = LocalSet::new();
        let mut set = JoinSet::new();
        set.spawn_on(async { 1 }, &handle);
        set.spawn_local_on(async { 2 }, &local);
        set.spawn_blocking(|| 3);
        set.spawn_blocking_on(|| 4, &handle);
        // The local task runs only while its set is driven.
        let mut got = local
            .run_until(async {
                let mut got = Vec::new();
                while let Some(r) = set.join_next().await {
                    got.push(r.unwrap());
                }
                got
            })
            .await;
        got.sort();
        assert_eq!(got, [1, 2, 3, 4]);
    });
}

#[test]
fn join_set_spawn_local_goes_into_the_current_local_set() {
    Builder::new()
        .build()
        .block_on(async {
            let local = LocalSet::new();
            let mut set = JoinSet::new();
            {
                let _entered = local.enter();
                set.spawn_local(async { 9 });
            }
            assert_eq!(local.len(), 1, "spawned into the entered set");
            let nine = local.run_until(set.join_next()).await;
            assert_eq!(nine.unwrap().unwrap(), 9);
        })
        .unwrap();
}

// --- LocalSet ---------------------------------------------------------------------------

#[test]
fn local_tasks_run_only_while_their_set_is_driven() {
    sweep(30, || async {
        let local = LocalSet::new();
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let task = local.spawn_local(async move { r.set(true) });
        // Not driven yet: the task waits, whatever else happens meanwhile.
        for _ in 0..5 {
            yield_now().await;
        }
        sleep(ms(10)).await;
        assert!(!ran.get(), "a local task ran before its set was driven");
        local.run_until(task).await.unwrap();
        assert!(ran.get());
    });
}

#[test]
fn run_until_returns_with_the_future_and_leaves_unfinished_tasks_in_the_set() {
    sweep(30, || async {
        let local = LocalSet::new();
        let steps = Rc::new(Cell::new(0));
        let s = steps.clone();
        let out = local
            .run_until(async move {
                spawn_local(async move {
                    sleep(ms(5)).await;
                    s.set(1);
                    sleep(ms(100)).await;
                    s.set(2);
                });
                sleep(ms(50)).await;
                "done"
            })
            .await;
        assert_eq!(out, "done");
        assert_eq!(steps.get(), 1);
        assert_eq!(local.len(), 1, "the unfinished task stays in the set");
        sleep(ms(200)).await; // not driven: it does not go on
        assert_eq!(steps.get(), 1);
        local.await; // driving the set to its end finishes it
        assert_eq!(steps.get(), 2);
    });
}

#[test]
fn awaiting_a_local_set_waits_for_every_task_including_ones_spawned_inside() {
    sweep(30, || async {
        let local = LocalSet::new();
        let done = Rc::new(RefCell::new(Vec::new()));
        for i in 0..3u32 {
            let done = done.clone();
            local.spawn_local(async move {
                sleep(ms(u64::from(i))).await;
                let inner = done.clone();
                // `spawn_local` inside a task of the set spawns into the set.
                spawn_local(async move { inner.borrow_mut().push(10 + i) });
                done.borrow_mut().push(i);
            });
        }
        local.await;
        let mut done = done.borrow().clone();
        done.sort();
        assert_eq!(done, [0, 1, 2, 10, 11, 12]);
    });
}

#[test]
fn dropping_a_local_set_cancels_its_tasks() {
    sweep(30, || async {
        let local = LocalSet::new();
        let finished = Rc::new(Cell::new(false));
        let f = finished.clone();
        let task = local.spawn_local(async move {
            sleep(ms(10)).await;
            f.set(true);
        });
        local
            .run_until(async {
                yield_now().await;
            })
            .await;
        drop(local);
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!finished.get());
    });
}

#[test]
fn spawn_local_outside_a_set_spawns_a_plain_task() {
    Builder::new()
        .build()
        .block_on(async {
            assert_eq!(spawn_local(async { 5 }).await.unwrap(), 5);
        })
        .unwrap();
}

#[test]
fn local_set_block_on_runs_a_fresh_run() {
    let local = LocalSet::new();
    let mut rt = Builder::new().seed(3).build();
    let out = local.block_on(&mut rt, async {
        let a = spawn_local(async { 20 });
        let b = spawn_local(async { 22 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out.unwrap(), 42);
}

// --- Handle ---------------------------------------------------------------------------

#[test]
fn handle_current_names_the_run_in_progress() {
    assert!(Handle::try_current().is_err());
    let handle = Builder::new()
        .build()
        .block_on(async {
            let handle = Handle::current();
            assert_eq!(handle.spawn(async { 3 }).await.unwrap(), 3);
            handle
        })
        .unwrap();
    // A handle of a finished run cannot spawn on the next one.
    let failure = Builder::new()
        .build()
        .block_on(async move {
            handle.spawn(async {});
        })
        .unwrap_err();
    assert!(
        failure.to_string().contains("another simulated run"),
        "{failure}"
    );
}

#[test]
fn handle_block_on_outside_a_blocking_section_panics() {
    let failure = Builder::new()
        .build()
        .block_on(async { Handle::current().block_on(async { 1 }) })
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Panic);
    assert!(
        failure
            .to_string()
            .contains("Cannot start a runtime from within a runtime"),
        "{failure}"
    );
}

// --- blocking sections ------------------------------------------------------------------

#[test]
fn spawn_blocking_runs_its_closure_alone_in_one_step_without_virtual_time() {
    sweep(50, || async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let other = sim::spawn(async move {
            for i in 0..5 {
                l.borrow_mut().push(format!("other {i}"));
                sim::task::scheduling_point().await;
            }
        });
        let l = log.clone();
        let start = Instant::now();
        let blocking = spawn_blocking(move || {
            for i in 0..5 {
                l.borrow_mut().push(format!("blocking {i}"));
                // A point inside a section decides nothing: nobody runs in between.
                futures::executor::block_on(sim::task::scheduling_point());
            }
            "result"
        });
        assert_eq!(blocking.await.unwrap(), "result");
        other.await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        let log = log.borrow();
        let first = log.iter().position(|e| e == "blocking 0").unwrap();
        let section: Vec<_> = log[first..first + 5].to_vec();
        assert_eq!(
            section,
            (0..5).map(|i| format!("blocking {i}")).collect::<Vec<_>>(),
            "the section was interleaved: {log:?}"
        );
    });
}

#[test]
fn a_blocking_task_runs_when_the_scheduler_picks_it() {
    // When the section happens relative to other tasks is the scheduler's choice.
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let order = Builder::new()
            .seed(seed)
            .strategy(sim::Strategy::Random)
            .build()
            .block_on(async {
                let log = Rc::new(RefCell::new(Vec::new()));
                let l = log.clone();
                let b = spawn_blocking(move || l.borrow_mut().push("blocking"));
                let l = log.clone();
                let a = sim::spawn(async move { l.borrow_mut().push("async") });
                b.await.unwrap();
                a.await.unwrap();
                log.take()
            })
            .unwrap();
        orders.insert(order);
    }
    assert_eq!(orders.len(), 2, "{orders:?}");
}

#[test]
fn a_sleep_in_a_blocking_section_takes_its_time_and_fires_other_timers_on_the_way() {
    sweep(30, || async {
        let woke_at = Rc::new(Cell::new(None));
        let w = woke_at.clone();
        let mut timer = Box::pin(sleep(ms(10)));
        assert!(futures::poll!(timer.as_mut()).is_pending()); // armed for 10 ms
        let sleeper = sim::spawn(async move {
            timer.await;
            w.set(Some(Instant::now().since_start()));
        });
        let handle = Handle::current();
        let inside = spawn_blocking(move || {
            handle.block_on(async {
                sleep(ms(25)).await;
                Instant::now().since_start()
            })
        });
        assert_eq!(inside.await.unwrap(), ms(25));
        sleeper.await.unwrap();
        // The sleeper's timer fired during the section; it ran afterwards, at 25 ms at
        // the earliest (or at 10 ms, when the scheduler ran it before the section).
        let woke = woke_at.get().unwrap();
        assert!(woke == ms(10) || woke == ms(25), "{woke:?}");
    });
}

#[test]
fn a_blocking_section_waiting_for_another_task_is_reported() {
    let failure = Builder::new()
        .build()
        .block_on(async {
            // Only main could send, and main cannot run during the section.
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let handle = Handle::current();
            let blocked = spawn_blocking(move || handle.block_on(rx));
            let _ = blocked.await;
            drop(tx);
        })
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Panic);
    assert!(
        failure
            .to_string()
            .contains("a blocking section runs alone"),
        "{failure}"
    );
}

#[test]
fn block_in_place_runs_at_once_in_the_current_task() {
    assert_eq!(
        block_in_place(|| 7),
        7,
        "outside a run it just calls the closure"
    );
    sweep(30, || async {
        let other = sim::spawn(async { Instant::now() });
        let before = Instant::now();
        let (n, now) = block_in_place(|| {
            let handle = Handle::current();
            let n = handle.block_on(async {
                yield_now().await; // woken at once: polled again, nothing else runs
                sleep(ms(3)).await;
                1
            });
            (n, Instant::now())
        });
        assert_eq!(n, 1);
        assert_eq!(now - before, ms(3));
        other.await.unwrap();
    });
}

// --- task-local storage -------------------------------------------------------------------

sim::task_local! {
    static NAME: &'static str;
    pub(crate) static DEPTH: Cell<u32>;
}

#[test]
fn task_locals_are_per_task_across_awaits() {
    sweep(50, || async {
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            tasks.push(sim::spawn(NAME.scope(name, async move {
                for _ in 0..3 {
                    assert_eq!(NAME.get(), name);
                    yield_now().await; // others run here, with their own values
                    sim::task::scheduling_point().await;
                }
                NAME.get()
            })));
        }
        for (t, name) in tasks.into_iter().zip(["a", "b", "c"]) {
            assert_eq!(t.await.unwrap(), name);
        }
        assert!(NAME.try_with(|_| ()).is_err(), "main never set it");
    });
}

#[test]
fn task_local_scopes_nest_and_restore() {
    Builder::new()
        .build()
        .block_on(async {
            NAME.scope("outer", async {
                assert_eq!(NAME.get(), "outer");
                NAME.scope("inner", async {
                    yield_now().await;
                    assert_eq!(NAME.get(), "inner");
                })
                .await;
                assert_eq!(NAME.get(), "outer");
                let got = NAME.sync_scope("sync", || NAME.get());
                assert_eq!(got, "sync");
                assert_eq!(NAME.get(), "outer");
                DEPTH
                    .scope(Cell::new(0), async {
                        DEPTH.with(|d| d.set(d.get() + 1));
                        yield_now().await;
                        assert_eq!(DEPTH.with(Cell::get), 1);
                    })
                    .await;
            })
            .await;
        })
        .unwrap();
}

#[test]
fn task_local_is_visible_to_the_destructor_of_its_future() {
    struct Probe(Rc<Cell<Option<&'static str>>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0.set(NAME.try_with(|n| *n).ok());
        }
    }
    let seen = Rc::new(Cell::new(None));
    let probe = Probe(seen.clone());
    let fut = NAME.scope("dropped", async move {
        let _probe = probe;
        std::future::pending::<()>().await;
    });
    drop(fut); // never polled
    assert_eq!(seen.get(), Some("dropped"));
}

#[test]
fn reading_an_unset_task_local_panics() {
    let failure = Builder::new()
        .build()
        .block_on(async { NAME.get() })
        .unwrap_err();
    assert!(
        failure.to_string().contains("task-local value not set"),
        "{failure}"
    );
}

/// An output that reports `sim::task::try_id()` from its destructor.
struct ReportsIdOnDrop(Rc<Cell<Option<Option<sim::task::Id>>>>);

impl Drop for ReportsIdOnDrop {
    fn drop(&mut self) {
        self.0.set(Some(sim::task::try_id()));
    }
}

/// A task's output is dropped with `task::id()` answering that task's id, as tokio's:
/// whether its JoinHandle was dropped before it finished (the output is dropped as it
/// ends) or after (the handle drops it), and whoever drops it (tokio's
/// `task_id_output_destructor_handle_dropped_{before,after}_completion`).
#[test]
fn an_output_is_dropped_as_the_task_that_made_it() {
    sweep(20, || async {
        let main = sim::task::id();
        let seen = Rc::new(Cell::new(None));
        let out = ReportsIdOnDrop(seen.clone());
        let before = sim::spawn(async move {
            yield_now().await;
            out
        });
        let id = before.id();
        drop(before);
        while seen.get().is_none() {
            yield_now().await;
        }
        assert_eq!(seen.take(), Some(Some(id)), "dropped as the task ended");

        let out = ReportsIdOnDrop(seen.clone());
        let after = sim::spawn(async move { out });
        let id = after.id();
        while !after.is_finished() {
            yield_now().await;
        }
        assert_eq!(seen.get(), None, "the handle still holds the output");
        drop(after);
        assert_eq!(seen.take(), Some(Some(id)), "dropped by main's handle");
        assert_eq!(sim::task::try_id(), Some(main), "main's own id again after");
    });
}
