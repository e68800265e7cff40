//! Seed sweeps: `#[sim::test]`, `sim::check`, `Check`, shrinking, regression files,
//! artifacts, `sim::replay`.

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
