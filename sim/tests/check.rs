//! Seed sweeps: `#[sim::test]`, `sim::check`, `Check`, shrinking, regression files,
//! artifacts, `sim::replay`.

mod common;

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use sim::{Check, Failure, FailureKind, Strategy};

#[sim::test]
async fn default_sweep_runs_a_passing_test() {
    let h = sim::spawn(async { 2 });
    assert_eq!(h.await.unwrap(), 2);
}

#[sim::test(seeds = 30, strategy = "pct:2", max_time = "10s", max_steps = 10_000)]
async fn arguments_configure_the_sweep() {
    sim::time::sleep(Duration::from_secs(9)).await;
}

#[sim::test(seeds = 5)]
async fn a_result_body_passes_on_ok() -> Result<(), String> {
    sim::task::yield_now().await;
    Ok(())
}

/// The planted bug: two tasks increment with a check-then-act across an `.await`.
async fn lost_update() {
    let c = Rc::new(Cell::new(0));
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let c = c.clone();
            sim::task::Builder::new()
                .name(if i == 0 { "alice" } else { "bob" })
                .spawn(async move {
                    for _ in 0..4 {
                        sim::task::yield_now().await;
                    }
                    let v = c.get();
                    sim::task::yield_now().await;
                    c.set(v + 1);
                    for _ in 0..4 {
                        sim::task::yield_now().await;
                    }
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(c.get(), 2, "an increment was lost");
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corosim-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn a_planted_bug_is_found_shrunk_reported_and_replayable() {
    let regressions = temp_file("found.txt");
    let failure = Check::new()
        .seeds(200)
        .regression_file(&regressions)
        .try_run(lost_update)
        .unwrap_err();
    let Failure::Panic(p) = &failure.failure else {
        panic!("{failure}")
    };
    assert!(p.message.contains("an increment was lost"), "{}", p.message);
    let seed = failure.failure.run().seed;

    // The report ends with the exact command for this test and seed.
    let report = failure.to_string();
    let last = report.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "reproduce: SIM_SEED={seed} SIM_STRATEGY=random cargo test -p sim --test check -- \
             a_planted_bug_is_found_shrunk_reported_and_replayable --exact"
        )
    );
    assert!(report.contains("schedule string: v2:"), "{report}");

    // Shrunk to fewer context switches; the shrunk schedule replays to the same panic.
    let shrunk = failure
        .shrunk
        .as_ref()
        .expect("a random schedule has switches to spare");
    let (orig, small) = (failure.failure.schedule(), shrunk.failure.schedule());
    assert!(small.context_switches() < orig.context_switches());
    assert!(
        small.context_switches() <= 6,
        "lost update needs few switches, got {small}"
    );
    assert!(report.contains(&format!(
        "shrunk: {} decisions / {} context switches -> {} decisions / {} context switches",
        orig.len(),
        orig.context_switches(),
        small.len(),
        small.context_switches()
    )));
    let again = sim::replay(small, lost_update).unwrap_err();
    assert_eq!(again.kind(), FailureKind::Panic);

    // Files under target/corosim: the schedule replays from the file too.
    let path = failure.artifacts.shrunk_schedule.as_ref().unwrap();
    assert!(path.starts_with(env!("CARGO_TARGET_TMPDIR").rsplit_once("/tmp").unwrap().0));
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text.trim(), small.to_string());
    assert!(
        std::fs::read_to_string(failure.artifacts.trace.as_ref().unwrap())
            .unwrap()
            .contains("alice#1")
    );

    // The regression file has the seed, and a later sweep replays it first.
    let recorded = std::fs::read_to_string(&regressions).unwrap();
    assert!(
        recorded.contains(&format!(
            "seed={seed} strategy=random kind=panic schedule=v2:"
        )),
        "{recorded}"
    );
    let passing_start = (1_000..).find(|&s| {
        sim::Builder::new()
            .seed(s)
            .build()
            .block_on(lost_update())
            .is_ok()
    });
    let again = Check::new()
        .seeds(1)
        .start_seed(passing_start.unwrap())
        .regression_file(&regressions)
        .shrink_budget(0)
        .try_run(lost_update)
        .unwrap_err();
    assert_eq!(
        again.failure.run().seed,
        seed,
        "the regression seed ran first"
    );
    assert_eq!(
        std::fs::read_to_string(&regressions).unwrap(),
        recorded,
        "no duplicate line"
    );
}

