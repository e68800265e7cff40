//! Panics inside a run: a process-wide hook (installed once, delegating to the previous
//! hook outside runs) records where a simulated task panicked and keeps the default
//! message off stderr, since the failure report carries it.

use std::cell::{Cell, RefCell};
use std::sync::Once;

use super::Stop;
use crate::ids::TaskId;

thread_local! {
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether this thread is inside `block_on`.
    static IN_RUN: Cell<bool> = const { Cell::new(false) };
}

/// This thread enters (`true`) or leaves a run: panics inside one are recorded, not
/// printed.
pub(crate) fn set_in_run(on: bool) {
    let _ = IN_RUN.try_with(|f| f.set(on));
}

/// Whether this thread is inside `block_on`.
fn in_run() -> bool {
    IN_RUN.try_with(Cell::get).unwrap_or(false)
}

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if in_run() {
                let loc = info.location().map(|l| l.to_string());
                let _ = LOCATION.try_with(|c| *c.borrow_mut() = loc);
            } else {
                previous(info)
            }
        }));
    });
}

/// The message of a panic payload and the location the hook saw; clears the latter.
pub(crate) fn take_report(payload: &(dyn std::any::Any + Send)) -> (String, Option<String>) {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(SharedAcrossRuns(s)) = payload.downcast_ref::<SharedAcrossRuns>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    };
    let location = LOCATION.try_with(|c| c.borrow_mut().take()).ok().flatten();
    (message, location)
}

/// The panic payload of a use of a primitive another live run owns
/// ([`Stop::SharedAcrossRuns`]): the run fails as non-deterministic, not as a panic of
/// the task.
pub(crate) struct SharedAcrossRuns(pub(crate) String);

pub(crate) fn stop(task: TaskId, payload: Box<dyn std::any::Any + Send>) -> Stop {
    if let Some(SharedAcrossRuns(reason)) = payload.downcast_ref::<SharedAcrossRuns>() {
        let _ = LOCATION.try_with(|c| c.borrow_mut().take());
        return Stop::SharedAcrossRuns {
            reason: reason.clone(),
        };
    }
    let (message, location) = take_report(&*payload);
    Stop::Panic {
        task,
        message,
        location,
    }
}
