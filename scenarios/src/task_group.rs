//! A task group that cancels the siblings on the first error: workers append their
//! steps to a shared ledger; one of them fails part-way. The supervisor waits for the
//! first error, cancels every sibling, and only then reports the group failed (after
//! which the ledger is the caller's: it rolls the work back, and nothing may touch the
//! ledger again). Invariant: no worker writes to the ledger after the group has
//! reported its failure.
//!
//! Correct: the workers live in a [`JoinSet`] and the supervisor calls
//! [`JoinSet::shutdown`] (abort, then wait for every task), or the workers are futures
//! of one task raced with `try_join!`, which drops the others at the first error. The
//! bug: the workers are spawned tasks whose handles are dropped on the error, which
//! detaches them (a dropped `JoinHandle` does not cancel its task): a sibling keeps
//! running and mutates the ledger.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sim::sync::mpsc;
use sim::task::JoinSet;
use sim::time::sleep;

use crate::{ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Workers (2..=5); worker 0 fails.
    pub workers: u8,
    /// Steps each worker appends (2..=6).
    pub steps: u8,
    /// The step at which worker 0 fails instead (0..steps).
    pub fail_at: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 3,
            steps: 4,
            fail_at: 1,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        let steps = self.steps.clamp(2, 6);
        Config {
            workers: self.workers.clamp(2, 5),
            steps,
            fail_at: self.fail_at.min(steps - 1),
        }
    }
}

/// How the group runs its workers and cancels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: a `JoinSet`, shut down at the first error.
    JoinSet,
    /// Correct: the workers as futures of one task, under `try_join!` (three workers).
    TryJoin,
    /// Bug: spawned tasks whose handles are dropped at the first error.
    DetachOnError,
}

/// The shared state the workers mutate.
#[derive(Default)]
struct Ledger {
    entries: RefCell<Vec<(u8, u8)>>,
    /// Set once the group has reported its failure.
    closed: Cell<bool>,
}

/// One worker: `steps` steps of 1..=3 ms each, each appended to the ledger; worker 0
/// fails at step `fail_at`.
async fn worker(ledger: Rc<Ledger>, id: u8, c: Config) -> Result<(), String> {
    for step in 0..c.steps {
        sleep(ms(sim::rand::gen_range(1..=3u64))).await;
        if id == 0 && step == c.fail_at {
            return Err(format!("worker 0 failed at step {step}"));
        }
        assert!(
            !ledger.closed.get(),
            "worker {id} wrote step {step} after the group reported its failure"
        );
        ledger.entries.borrow_mut().push((id, step));
    }
    Ok(())
}

/// Runs the scenario.
///
/// # Errors
/// When the group does not report worker 0's error.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let ledger = Rc::new(Ledger::default());
    let error = match variant {
        Variant::JoinSet => {
            let mut group = JoinSet::new();
            for id in 0..c.workers {
                group.spawn(worker(ledger.clone(), id, c.clone()));
            }
            let mut error = None;
            while let Some(done) = group.join_next().await {
                if let Err(e) = done.map_err(|e| e.to_string())? {
                    group.shutdown().await; // abort every sibling and wait for them
                    error = Some(e);
                    break;
                }
            }
            error
        }
        Variant::TryJoin => {
            let w = |id| worker(ledger.clone(), id, c.clone());
            sim::try_join!(w(0), w(1), w(2)).err()
        }
        Variant::DetachOnError => {
            let (done_tx, mut done) = mpsc::unbounded_channel();
            let mut handles = Vec::new();
            for id in 0..c.workers {
                let (ledger, done_tx, c) = (ledger.clone(), done_tx.clone(), c.clone());
                handles.push(spawn_named(&format!("worker-{id}"), async move {
                    let _ = done_tx.send(worker(ledger, id, c).await);
                }));
            }
            drop(done_tx);
            let mut error = None;
            while let Some(result) = done.recv().await {
                if let Err(e) = result {
                    // BUG: dropping the handles detaches the siblings; it cancels none.
                    drop(handles);
                    error = Some(e);
                    break;
                }
            }
            error
        }
    };
    if error.is_none() {
        return Err("the group did not report worker 0's failure".into());
    }
    ledger.closed.set(true);
    // The caller rolls the work back; a sibling still running would write meanwhile.
    ledger.entries.borrow_mut().clear();
    sleep(ms(30)).await;
    assert!(
        ledger.entries.borrow().is_empty(),
        "the ledger changed after the failure"
    );
    Ok(())
}
