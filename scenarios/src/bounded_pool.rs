//! A bounded worker pool: many jobs start at once, but a [`Semaphore`] with `K`
//! permits lets at most `K` of them do their work at the same time. Each job must hold
//! its permit until its work is over; `let _ = sem.acquire().await` (as opposed to
//! `let _permit = ...`) drops the permit at once and removes the bound. Invariants: at
//! most `K` jobs are in their critical section at once, and every job runs.

use std::cell::Cell;
use std::rc::Rc;

use sim::sync::Semaphore;
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Jobs (at least `limit + 1`, at most 8).
    pub jobs: u8,
    /// Permits: jobs allowed to work at once (1..=3).
    pub limit: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config { jobs: 6, limit: 2 }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        let limit = self.limit.clamp(1, 3);
        Config {
            jobs: self.jobs.clamp(limit + 1, 8),
            limit,
        }
    }
}

/// How a job holds its permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the permit is bound to a variable that lives until the work is done.
    Permit,
    /// Bug: `let _ = ...` drops the permit before the work starts.
    EarlyRelease,
}

/// Runs the scenario.
///
/// # Errors
/// When a job's task fails or the semaphore is closed.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let sem = Rc::new(Semaphore::new(c.limit.into()));
    let in_flight = Rc::new(Cell::new(0u8));
    let done = Rc::new(Cell::new(0u8));

    let mut jobs = Vec::new();
    for j in 0..c.jobs {
        let (sem, in_flight, done) = (sem.clone(), in_flight.clone(), done.clone());
        jobs.push(spawn_named(&format!("job-{j}"), async move {
            sleep(ms(sim::rand::gen_range(0..3u64))).await;
            let permit = match variant {
                Variant::Permit => Some(sem.acquire().await.map_err(|_| "closed")?),
                Variant::EarlyRelease => {
                    // BUG: `let _ =` drops the permit at once: the bound is gone.
                    let _ = sem.acquire().await.map_err(|_| "closed")?;
                    None
                }
            };
            in_flight.set(in_flight.get() + 1);
            assert!(
                in_flight.get() <= c.limit,
                "{} jobs at once, limit {}",
                in_flight.get(),
                c.limit
            );
            sleep(ms(sim::rand::gen_range(1..4u64))).await; // the work
            in_flight.set(in_flight.get() - 1);
            done.set(done.get() + 1);
            drop(permit);
            Ok::<(), &'static str>(())
        }));
    }
    for r in join_all(jobs).await? {
        r?;
    }
    assert_eq!(done.get(), c.jobs, "jobs lost");
    assert_eq!(
        sem.available_permits(),
        usize::from(c.limit),
        "permits leaked"
    );
    Ok(())
}
