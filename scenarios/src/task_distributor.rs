//! An asyncio-style worker pool: a producer puts jobs on a [`Queue`] followed by one
//! sentinel per worker, `W` workers take jobs, compute results and put them on a
//! results queue, and mark every item they take (the sentinel included) with
//! `task_done`; the producer `join`s the job queue, and a collector gathers exactly one
//! result per job. Invariants: every job's result arrives exactly once and is correct.
//! Bugs: a worker that leaves on its sentinel without `task_done` (the producer's
//! `join` never returns), and a collector that waits for one result too many.

use std::rc::Rc;

use sim::queue::Queue;
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Jobs (1..=10).
    pub jobs: u8,
    /// Workers (1..=4).
    pub workers: u8,
    /// The job queue's bound (1..=4).
    pub maxsize: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            jobs: 6,
            workers: 3,
            maxsize: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            jobs: self.jobs.clamp(1, 10),
            workers: self.workers.clamp(1, 4),
            maxsize: self.maxsize.clamp(1, 4),
        }
    }
}

/// Which worker and collector run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct.
    Correct,
    /// Bug: a worker breaks out on its sentinel without `task_done` (deadlock).
    SentinelNotDone,
    /// Bug: the collector counts `0..=jobs` results, one too many (deadlock).
    OneResultTooMany,
}

fn square(x: u32) -> u32 {
    x * x
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails or a queue is misused.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let jobs: Rc<Queue<Option<u32>>> = Rc::new(Queue::new(c.maxsize.into()));
    let results: Rc<Queue<(u32, u32)>> = Rc::new(Queue::new(0));

    let producer = {
        let jobs = jobs.clone();
        spawn_named("producer", async move {
            for j in 0..u32::from(c.jobs) {
                jobs.put(Some(j)).await.map_err(|_| "shut down")?;
            }
            for _ in 0..c.workers {
                jobs.put(None).await.map_err(|_| "shut down")?;
            }
            jobs.join().await;
            Ok::<(), &'static str>(())
        })
    };

    let mut workers = Vec::new();
    for w in 0..c.workers {
        let (jobs, results) = (jobs.clone(), results.clone());
        workers.push(spawn_named(&format!("worker-{w}"), async move {
            loop {
                let job = jobs.get().await.map_err(|_| "shut down")?;
                let Some(x) = job else {
                    if variant == Variant::SentinelNotDone {
                        // BUG: leaves on its sentinel without task_done: join never returns.
                        break;
                    }
                    jobs.task_done().map_err(|e| e.to_string())?;
                    break;
                };
                sleep(ms(sim::rand::gen_range(0..3u64))).await;
                results.put((x, square(x))).await.map_err(|_| "shut down")?;
                jobs.task_done().map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }

    let collector = {
        let results = results.clone();
        spawn_named("collector", async move {
            let n = usize::from(c.jobs);
            let mut got = Vec::new();
            let expected = match variant {
                // BUG: `0..=n` is n + 1 results: the last get waits forever.
                Variant::OneResultTooMany => (0..=n).count(),
                _ => (0..n).count(),
            };
            for _ in 0..expected {
                got.push(results.get().await.map_err(|_| "shut down")?);
            }
            Ok::<Vec<(u32, u32)>, &'static str>(got)
        })
    };

    producer.await.map_err(|e| e.to_string())??;
    for r in join_all(workers).await? {
        r?;
    }
    let mut got = collector.await.map_err(|e| e.to_string())??;
    got.sort_unstable();
    let expected: Vec<(u32, u32)> = (0..u32::from(c.jobs)).map(|x| (x, square(x))).collect();
    assert_eq!(got, expected, "results lost, duplicated or wrong");
    assert_eq!(jobs.unfinished_tasks(), 0);
    Ok(())
}
