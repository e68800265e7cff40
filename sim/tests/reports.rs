//! Every kind of failure report, snapshotted on a pinned seed. Source locations in this
//! file are redacted (`reports.rs:[line]`) so editing the file does not churn them.

use std::sync::Arc;
use std::time::Duration;

use sim::cell::RaceCell;
use sim::{Builder, Failure, Strategy};

/// Replaces `reports.rs:<line>:<col>` with `reports.rs:[line]`.
fn redact(report: &str) -> String {
    let mut out = String::new();
    let mut rest = report;
    while let Some(i) = rest.find("reports.rs:") {
        let (head, tail) = rest.split_at(i + "reports.rs:".len());
        out.push_str(head);
        out.push_str("[line]");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
    }
    out.push_str(rest);
    out
}

fn report(f: &Failure) -> String {
    redact(&f.to_string())
}

#[test]
fn panic_report() {
    let f = Builder::new()
        .seed(7)
        .build()
        .block_on(async {
            let w = sim::task::Builder::new()
                .name("worker")
                .spawn(async {
                    sim::time::sleep(Duration::from_millis(5)).await;
                    panic!("invariant broken: {} items left", 3);
                })
                .unwrap();
            w.await.unwrap();
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn global_deadlock_report() {
    let f = Builder::new()
        .seed(7)
        .build()
        .block_on(async {
            let (_tx, rx) = futures::channel::oneshot::channel::<()>();
            sim::task::Builder::new()
                .name("listener")
                .spawn(async move {
                    rx.await.ok();
                })
                .unwrap()
                .await
                .unwrap();
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn partial_deadlock_report() {
    let f = Builder::new()
        .seed(7)
        .build()
        .block_on(async {
            let slot: Arc<std::sync::Mutex<Option<sim::task::JoinHandle<()>>>> = Default::default();
            let s = slot.clone();
            let a = sim::task::Builder::new()
                .name("a")
                .spawn(async move {
                    let b = loop {
                        if let Some(b) = s.lock().unwrap().take() {
                            break b;
                        }
                        sim::task::yield_now().await;
                    };
                    b.await.unwrap();
                })
                .unwrap();
            let b = sim::task::Builder::new()
                .name("b")
                .spawn(async move { a.await.unwrap() })
                .unwrap();
            *slot.lock().unwrap() = Some(b);
            let mut tick = sim::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
            }
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
    let Failure::Deadlock(d) = &f else { panic!() };
    insta::assert_snapshot!("partial_deadlock_dot", d.to_dot());
}

#[test]
fn step_limit_report() {
    let f = Builder::new()
        .seed(7)
        .max_steps(40)
        .build()
        .block_on(async {
            sim::spawn(async {
                loop {
                    sim::task::yield_now().await;
                }
            })
            .await
            .unwrap();
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn time_limit_report() {
    let f = Builder::new()
        .seed(7)
        .max_time(Duration::from_secs(10))
        .build()
        .block_on(async {
            let mut tick = sim::time::interval(Duration::from_secs(3));
            loop {
                tick.tick().await;
            }
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn non_determinism_report() {
    let schedule: sim::Schedule = "v2:7:0.1.1.0".parse().unwrap();
    let f = Builder::new()
        .strategy(Strategy::Replay(schedule))
        .build()
        .block_on(async {
            sim::task::yield_now().await;
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn leak_report() {
    let f = Builder::new()
        .seed(7)
        .fail_on_leak(true)
        .build()
        .block_on(async {
            sim::task::Builder::new()
                .name("forgotten")
                .spawn(async { sim::time::sleep(Duration::from_secs(60)).await })
                .unwrap();
            sim::time::sleep(Duration::from_secs(1)).await;
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}

#[test]
fn race_report() {
    let f = Builder::new()
        .seed(7)
        .build()
        .block_on(async {
            let balance = Arc::new(RaceCell::named("balance", 100i64));
            let spend = |b: Arc<RaceCell<i64>>, n: i64| async move {
                let seen = b.get();
                sim::task::yield_now().await;
                b.set(seen - n);
            };
            let a = sim::task::Builder::new()
                .name("alice")
                .spawn(spend(balance.clone(), 30))
                .unwrap();
            let b = sim::task::Builder::new()
                .name("bob")
                .spawn(spend(balance.clone(), 20))
                .unwrap();
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap_err();
    insta::assert_snapshot!(report(&f));
}
