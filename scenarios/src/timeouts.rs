//! Timeouts around receiving: a consumer waits for the next item with
//! `sim::time::timeout`, and on a timeout does its housekeeping and waits again. That
//! is safe because `recv` and `get` are cancellation safe: a receive that times out
//! has taken nothing. Wrapping more than the receive in the timeout (take the item,
//! then validate it, all under one deadline) is not: a timeout that fires after the
//! item was taken drops it. Invariants: every item sent is received exactly once, in
//! order.

use std::rc::Rc;

use sim::queue::Queue;
use sim::sync::mpsc;
use sim::time::{sleep, timeout};

use crate::{ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Items sent (1..=10).
    pub items: u8,
    /// The consumer's timeout, in ms (1..=4).
    pub timeout_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            items: 8,
            timeout_ms: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            items: self.items.clamp(1, 10),
            timeout_ms: self.timeout_ms.clamp(1, 4),
        }
    }
}

/// What the timeout wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: `timeout(recv)` over an `mpsc` channel.
    Recv,
    /// Correct: `timeout(get)` over a `Queue`, ended by `shutdown`.
    Get,
    /// Bug: `timeout(get, then validate)`: a timeout during validation drops the item.
    TakeThenTimeout,
}

/// Takes 0..=3 ms to validate an item.
async fn validate(x: u32) -> u32 {
    sleep(ms(sim::rand::gen_range(0..4u64))).await;
    x
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let n = u32::from(c.items);
    let limit = ms(c.timeout_ms.into());
    let mut got = Vec::new();
    match variant {
        Variant::Recv => {
            let (tx, mut rx) = mpsc::channel::<u32>(2);
            let producer = spawn_named("producer", async move {
                for x in 0..n {
                    sleep(ms(sim::rand::gen_range(0..4u64))).await;
                    tx.send(x).await.map_err(|_| "consumer gone")?;
                }
                Ok::<(), &'static str>(())
            });
            loop {
                match timeout(limit, rx.recv()).await {
                    Ok(Some(x)) => got.push(validate(x).await),
                    Ok(None) => break,
                    Err(_elapsed) => {} // housekeeping, then wait again
                }
            }
            producer.await.map_err(|e| e.to_string())??;
        }
        Variant::Get | Variant::TakeThenTimeout => {
            let q = Rc::new(Queue::<u32>::new(2));
            let producer = {
                let q = q.clone();
                spawn_named("producer", async move {
                    for x in 0..n {
                        sleep(ms(sim::rand::gen_range(0..4u64))).await;
                        q.put(x).await.map_err(|_| "shut down")?;
                    }
                    q.shutdown(false);
                    Ok::<(), &'static str>(())
                })
            };
            loop {
                let attempt = if variant == Variant::Get {
                    match timeout(limit, q.get()).await {
                        Ok(Ok(x)) => Ok(Ok(validate(x).await)),
                        other => other,
                    }
                } else {
                    // BUG: the item is taken inside the timeout; if the deadline passes
                    // during `validate`, the item is dropped with the future.
                    timeout(limit, async { Ok(validate(q.get().await?).await) }).await
                };
                match attempt {
                    Ok(Ok(x)) => got.push(x),
                    Ok(Err(_shut_down)) => break,
                    Err(_elapsed) => {} // housekeeping, then wait again
                }
            }
            producer.await.map_err(|e| e.to_string())??;
        }
    }
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "items lost or reordered");
    Ok(())
}