#[test]
fn a_deadlock_is_found_with_its_kind() {
    let f = Check::new()
        .seeds(10)
        .no_regressions()
        .try_run(|| async {
            let (_tx, rx) = futures::channel::oneshot::channel::<()>();
            let _ = rx.await;
        })
        .unwrap_err();
    assert_eq!(f.failure.kind(), FailureKind::Deadlock);
    assert_eq!(f.failure.run().seed, 0, "the first seed already deadlocks");
}

#[test]
fn a_passing_sweep_reports_what_it_ran() {
    let report = Check::new()
        .seeds(25)
        .start_seed(7)
        .no_regressions()
        .try_run(|| async {})
        .unwrap();
    assert_eq!(
        (report.runs, report.start_seed, report.regressions),
        (25, 7, 0)
    );
}

#[test]
fn shrink_budget_zero_reports_the_original_run() {
    let f = Check::new()
        .seeds(200)
        .no_regressions()
        .shrink_budget(0)
        .try_run(lost_update)
        .unwrap_err();
    assert!(f.shrunk.is_none());
    assert!(!f.to_string().contains("shrunk:"));
}

#[test]
fn a_result_body_fails_on_err() {
    let f = Check::new()
        .seeds(3)
        .no_regressions()
        .try_run(|| async { Err::<(), _>("nope") })
        .unwrap_err();
    let Failure::Panic(p) = &f.failure else {
        panic!()
    };
    assert_eq!(p.message, "the test returned Err(\"nope\")");
}

#[test]
fn every_strategy_sweeps() {
    for strategy in [Strategy::Random, Strategy::pct(3), Strategy::RoundRobin] {
        let f = Check::new()
            .seeds(300)
            .strategy(strategy.clone())
            .no_regressions()
            .try_run(lost_update);
        // Round-robin alternates the two tasks, so it loses the update on seed 0.
        assert!(f.is_err(), "{strategy} finds the lost update in 300 seeds");
    }
}

#[test]
#[should_panic(expected = "invalid #[sim::test(strategy)]=\"fastest\"")]
fn bad_attribute_values_are_clear_errors() {
    let _ = Check::new().attr("strategy", "fastest");
}

/// Every literal kind of the settings table reaches `Check::attr`: a boolean too.
#[sim::test(
    seeds = 3,
    max_time = "1.5s",
    check_determinism = true,
    regressions = "off"
)]
async fn attribute_literals_of_every_kind() {
    sim::time::sleep(std::time::Duration::from_secs(1)).await;
}

/// Two BUGGIFY sites: `noise` delays a task (the failure does not need it), `culprit`
/// skips an increment (the failure needs it).
async fn needs_one_fault() {
    let c = Rc::new(Cell::new(0));
    let h = {
        let c = c.clone();
        sim::spawn(async move {
            if sim::buggify!(1.0) {
                sim::time::sleep(Duration::from_millis(5)).await; // noise
            }
            if !sim::buggify!(1.0) {
                c.set(c.get() + 1); // culprit: skipped when it fires
            }
        })
    };
    h.await.unwrap();
    assert_eq!(c.get(), 1, "the increment was skipped");
}

#[test]
fn shrinking_keeps_off_the_buggify_sites_a_failure_does_not_need() {
    // A seed on which both sites fire.
    let seed = (0..500)
        .find(|&seed| {
            let mut rt = sim::Builder::new().seed(seed).build();
            rt.block_on(needs_one_fault()).is_err() && sim::buggify::fired(rt.trace()).len() == 2
        })
        .expect("both sites fire on some seed");
    let f = Check::new()
        .seeds(1)
        .start_seed(seed)
        .no_regressions()
        .try_run(needs_one_fault)
        .unwrap_err();
    let fired = sim::buggify::fired(&f.failure.run().trace);
    assert_eq!(fired.len(), 2, "{fired:?}");
    let (noise, culprit) = (&fired[0].0, &fired[1].0);
    let text = f.failure.to_string();
    assert!(
        text.contains(&format!("buggify fired at {noise}")),
        "{text}"
    );

    let shrunk = f.shrunk.as_ref().expect("the noise site is dropped");
    let still: Vec<String> = sim::buggify::fired(&shrunk.failure.run().trace)
        .into_iter()
        .map(|(site, _)| site)
        .collect();
    assert_eq!(still, vec![culprit.clone()], "only the culprit still fires");
    let command = shrunk.failure.run().reproduce.to_string();
    assert!(
        command.starts_with(&format!("SIM_BUGGIFY_OFF={noise} SIM_SCHEDULE=@")),
        "{command}"
    );
    // The settings the command gives reproduce the shrunk failure.
    let mut settings = sim::config::Settings::default();
    settings
        .set(
            sim::config::Key::BuggifyOff,
            sim::config::Source::Env,
            noise,
        )
        .unwrap();
    settings.schedule = Some(shrunk.failure.schedule().clone());
    let again = sim::Builder::new()
        .settings(&settings)
        .build()
        .block_on(needs_one_fault())
        .unwrap_err();
    assert_eq!(again.signature(), shrunk.failure.signature());
    assert!(
        sim::buggify::fired(&again.run().trace)
            .iter()
            .all(|(s, _)| s != noise)
    );
}

