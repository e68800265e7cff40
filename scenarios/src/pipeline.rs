//! A streaming pipeline: a source stage emits numbers, a splitter fans them out round
//! robin to `K` worker stages, and the workers fan in to one sink; stages are
//! `futures::Stream`s of the channels between them, all bounded, so a slow stage holds
//! the ones before it back (backpressure). A worker's first attempt at an odd number
//! fails and goes back to the splitter for a retry. That feedback edge closes a cycle:
//! if it is bounded too, the splitter can block on a full worker channel while that
//! worker blocks on the full feedback channel (a backpressure deadlock); an unbounded
//! feedback channel breaks the cycle. Invariants: every number comes out exactly once,
//! transformed, and retried numbers only once.

use std::collections::BTreeMap;

use futures::{SinkExt as _, StreamExt as _};
use sim::sync::mpsc;
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Numbers the source emits (1..=12).
    pub items: u8,
    /// Worker stages (1..=3).
    pub workers: u8,
    /// Capacity of every bounded channel (1..=2).
    pub capacity: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            items: 8,
            workers: 2,
            capacity: 1,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            items: self.items.clamp(1, 12),
            workers: self.workers.clamp(1, 3),
            capacity: self.capacity.clamp(1, 2),
        }
    }
}

/// The feedback channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: retries go back through an unbounded channel.
    UnboundedFeedback,
    /// Bug: retries go back through a bounded channel: a cycle of full channels.
    BoundedFeedback,
}

/// A work item: the number and whether this is its retry.
type Item = (u32, bool);

/// Either kind of sender for the feedback edge.
#[derive(Clone)]
enum Feedback {
    Bounded(mpsc::Sender<Item>),
    Unbounded(mpsc::UnboundedSender<Item>),
}

impl Feedback {
    async fn send(&self, item: Item) -> Result<(), String> {
        match self {
            Feedback::Bounded(tx) => tx.send(item).await.map_err(|_| "splitter gone")?,
            Feedback::Unbounded(tx) => tx.send(item).map_err(|_| "splitter gone")?,
        }
        Ok(())
    }
}

/// Runs the scenario.
///
/// # Errors
/// When a stage is gone early or a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let cap = usize::from(c.capacity);
    let n = u32::from(c.items);
    let (src_tx, src_rx) = mpsc::channel::<Item>(cap);
    let (feedback, feedback_rx): (Feedback, futures::stream::LocalBoxStream<'static, Item>) =
        match variant {
            Variant::UnboundedFeedback => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Feedback::Unbounded(tx), rx.boxed_local())
            }
            Variant::BoundedFeedback => {
                // BUG: a bounded feedback edge closes a cycle of bounded channels.
                let (tx, rx) = mpsc::channel(cap);
                (Feedback::Bounded(tx), rx.boxed_local())
            }
        };
    let (sink_tx, sink_rx) = mpsc::channel::<(usize, u32, u32)>(cap);

    let source = spawn_named("source", async move {
        let mut numbers = futures::stream::iter(0..n).map(|x| Ok((x, false)));
        let tx = futures::sink::unfold(src_tx, |tx, item: Item| async move {
            tx.send(item).await.map_err(|_| "splitter gone")?;
            Ok::<_, &'static str>(tx)
        });
        let mut tx = std::pin::pin!(tx);
        tx.send_all(&mut numbers).await
    });

    let mut worker_txs = Vec::new();
    let mut workers = Vec::new();
    for w in 0..usize::from(c.workers) {
        let (tx, rx) = mpsc::channel::<Item>(cap);
        worker_txs.push(tx);
        let (feedback, sink_tx) = (feedback.clone(), sink_tx.clone());
        workers.push(spawn_named(&format!("worker-{w}"), async move {
            let mut items = std::pin::pin!(rx.then(|item| async move {
                sleep(ms(sim::rand::gen_range(0..2u64))).await;
                item
            }));
            while let Some((x, retried)) = items.next().await {
                if x % 2 == 1 && !retried {
                    feedback.send((x, true)).await?; // first attempt failed: retry
                } else {
                    sink_tx
                        .send((w, x, x * 10))
                        .await
                        .map_err(|_| "sink gone")?;
                }
            }
            Ok::<(), String>(())
        }));
    }
    drop((feedback, sink_tx));

    let splitter = spawn_named("splitter", async move {
        // Every number once, and every odd number once more as a retry.
        let dispatches = n + n / 2;
        let mut input = futures::stream::select(src_rx, feedback_rx);
        let mut next = 0;
        for _ in 0..dispatches {
            let item = input.next().await.ok_or("input ended early")?;
            worker_txs[next]
                .send(item)
                .await
                .map_err(|_| "worker gone")?;
            next = (next + 1) % worker_txs.len();
        }
        Ok::<(), &'static str>(())
    });

    let sink = spawn_named("sink", async move {
        sink_rx
            .fold(BTreeMap::new(), |mut out, (_w, x, y)| async move {
                assert!(out.insert(x, y).is_none(), "{x} came out twice");
                out
            })
            .await
    });

    source.await.map_err(|e| e.to_string())??;
    splitter.await.map_err(|e| e.to_string())??;
    for r in join_all(workers).await? {
        r?;
    }
    let out = sink.await.map_err(|e| e.to_string())?;
    let expected: BTreeMap<u32, u32> = (0..n).map(|x| (x, x * 10)).collect();
    assert_eq!(out, expected, "numbers lost or wrong");
    Ok(())
}
