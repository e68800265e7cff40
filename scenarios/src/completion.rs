//! A future completed by another task, with a result or an error: each request's
//! caller awaits a completion that two other tasks race to fill. A responder processes
//! the request and completes it with the result (or with an error when processing
//! fails); a watchdog completes it with a timeout error at its deadline, unless the
//! responder has already claimed the request. Invariants: every caller gets exactly
//! one outcome (the completion happens once, and always happens), and exactly one
//! party completes each request.
//!
//! Correct: the completion is a `oneshot::Sender` in a shared slot that each party
//! takes before completing, in one synchronous step; an error is sent like a result.
//! The bugs, over a hand-rolled promise (a value cell and a `Notify`): the responder
//! checks that the promise is still open, then completes it after an `.await` (the
//! watchdog may complete it in between: completed twice); or the responder's error path
//! returns early without completing (after claiming the request, which sent the
//! watchdog away: never completed).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sim::sync::{Notify, oneshot};
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Requests, each with its caller, responder and watchdog (1..=4).
    pub requests: u8,
    /// The longest processing takes, in ms (1..=6).
    pub work_ms: u8,
    /// The watchdog's deadline, in ms (1..=6).
    pub deadline_ms: u8,
    /// The chance that processing fails, in percent (0..=100).
    pub fail_percent: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            requests: 3,
            work_ms: 4,
            deadline_ms: 3,
            fail_percent: 30,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            requests: self.requests.clamp(1, 4),
            work_ms: self.work_ms.clamp(1, 6),
            deadline_ms: self.deadline_ms.clamp(1, 6),
            fail_percent: self.fail_percent.min(100),
        }
    }
}

/// How a request is completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: take the `oneshot::Sender` from the slot, then send.
    Oneshot,
    /// Bug: check that the promise is open, `.await`, then complete it.
    CheckThenComplete,
    /// Bug: the error path returns without completing a claimed request.
    ForgottenOnError,
}

/// What a caller gets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Done(u32),
    Failed,
    TimedOut,
}

/// The hand-rolled promise of the buggy variants: a value and a notification.
#[derive(Default)]
struct Promise {
    value: RefCell<Option<Outcome>>,
    completed: Notify,
}

impl Promise {
    fn is_open(&self) -> bool {
        self.value.borrow().is_none()
    }

    fn complete(&self, outcome: Outcome) {
        let previous = self.value.borrow_mut().replace(outcome);
        assert!(
            previous.is_none(),
            "a promise completed twice (first {previous:?})"
        );
        self.completed.notify_waiters();
    }

    async fn wait(&self) -> Outcome {
        loop {
            let notified = self.completed.notified();
            if let Some(outcome) = self.value.borrow().clone() {
                return outcome;
            }
            notified.await;
        }
    }
}

/// One request's completion, shared by its caller, responder and watchdog.
struct Request {
    slot: RefCell<Option<oneshot::Sender<Outcome>>>,
    promise: Promise,
    /// The responder has taken the request on: the watchdog stands down.
    claimed: Cell<bool>,
    /// How many parties completed it.
    completions: Cell<u32>,
}

impl Request {
    /// Completes the request if nobody has (the correct variant): take, then send.
    fn try_complete(&self, outcome: Outcome) -> bool {
        let Some(tx) = self.slot.borrow_mut().take() else {
            return false;
        };
        self.completions.set(self.completions.get() + 1);
        let _ = tx.send(outcome);
        true
    }
}

async fn respond(request: Rc<Request>, n: u32, c: Config, variant: Variant) {
    let fails = sim::rand::gen_range(0..100u8) < c.fail_percent;
    let work = ms(sim::rand::gen_range(1..=u64::from(c.work_ms)));
    match variant {
        Variant::Oneshot => {
            sleep(work).await;
            let outcome = if fails {
                Outcome::Failed
            } else {
                Outcome::Done(n * 10)
            };
            request.try_complete(outcome);
        }
        Variant::CheckThenComplete => {
            if request.promise.is_open() {
                // BUG: the check and the completion are an `.await` apart.
                sleep(work).await;
                let outcome = if fails {
                    Outcome::Failed
                } else {
                    Outcome::Done(n * 10)
                };
                request.completions.set(request.completions.get() + 1);
                request.promise.complete(outcome);
            }
        }
        Variant::ForgottenOnError => {
            request.claimed.set(true);
            sleep(work).await;
            if fails {
                // BUG: an early return on the error path; nobody completes the promise.
                return;
            }
            request.completions.set(request.completions.get() + 1);
            request.promise.complete(Outcome::Done(n * 10));
        }
    }
}

async fn watch(request: Rc<Request>, c: Config, variant: Variant) {
    sleep(ms(c.deadline_ms.into())).await;
    match variant {
        Variant::Oneshot => {
            request.try_complete(Outcome::TimedOut);
        }
        Variant::CheckThenComplete | Variant::ForgottenOnError => {
            if !request.claimed.get() && request.promise.is_open() {
                request.completions.set(request.completions.get() + 1);
                request.promise.complete(Outcome::TimedOut);
            }
        }
    }
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let mut callers = Vec::new();
    for n in 0..u32::from(c.requests) {
        let (tx, rx) = oneshot::channel();
        let request = Rc::new(Request {
            slot: RefCell::new(Some(tx)),
            promise: Promise::default(),
            claimed: Cell::new(false),
            completions: Cell::new(0),
        });
        let responder = spawn_named(
            &format!("responder-{n}"),
            respond(request.clone(), n, c.clone(), variant),
        );
        let watchdog = spawn_named(
            &format!("watchdog-{n}"),
            watch(request.clone(), c.clone(), variant),
        );
        callers.push(spawn_named(&format!("caller-{n}"), async move {
            let outcome = match variant {
                Variant::Oneshot => rx.await.map_err(|_| "the completion was dropped")?,
                _ => request.promise.wait().await,
            };
            if let Outcome::Done(v) = outcome {
                assert_eq!(v, n * 10, "request {n} got another's result");
            }
            responder.await.map_err(|_| "the responder failed")?;
            watchdog.await.map_err(|_| "the watchdog failed")?;
            assert_eq!(
                request.completions.get(),
                1,
                "request {n}: not completed once"
            );
            Ok::<(), &'static str>(())
        }));
    }
    for r in join_all(callers).await? {
        r?;
    }
    Ok(())
}
