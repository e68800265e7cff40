//! Queue ordering under concurrent producers: producers put numbered items with random
//! priorities on a [`PriorityQueue`] or a [`LifoQueue`] while a consumer takes them.
//! A shadow model, updated in the same step as each put and get, checks that every
//! `get` returns the smallest item present (priority) or the newest one (LIFO). A
//! consumer that assumes FIFO order of a LIFO queue (each producer's items in the
//! order they were put) is wrong as soon as two items of one producer are queued at
//! once. Invariants: the queue's order, and every item taken exactly once.

use std::cell::RefCell;
use std::rc::Rc;

use sim::queue::{LifoQueue, PriorityQueue};
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Producers (1..=3).
    pub producers: u8,
    /// Items per producer (1..=6).
    pub items: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            producers: 2,
            items: 4,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            producers: self.producers.clamp(1, 3),
            items: self.items.clamp(1, 6),
        }
    }
}

/// The queue and what the consumer checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: a `PriorityQueue`; each get is the smallest item present.
    Priority,
    /// Correct: a `LifoQueue`; each get is the newest item present.
    Lifo,
    /// Bug: a `LifoQueue` whose consumer assumes each producer's items come out in
    /// the order they were put (FIFO).
    LifoAssumedFifo,
}

/// `(priority, producer, seq)`.
type Item = (u8, u8, u8);

enum Q {
    Prio(PriorityQueue<Item>),
    Lifo(LifoQueue<Item>),
}

impl Q {
    fn put_nowait(&self, item: Item) {
        let ok = match self {
            Q::Prio(q) => q.put_nowait(item).is_ok(),
            Q::Lifo(q) => q.put_nowait(item).is_ok(),
        };
        assert!(ok, "unbounded queue refused an item");
    }

    async fn get(&self) -> Item {
        let got = match self {
            Q::Prio(q) => q.get().await,
            Q::Lifo(q) => q.get().await,
        };
        got.expect("the queue is never shut down")
    }
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let q = Rc::new(match variant {
        Variant::Priority => Q::Prio(PriorityQueue::new(0)),
        Variant::Lifo | Variant::LifoAssumedFifo => Q::Lifo(LifoQueue::new(0)),
    });
    // The items present, in put order.
    let shadow: Rc<RefCell<Vec<Item>>> = Rc::default();

    let mut producers = Vec::new();
    for p in 0..c.producers {
        let (q, shadow) = (q.clone(), shadow.clone());
        producers.push(spawn_named(&format!("producer-{p}"), async move {
            for seq in 0..c.items {
                sleep(ms(sim::rand::gen_range(0..3u64))).await;
                let item = (sim::rand::gen_range(0..10u8), p, seq);
                q.put_nowait(item);
                shadow.borrow_mut().push(item);
            }
        }));
    }

    let total = usize::from(c.producers) * usize::from(c.items);
    let consumer = spawn_named("consumer", async move {
        let mut last_seq = vec![None::<u8>; c.producers.into()];
        let mut taken = Vec::new();
        for _ in 0..total {
            let item = q.get().await;
            {
                let mut present = shadow.borrow_mut();
                let expected = match variant {
                    Variant::Priority => *present.iter().min().expect("an item is present"),
                    Variant::Lifo | Variant::LifoAssumedFifo => {
                        *present.last().expect("an item is present")
                    }
                };
                assert_eq!(item, expected, "the queue handed out the wrong item");
                let at = present.iter().position(|x| *x == item).expect("present");
                present.remove(at);
                if variant == Variant::LifoAssumedFifo {
                    // BUG: assumes FIFO order per producer, but a LIFO queue reverses it.
                    let last = &mut last_seq[usize::from(item.1)];
                    assert!(
                        last.is_none_or(|l| l < item.2),
                        "producer {}'s item {} came after item {:?}",
                        item.1,
                        item.2,
                        last
                    );
                    *last = Some(item.2);
                }
                taken.push(item);
            }
            sleep(ms(sim::rand::gen_range(0..3u64))).await;
        }
        taken
    });

    join_all(producers).await?;
    let mut taken = consumer.await.map_err(|e| e.to_string())?;
    taken.sort_unstable_by_key(|x| (x.1, x.2));
    assert_eq!(taken.len(), total, "items lost");
    assert!(
        taken
            .windows(2)
            .all(|w| (w[0].1, w[0].2) < (w[1].1, w[1].2)),
        "items duplicated"
    );
    Ok(())
}