#[test]
fn network_and_buggify_settings_parse_and_reject_nonsense() {
    use sim::config::{Key, Settings, Source};
    let mut s = Settings::default();
    s.set(Key::NetFaults, Source::Env, "latency=1ms..2ms,loss=0.5")
        .unwrap();
    assert_eq!(s.net_faults.unwrap().loss, 0.5);
    s.set(Key::Buggify, Source::Env, "off").unwrap();
    assert_eq!(s.buggify, Some(false));
    s.set(Key::BuggifyOff, Source::Env, "src/a.rs:1:2, src/b.rs:3:4")
        .unwrap();
    assert_eq!(
        s.buggify_off.as_deref(),
        Some(&["src/a.rs:1:2".to_string(), "src/b.rs:3:4".to_string()][..])
    );
    for (key, bad) in [
        (Key::NetFaults, "loss=2"),
        (Key::NetFaults, "speed=9"),
        (Key::BuggifyOff, "src/a.rs"),
        (Key::BuggifyOff, "src/a.rs:x:2"),
        (Key::BuggifyOff, ","),
        (Key::Buggify, "maybe"),
    ] {
        let e = s.set(key, Source::Env, bad).unwrap_err();
        assert!(
            e.to_string().contains(key.env().unwrap()) && e.to_string().contains(bad),
            "{e}"
        );
    }
    // A run with fixed faults and BUGGIFY off says so in its reproduce command.
    let f = sim::Builder::new()
        .net_faults("loss=0.25".parse().unwrap())
        .buggify(false)
        .build()
        .block_on(async { panic!("boom") })
        .unwrap_err();
    let command = f.run().reproduce.to_string();
    assert!(
        command.starts_with("SIM_NET_FAULTS=latency=") && command.contains(",loss=0.25,"),
        "{command}"
    );
    assert!(command.contains(" SIM_BUGGIFY=0 SIM_SEED="), "{command}");
}

/// The network keys reach the runs of a `#[sim::test]`.
#[sim::test(seeds = 20, buggify = false, net_faults = "latency=3ms")]
async fn network_attributes_configure_every_run() {
    assert!(!sim::buggify!(1.0), "BUGGIFY is off");
    let start = sim::time::Instant::now();
    let a = sim::net::Host::builder("a").build();
    sim::net::Host::builder("b")
        .on_start(|| async {
            let s = sim::net::UdpSocket::bind("0.0.0.0:9").await.unwrap();
            let mut buf = [0; 4];
            let (n, from) = s.recv_from(&mut buf).await.unwrap();
            s.send_to(&buf[..n], from).await.unwrap();
        })
        .build();
    a.spawn(async move {
        sim::time::sleep(Duration::from_millis(1)).await; // `b` binds first
        let s = sim::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
        s.send_to(b"ping", "b:9").await.unwrap();
        let mut buf = [0; 4];
        s.recv_from(&mut buf).await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(7),
        "1ms, then two fixed 3ms hops"
    );
}

/// The shrinker's candidates let a task spinning in a `yield_now` loop give way (as
/// tokio's FIFO scheduler does) where their decisions run out: kept running, the
/// spin-waiting main task spun to the step bound in every candidate that removed a
/// switch before the workers finished, so none could be kept (7 context switches
/// stayed 7, and each such candidate cost the whole step bound: 9 s with the default
/// bound).
#[test]
fn shrinking_a_failure_behind_a_yield_loop_removes_switches() {
    let failure = Check::new()
        .seeds(50)
        .max_steps(5_000)
        .no_regressions()
        .try_run(|| common::counted_behind_a_spin_wait(false))
        .unwrap_err();
    assert_eq!(failure.failure.kind(), FailureKind::Panic, "{failure}");
    let shrunk = failure.shrunk.as_ref().expect("switches to spare");
    let small = shrunk.failure.schedule();
    assert!(
        small.context_switches() <= 4,
        "two workers and a waiter need few switches, got {small}"
    );
    assert_eq!(
        sim::replay(small, || common::counted_behind_a_spin_wait(false))
            .unwrap_err()
            .kind(),
        FailureKind::Panic
    );
}
