//! tokio's misuse panics point at the caller's line (`#[track_caller]`): spawning or
//! reading the clock outside a run, a zero interval period, a task-local read outside
//! its scope or a scope entered while the value is borrowed. One test in its own
//! binary, since it swaps the process-wide panic hook.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

sim::task_local! {
    static NUMBER: u32;
}

/// A misuse, named.
type Case = (&'static str, Box<dyn FnOnce()>);

/// The file of the location the panic hook saw for a panic of `f`.
fn panic_file(f: impl FnOnce()) -> String {
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let hook = panic::take_hook();
    let s = seen.clone();
    panic::set_hook(Box::new(move |info| {
        *s.lock().unwrap() = info.location().map(|l| l.file().to_string());
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    assert!(result.is_err(), "expected a panic");
    seen.lock().unwrap().take().unwrap_or_default()
}

#[test]
fn misuse_panics_name_the_callers_line() {
    let here = file!();
    let cases: Vec<Case> = vec![
        (
            "spawn outside a run",
            Box::new(|| drop(sim::spawn(async {}))),
        ),
        (
            "spawn_local outside a run",
            Box::new(|| {
                let local = sim::task::LocalSet::new();
                drop(local.spawn_local(async {}));
            }),
        ),
        (
            "Instant::now outside a run",
            Box::new(|| {
                let _ = sim::time::Instant::now();
            }),
        ),
        (
            "sleep outside a run",
            Box::new(|| drop(sim::time::sleep(Duration::from_secs(1)))),
        ),
        (
            "timeout outside a run",
            Box::new(|| drop(sim::time::timeout(Duration::from_secs(1), async {}))),
        ),
        (
            "a zero interval",
            Box::new(|| drop(sim::time::interval(Duration::ZERO))),
        ),
        (
            "a task-local read outside its scope",
            Box::new(|| {
                let _ = NUMBER.get();
            }),
        ),
        (
            "a scope entered while the value is borrowed",
            Box::new(|| {
                NUMBER.sync_scope(1, || NUMBER.with(|_| NUMBER.sync_scope(2, || {})));
            }),
        ),
    ];
    for (what, case) in cases {
        assert_eq!(panic_file(case), here, "{what}");
    }
}
