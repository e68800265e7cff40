//! The classic bug benchmark's done-when: every buggy program is caught, with its
//! expected failure kind, within 10,000 schedules by the default strategy, by `random`
//! and by `pct:3`; no fixed twin fails on any of 2,000 seeds under each of them. And
//! systematic exploration within 2 preemptions ([`sim::Explore`]) finds every bug
//! within 20,000 schedules, and no explored schedule of a fixed twin fails.
//!
//! The programs have no helper yields, so this holds only because the primitives' own
//! operations are scheduling points. Each strategy runs as a sweep
//! ([`scenarios::Sweep`]: PCT learns the run length). One test per bug, so the harness
//! runs them in parallel.

use scenarios::classic::{BUDGET, Bug, TWIN_SEEDS, Twin, bug, bugs};
use sim::Strategy;

/// The default strategy, `random` and `pct:3`, without repeats (should the default
/// become one of the others).
fn strategies() -> Vec<Strategy> {
    let mut all = Vec::new();
    for s in [Strategy::default(), Strategy::Random, Strategy::pct(3)] {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    all
}

fn check(name: &str) {
    let bug: &Bug = bug(name).unwrap_or_else(|| panic!("no bug named {name}"));
    for strategy in strategies() {
        let Some((seed, failure)) = bug.first_failure(Twin::Buggy, &strategy, 0..BUDGET) else {
            panic!("{name}: not caught in {BUDGET} schedules under {strategy}");
        };
        assert_eq!(
            failure.kind(),
            bug.expect,
            "{name}: seed {seed} under {strategy} failed with the wrong kind:\n{failure}"
        );
        if let Some((seed, failure)) = bug.first_failure(Twin::Fixed, &strategy, 0..TWIN_SEEDS) {
            panic!("{name}: the fixed twin failed seed {seed} under {strategy}:\n{failure}");
        }
    }
    let explore = |twin: Twin, budget: u64| {
        let program = bug.program(twin);
        sim::Explore::new()
            .preemption_bound(2)
            .max_schedules(budget)
            .builder(scenarios::builder(
                0,
                &Strategy::Random,
                scenarios::DEFAULT_MAX_TIME,
            ))
            .run(|| async move {
                if let Err(message) = program().await {
                    panic!("{message}");
                }
            })
    };
    let found = explore(Twin::Buggy, 20_000);
    match &found.failure {
        Some(f) => assert_eq!(
            f.kind(),
            bug.expect,
            "{name}: explored the wrong kind:\n{f}"
        ),
        None => panic!("{name}: not found by exploration: {found}"),
    }
    let fixed = explore(Twin::Fixed, 2_000);
    assert!(
        fixed.failure.is_none(),
        "{name}: the fixed twin failed: {fixed}"
    );
}

macro_rules! bug_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check($name);
            }
        )*

        #[test]
        fn every_bug_has_a_test() {
            let tested = [$($name),*];
            for b in bugs() {
                assert!(tested.contains(&b.name), "{} has no test", b.name);
            }
        }
    };
}

bug_tests!(
    abba_deadlock => "abba-deadlock",
    dining_philosophers => "dining-philosophers",
    lost_wakeup => "lost-wakeup",
    notify_one_bounded_buffer => "notify-one-bounded-buffer",
    condvar_if_not_while => "condvar-if-not-while",
    two_stage => "two-stage",
    stringbuffer_append => "stringbuffer-append",
    bank_check_then_act => "bank-check-then-act",
    double_checked_init => "double-checked-init",
    reorder_10 => "reorder-10",
    wrong_lock => "wrong-lock",
    work_stealing_queue => "work-stealing-queue",
    lightswitch_deadlock => "lightswitch-deadlock",
    rwlock_upgrade => "rwlock-upgrade",
    rwlock_recursive_read => "rwlock-recursive-read",
    actor_bounded_reply => "actor-bounded-reply",
);

#[test]
fn the_registry_is_a_benchmark() {
    let all = bugs();
    assert!(all.len() >= 14, "at least fourteen bugs");
    for (i, b) in all.iter().enumerate() {
        assert!(
            !b.name.is_empty()
                && b.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{:?} is not kebab-case",
            b.name
        );
        assert!(
            all[..i].iter().all(|other| other.name != b.name),
            "{} is registered twice",
            b.name
        );
        assert!(
            !b.description.is_empty() && !b.source.is_empty(),
            "{}",
            b.name
        );
    }
}
