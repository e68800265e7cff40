//! Actors: a counter actor and a logger actor, each a task that owns its state and
//! serves a bounded `mpsc` mailbox one message at a time. Clients send `Increment` and
//! `Add(value)` and ask `GetCount` with a `oneshot` for the reply; the counter logs
//! every change to the logger, and before answering `GetCount` asks the logger to
//! flush (a synchronous ask: it awaits the logger's reply). Asking in one direction is
//! fine; if the logger also asks the counter (to stamp lines with the current count),
//! two actors can each wait for the other's reply, or for room in the other's full
//! mailbox: a deadlock. Invariants: the count equals the sum of all operations, the
//! logger saw one line per change, and stamps never go down.

use sim::sync::{mpsc, oneshot};
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Client tasks (1..=3).
    pub clients: u8,
    /// Operations per client (1..=5).
    pub ops: u8,
    /// Mailbox capacity of both actors (1..=3).
    pub mailbox: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: 2,
            ops: 4,
            mailbox: 1,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            clients: self.clients.clamp(1, 3),
            ops: self.ops.clamp(1, 5),
            mailbox: self.mailbox.clamp(1, 3),
        }
    }
}

/// How the logger stamps its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the counter sends the count with each line.
    Correct,
    /// Bug: the logger asks the counter for the count while the counter may be asking
    /// the logger to flush (mutual synchronous asks: deadlock).
    MutualAsk,
}

enum CounterMsg {
    Increment,
    Add(u64),
    GetCount(oneshot::Sender<u64>),
    Stop(oneshot::Sender<u64>),
}

enum LogMsg {
    Line { count: u64 },
    Flush(oneshot::Sender<(usize, u64)>),
}

/// Sends `make(reply)` to `mailbox` and awaits the reply.
async fn ask<M, R>(
    mailbox: &mpsc::Sender<M>,
    make: impl FnOnce(oneshot::Sender<R>) -> M,
) -> Result<R, String> {
    let (tx, rx) = oneshot::channel();
    mailbox
        .send(make(tx))
        .await
        .map_err(|_| "mailbox closed".to_string())?;
    rx.await.map_err(|_| "no reply".to_string())
}

/// Runs the scenario.
///
/// # Errors
/// When an actor is gone or a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let (counter_tx, mut counter_rx) = mpsc::channel::<CounterMsg>(c.mailbox.into());
    let (log_tx, mut log_rx) = mpsc::channel::<LogMsg>(c.mailbox.into());

    let logger = {
        let counter_tx = counter_tx.clone();
        spawn_named("logger", async move {
            let (mut lines, mut last) = (0usize, 0u64);
            while let Some(msg) = log_rx.recv().await {
                match msg {
                    LogMsg::Line { count } => {
                        let stamp = match variant {
                            Variant::Correct => count,
                            // BUG: asks the counter, which may be asking us to flush.
                            Variant::MutualAsk => ask(&counter_tx, CounterMsg::GetCount).await?,
                        };
                        assert!(stamp >= last, "log stamps went down: {last} then {stamp}");
                        last = stamp;
                        lines += 1;
                    }
                    LogMsg::Flush(reply) => {
                        let _ = reply.send((lines, last));
                    }
                }
            }
            Ok::<usize, String>(lines)
        })
    };

    let counter = spawn_named("counter", async move {
        let mut count = 0u64;
        while let Some(msg) = counter_rx.recv().await {
            match msg {
                CounterMsg::Increment | CounterMsg::Add(_) => {
                    count += match msg {
                        CounterMsg::Add(v) => v,
                        _ => 1,
                    };
                    log_tx
                        .send(LogMsg::Line { count })
                        .await
                        .map_err(|_| "logger gone")?;
                }
                CounterMsg::GetCount(reply) => {
                    // Flush the log first, so the answer is consistent with it.
                    let (_lines, stamp) = ask(&log_tx, LogMsg::Flush).await?;
                    assert!(stamp <= count, "the log is ahead of the counter");
                    let _ = reply.send(count);
                }
                CounterMsg::Stop(reply) => {
                    let _ = reply.send(count);
                    break;
                }
            }
        }
        Ok::<(), String>(())
    });

    let mut clients = Vec::new();
    for k in 0..c.clients {
        let counter_tx = counter_tx.clone();
        clients.push(spawn_named(&format!("client-{k}"), async move {
            let mut sent = 0u64;
            for i in 0..c.ops {
                sleep(ms(sim::rand::gen_range(0..2u64))).await;
                let msg = if i % 2 == 0 {
                    sent += 1;
                    CounterMsg::Increment
                } else {
                    let v = u64::from(k) + u64::from(i);
                    sent += v;
                    CounterMsg::Add(v)
                };
                counter_tx.send(msg).await.map_err(|_| "counter gone")?;
            }
            let seen = ask(&counter_tx, CounterMsg::GetCount).await?;
            assert!(seen >= sent, "count {seen} below this client's own {sent}");
            Ok::<u64, String>(sent)
        }));
    }

    let mut total = 0;
    for r in join_all(clients).await? {
        total += r?;
    }
    let count = ask(&counter_tx, CounterMsg::Stop).await?;
    assert_eq!(count, total, "operations lost");
    counter.await.map_err(|e| e.to_string())??;
    drop(counter_tx);
    let lines = logger.await.map_err(|e| e.to_string())??;
    assert_eq!(
        lines as u64,
        u64::from(c.clients) * u64::from(c.ops),
        "log lines lost"
    );
    Ok(())
}
