//! A one-shot handshake: waiters wait until a notifier has prepared some state and
//! signalled that it is ready. An asyncio [`Event`] keeps its flag, so a waiter that
//! arrives late returns at once; a [`Notify`] used with `notify_waiters` stores
//! nothing, so the waiter must register (create its `notified()` future) before it
//! checks the ready flag, as tokio documents. A waiter that just awaits `notified()`
//! with no flag misses a notification sent before it got there: a lost wakeup, and it
//! waits forever. Invariants: every waiter wakes, and sees the prepared state.

use std::cell::Cell;
use std::rc::Rc;

use sim::sync::{Event, Notify};
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Waiters (1..=3).
    pub waiters: u8,
    /// Longest random delay before each side acts, in ms (1..=4).
    pub jitter_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            waiters: 2,
            jitter_ms: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            waiters: self.waiters.clamp(1, 3),
            jitter_ms: self.jitter_ms.clamp(1, 4),
        }
    }
}

/// The signalling mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: `Event::set` / `Event::wait`.
    Event,
    /// Correct: a ready flag and `notify_waiters`; waiters create `notified()`, then
    /// check the flag, then await.
    NotifyFlag,
    /// Bug: waiters just await `notified()`; a `notify_waiters` that came first is lost.
    LostWakeup,
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let jitter = u64::from(c.jitter_ms);
    let event = Rc::new(Event::new());
    let notify = Rc::new(Notify::new());
    let ready = Rc::new(Cell::new(false));
    let state = Rc::new(Cell::new(0u32));

    let mut waiters = Vec::new();
    for w in 0..c.waiters {
        let (event, notify, ready, state) =
            (event.clone(), notify.clone(), ready.clone(), state.clone());
        waiters.push(spawn_named(&format!("waiter-{w}"), async move {
            sleep(ms(sim::rand::gen_range(0..=jitter))).await; // set up
            match variant {
                Variant::Event => event.wait().await,
                Variant::NotifyFlag => loop {
                    let notified = notify.notified();
                    if ready.get() {
                        break;
                    }
                    notified.await;
                },
                Variant::LostWakeup => {
                    // BUG: no flag check: a notify_waiters sent before this line is lost.
                    notify.notified().await;
                }
            }
            assert_eq!(
                state.get(),
                42,
                "waiter {w} woke before the state was ready"
            );
        }));
    }

    let notifier = spawn_named("notifier", async move {
        sleep(ms(sim::rand::gen_range(0..=jitter))).await; // prepare
        state.set(42);
        ready.set(true);
        match variant {
            Variant::Event => event.set(),
            Variant::NotifyFlag | Variant::LostWakeup => notify.notify_waiters(),
        }
    });
    notifier.await.map_err(|e| e.to_string())?;
    join_all(waiters).await?;
    Ok(())
}
