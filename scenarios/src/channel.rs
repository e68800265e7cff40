//! Message passing over tokio-style channels: `N` senders send numbered messages over
//! one bounded `mpsc` channel and each ends with an end marker; one receiver counts
//! them until every sender has ended. Alongside, clients ask a doubling server over an
//! `mpsc` of requests, each carrying a `oneshot` sender for the reply. Invariants:
//! every message sent is received exactly once (conservation), each sender's messages
//! arrive in order, and every reply answers its own request.

use std::cell::Cell;
use std::rc::Rc;

use sim::sync::{mpsc, oneshot};
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Senders (2..=4).
    pub senders: u8,
    /// Messages per sender (1..=8).
    pub messages: u8,
    /// The data channel's capacity (1..=4).
    pub capacity: u8,
    /// Request/reply clients (1..=3).
    pub clients: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            senders: 3,
            messages: 4,
            capacity: 2,
            clients: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            senders: self.senders.clamp(2, 4),
            messages: self.messages.clamp(1, 8),
            capacity: self.capacity.clamp(1, 4),
            clients: self.clients.clamp(1, 3),
        }
    }
}

/// Which receiver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the receiver stops once every sender has sent its end marker.
    Correct,
    /// Bug: the receiver stops at the first end marker and drops the channel; the
    /// other senders ignore their send errors, so their remaining messages are lost
    /// (the conservation assert panics).
    EarlyStop,
}

enum Msg {
    Data { sender: u8, seq: u8 },
    End,
}

/// Runs the scenario.
///
/// # Errors
/// When a task fails, or the server stops answering.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let (tx, mut rx) = mpsc::channel::<Msg>(c.capacity.into());
    let attempted = Rc::new(Cell::new(0u32));

    let mut senders = Vec::new();
    for s in 0..c.senders {
        let tx = tx.clone();
        let attempted = attempted.clone();
        senders.push(spawn_named(&format!("sender-{s}"), async move {
            for seq in 0..c.messages {
                sleep(ms(sim::rand::gen_range(0..3u64))).await;
                attempted.set(attempted.get() + 1);
                // The error (receiver gone) is ignored: the message is silently lost.
                let _ = tx.send(Msg::Data { sender: s, seq }).await;
            }
            let _ = tx.send(Msg::End).await;
        }));
    }
    drop(tx);

    let receiver = spawn_named("receiver", async move {
        let mut got: Vec<Vec<u8>> = vec![Vec::new(); c.senders.into()];
        let mut ended = 0;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Data { sender, seq } => got[usize::from(sender)].push(seq),
                Msg::End => {
                    ended += 1;
                    if variant == Variant::EarlyStop {
                        // BUG: the first sender to finish ends the loop for everyone.
                        break;
                    }
                    if ended == c.senders {
                        break;
                    }
                }
            }
        }
        got
    });

    // Request/reply: each client asks the server to double its numbers.
    let (req_tx, mut req_rx) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(1);
    let server = spawn_named("server", async move {
        let mut served = 0u32;
        while let Some((v, reply)) = req_rx.recv().await {
            sim::task::yield_now().await;
            served += 1;
            // The client may have given up; nothing to do then.
            let _ = reply.send(v * 2);
        }
        served
    });
    let mut clients = Vec::new();
    for k in 0..u32::from(c.clients) {
        let req_tx = req_tx.clone();
        clients.push(spawn_named(&format!("client-{k}"), async move {
            for i in 0..3 {
                let v = k * 100 + i;
                let (reply_tx, reply_rx) = oneshot::channel();
                req_tx
                    .send((v, reply_tx))
                    .await
                    .map_err(|_| "server gone")?;
                let doubled = reply_rx.await.map_err(|_| "no reply")?;
                assert_eq!(doubled, v * 2, "client {k} got another request's reply");
            }
            Ok::<(), &'static str>(())
        }));
    }
    drop(req_tx);

    join_all(senders).await?;
    let got = receiver.await.map_err(|e| e.to_string())?;
    for r in join_all(clients).await? {
        r?;
    }
    let served = server.await.map_err(|e| e.to_string())?;
    assert_eq!(served, u32::from(c.clients) * 3, "requests lost");

    let received: usize = got.iter().map(Vec::len).sum();
    assert_eq!(
        received as u32,
        attempted.get(),
        "messages lost: {} sent, {received} received",
        attempted.get()
    );
    for (s, seqs) in got.iter().enumerate() {
        assert_eq!(
            *seqs,
            (0..c.messages).collect::<Vec<_>>(),
            "sender {s}'s messages lost or reordered"
        );
    }
    Ok(())
}
