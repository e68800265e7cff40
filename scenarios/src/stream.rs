//! A data stream consumed as an async [`Stream`] with back-pressure: a producer sends
//! items into a bounded channel, a consumer reads them through a `Stream` adapter
//! (`StreamExt::next`) and processes each slowly, until a stop signal arrives at a
//! random moment. On the stop the consumer closes the stream and drains what is
//! already in it. Invariants: the producer is never more than the channel's capacity
//! ahead of the consumer (back-pressure), and every item the producer handed over is
//! processed, once, in order (no tail lost on cancellation).
//!
//! The bugs: an adapter that "prefetches" by pumping the bounded channel into an
//! unbounded one (the producer is never slowed down again), and a consumer that just
//! drops the stream when stopped (the items already buffered are lost).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use sim::sync::{mpsc, oneshot};
use sim::task::JoinHandle;
use sim::time::sleep;

use crate::{ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Items the producer has to send (1..=24).
    pub items: u8,
    /// The channel's capacity (1..=4).
    pub capacity: u8,
    /// The most time the consumer spends on one item, in ms (1..=3).
    pub work_ms: u8,
    /// The latest moment the stop signal comes, in ms (1..=60).
    pub stop_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            items: 16,
            capacity: 2,
            work_ms: 3,
            stop_ms: 30,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            items: self.items.clamp(1, 24),
            capacity: self.capacity.clamp(1, 4),
            work_ms: self.work_ms.clamp(1, 3),
            stop_ms: self.stop_ms.clamp(1, 60),
        }
    }
}

/// How the stream is built and consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the stream reads the bounded channel; on the stop it is closed and
    /// drained.
    Drained,
    /// Bug: the adapter pumps the bounded channel into an unbounded one.
    Unbounded,
    /// Bug: on the stop the consumer drops the stream with items still in it.
    DroppedTail,
}

/// A `Stream` over a channel receiver (what `tokio_stream::wrappers::ReceiverStream`
/// is), closable so that a consumer can stop the producer and drain what is left.
enum Feed {
    Bounded(mpsc::Receiver<u32>),
    /// BUG: the pump task moves every item into an unbounded channel as soon as it is
    /// sent, so the bounded channel is always empty and never pushes back.
    Pumped {
        rx: mpsc::UnboundedReceiver<u32>,
        pump: JoinHandle<()>,
    },
}

impl Feed {
    fn new(rx: mpsc::Receiver<u32>, variant: Variant) -> Feed {
        if variant != Variant::Unbounded {
            return Feed::Bounded(rx);
        }
        let (tx, unbounded) = mpsc::unbounded_channel();
        let pump = spawn_named("prefetch", async move {
            let mut rx = rx;
            while let Some(x) = rx.recv().await {
                if tx.send(x).is_err() {
                    break;
                }
            }
        });
        Feed::Pumped {
            rx: unbounded,
            pump,
        }
    }

    /// Stops the producer; what is already in the stream can still be read.
    fn close(&mut self) {
        match self {
            Feed::Bounded(rx) => rx.close(),
            Feed::Pumped { rx, pump } => {
                pump.abort();
                rx.close();
            }
        }
    }
}

impl Stream for Feed {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        match self.get_mut() {
            Feed::Bounded(rx) => rx.poll_recv(cx),
            Feed::Pumped { rx, .. } => rx.poll_recv(cx),
        }
    }
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let capacity = usize::from(c.capacity);
    let (tx, rx) = mpsc::channel::<u32>(capacity);
    // Items handed to the channel, and items the consumer has taken from the stream.
    let sent = Rc::new(Cell::new(0usize));
    let taken = Rc::new(Cell::new(0usize));

    let producer = {
        let (sent, taken) = (sent.clone(), taken.clone());
        spawn_named("producer", async move {
            for x in 0..u32::from(c.items) {
                if tx.send(x).await.is_err() {
                    break; // the consumer stopped: the rest is not sent
                }
                sent.set(sent.get() + 1);
                let ahead = sent.get() - taken.get();
                assert!(
                    ahead <= capacity,
                    "no back-pressure: {ahead} items wait for the consumer, capacity {capacity}"
                );
            }
        })
    };
    let (stop_tx, mut stop) = oneshot::channel::<()>();
    let stopper = spawn_named("stopper", async move {
        sleep(ms(sim::rand::gen_range(1..=u64::from(c.stop_ms)))).await;
        let _ = stop_tx.send(());
    });

    let mut feed = Feed::new(rx, variant);
    let mut processed = Vec::new();
    let process = |x: u32, processed: &mut Vec<u32>| {
        taken.set(taken.get() + 1);
        processed.push(x);
        sleep(ms(sim::rand::gen_range(1..=u64::from(c.work_ms))))
    };
    let stopped = loop {
        sim::select! {
            item = feed.next() => match item {
                Some(x) => process(x, &mut processed).await,
                None => break false, // the producer is done
            },
            _ = &mut stop => break true,
        }
    };
    if stopped {
        if variant == Variant::DroppedTail {
            // BUG: the stream is dropped with the items still buffered in it.
            drop(feed);
        } else {
            feed.close();
            while let Some(x) = feed.next().await {
                process(x, &mut processed).await;
            }
        }
    }
    producer.await.map_err(|e| e.to_string())?;
    stopper.await.map_err(|e| e.to_string())?;
    let sent = u32::try_from(sent.get()).expect("at most 24");
    assert_eq!(
        processed,
        (0..sent).collect::<Vec<_>>(),
        "items handed over but not processed (stopped: {stopped})"
    );
    Ok(())
}
