//! Producer/consumer over a bounded asyncio-style [`Queue`]: `N` producers put numbered
//! items into a queue of at most `maxsize` items, `M` consumers take them, process them
//! and mark each one with `task_done`; the coordinator waits for the producers, then
//! `join`s the queue (every item processed) and ends the consumers, either with one
//! sentinel (`None`) per consumer or with `Queue::shutdown`. Invariants: every item
//! produced is consumed exactly once (conservation), each consumer sees each producer's
//! items in increasing order (FIFO), and the queue never holds more than `maxsize`.

use std::cell::RefCell;
use std::rc::Rc;

use sim::queue::Queue;
use sim::time::{sleep, timeout};

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Producers (1..=4).
    pub producers: u8,
    /// Consumers (1..=4).
    pub consumers: u8,
    /// Items each producer puts (1..=8).
    pub items: u8,
    /// The queue's bound (1..=4).
    pub maxsize: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            producers: 2,
            consumers: 2,
            items: 4,
            maxsize: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            producers: self.producers.clamp(1, 4),
            consumers: self.consumers.clamp(1, 4),
            items: self.items.clamp(1, 8),
            maxsize: self.maxsize.clamp(1, 4),
        }
    }
}

/// Which version of the consumers and the shutdown runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: one `None` sentinel per consumer after the producers are done.
    Sentinels,
    /// Correct: `join`, then `shutdown(false)`; consumers stop when `get` fails.
    Shutdown,
    /// Bug: each item is handled under a timeout that may fire while the item is being
    /// processed, after `get` and before `task_done`; the item is never marked done,
    /// so `join` waits forever (deadlock).
    CancelledConsumer,
    /// Bug: the coordinator puts one sentinel fewer than there are consumers; the last
    /// consumer waits on `get` forever (deadlock).
    MissingSentinel,
}

/// Per consumer: the `(producer, seq)` items it took, in order.
type Seen = Rc<RefCell<Vec<Vec<(u8, u8)>>>>;

/// Runs the scenario.
///
/// # Errors
/// When a task fails or the queue misbehaves (for example `task_done` too often).
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let q: Rc<Queue<Option<(u8, u8)>>> = Rc::new(Queue::new(c.maxsize.into()));
    let seen: Seen = Rc::new(RefCell::new(vec![Vec::new(); c.consumers.into()]));

    let mut producers = Vec::new();
    for p in 0..c.producers {
        let q = q.clone();
        producers.push(spawn_named(&format!("producer-{p}"), async move {
            for i in 0..c.items {
                q.put(Some((p, i)))
                    .await
                    .map_err(|_| "put after shutdown")?;
                assert!(q.qsize() <= c.maxsize.into(), "queue over its bound");
                sleep(ms(sim::rand::gen_range(0..3u64))).await;
            }
            Ok::<(), &'static str>(())
        }));
    }

    let mut consumers = Vec::new();
    for k in 0..usize::from(c.consumers) {
        let q = q.clone();
        let seen = seen.clone();
        consumers.push(spawn_named(&format!("consumer-{k}"), async move {
            consume(&q, &seen, k, variant).await
        }));
    }

    for r in join_all(producers).await? {
        r?;
    }
    match variant {
        Variant::Sentinels | Variant::CancelledConsumer => {
            for _ in 0..c.consumers {
                q.put(None).await.map_err(|_| "sentinel after shutdown")?;
            }
        }
        Variant::MissingSentinel => {
            // BUG: one sentinel short: the last consumer never gets its `None`.
            for _ in 1..c.consumers {
                q.put(None).await.map_err(|_| "sentinel after shutdown")?;
            }
        }
        Variant::Shutdown => {}
    }
    q.join().await;
    if variant == Variant::Shutdown {
        q.shutdown(false);
    }
    for r in join_all(consumers).await? {
        r?;
    }

    // Conservation: every item exactly once. Order: per consumer, per producer, FIFO.
    let seen = seen.borrow();
    let mut all: Vec<(u8, u8)> = seen.iter().flatten().copied().collect();
    all.sort_unstable();
    let expected: Vec<(u8, u8)> = (0..c.producers)
        .flat_map(|p| (0..c.items).map(move |i| (p, i)))
        .collect();
    assert_eq!(all, expected, "items lost or duplicated");
    for (k, items) in seen.iter().enumerate() {
        for p in 0..c.producers {
            let mine: Vec<u8> = items.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "consumer {k} saw producer {p}'s items out of order: {mine:?}"
            );
        }
    }
    assert_eq!(q.unfinished_tasks(), 0);
    Ok(())
}

async fn consume(
    q: &Queue<Option<(u8, u8)>>,
    seen: &Seen,
    k: usize,
    variant: Variant,
) -> Result<(), String> {
    loop {
        let item = match q.get().await {
            Ok(item) => item,
            Err(_) if variant == Variant::Shutdown => return Ok(()),
            Err(_) => return Err("get after shutdown".into()),
        };
        let Some(item) = item else {
            q.task_done().map_err(|e| e.to_string())?;
            return Ok(());
        };
        if variant == Variant::CancelledConsumer {
            // BUG: giving up on a slow item skips `task_done`: the item was taken by
            // `get` but is never marked done, so `join` never returns.
            if timeout(ms(4), process(seen, k, item)).await.is_err() {
                continue;
            }
        } else {
            process(seen, k, item).await;
        }
        q.task_done().map_err(|e| e.to_string())?;
    }
}

/// Records the item, then takes 0..=5 ms to "process" it.
async fn process(seen: &Seen, k: usize, item: (u8, u8)) {
    seen.borrow_mut()[k].push(item);
    sleep(ms(sim::rand::gen_range(0..6u64))).await;
}
