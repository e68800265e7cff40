//! Requests through a broker: a client sends numbered requests over UDP to a broker
//! host, which forwards them to a service host and its replies back. A partition cuts
//! the broker from the service for a while, so requests and replies are lost. The
//! client must retry until it has a reply (at least once), and the service must apply
//! a request only once however often it arrives (idempotent). Invariants: every request
//! is answered, and the service's total is the sum of the requests' values.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sim::net::{Host, UdpSocket, partition, repair};
use sim::time::{sleep, timeout};

use crate::ms;

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Requests (1..=10).
    pub requests: u8,
    /// When the partition starts, in ms (0..=30).
    pub cut_at_ms: u8,
    /// How long it lasts, in ms (10..=80).
    pub cut_for_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            requests: 8,
            cut_at_ms: 10,
            cut_for_ms: 40,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            requests: self.requests.clamp(1, 10),
            cut_at_ms: self.cut_at_ms.min(30),
            cut_for_ms: self.cut_for_ms.clamp(10, 80),
        }
    }
}

/// How requests are delivered and applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the client retries until a reply; the service applies each id once.
    AtLeastOnce,
    /// Bug: the client sends each request once and gives up waiting: a request lost in
    /// the partition is never answered.
    NoRetry,
    /// Bug: the client retries, but the service applies every copy it receives.
    NotIdempotent,
}

fn encode(id: u32, value: u32) -> [u8; 8] {
    let mut b = [0; 8];
    b[..4].copy_from_slice(&id.to_le_bytes());
    b[4..].copy_from_slice(&value.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> (u32, u32) {
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    (word(0), word(4))
}

/// Runs the scenario.
///
/// # Errors
/// When a request is never answered, or the service applied one twice.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    // The service's state, kept outside it to check at the end.
    let total = Rc::new(Cell::new(0u64));
    let service_total = total.clone();
    Host::builder("service")
        .on_start(move || {
            let total = service_total.clone();
            async move {
                let s = UdpSocket::bind("0.0.0.0:9000").await.expect("port free");
                let mut applied = BTreeSet::new();
                let mut buf = [0; 8];
                while let Ok((_, from)) = s.recv_from(&mut buf).await {
                    let (id, value) = decode(&buf);
                    let first = applied.insert(id);
                    if first || variant == Variant::NotIdempotent {
                        // BUG (not-idempotent): a retried request is applied again.
                        total.set(total.get() + u64::from(value));
                    }
                    let _ = s.send_to(&encode(id, 0), from).await;
                }
            }
        })
        .build();
    Host::builder("broker")
        .on_start(|| async {
            let s = UdpSocket::bind("0.0.0.0:8000").await.expect("port free");
            let mut clients = BTreeMap::new();
            let mut buf = [0; 8];
            while let Ok((_, from)) = s.recv_from(&mut buf).await {
                let (id, _) = decode(&buf);
                if from.port() == 9000 {
                    if let Some(&client) = clients.get(&id) {
                        let _ = s.send_to(&buf, client).await;
                    }
                } else {
                    clients.insert(id, from);
                    let _ = s.send_to(&buf, "service:9000").await;
                }
            }
        })
        .build();
    let client = Host::builder("client").build();
    let requests = c.requests;
    let calls = client.spawn_named("client", async move {
        sleep(ms(1)).await; // the services bind at start-up
        let s = UdpSocket::bind("0.0.0.0:0")
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0; 8];
        for id in 0..u32::from(requests) {
            let answered = loop {
                s.send_to(&encode(id, id + 1), "broker:8000")
                    .await
                    .map_err(|e| e.to_string())?;
                let wait = if variant == Variant::NoRetry {
                    ms(500)
                } else {
                    ms(30)
                };
                let got = timeout(wait, async {
                    loop {
                        let Ok(_) = s.recv_from(&mut buf).await else {
                            return false;
                        };
                        if decode(&buf).0 == id {
                            return true; // (a stale reply to a retry is skipped)
                        }
                    }
                })
                .await;
                match (got, variant) {
                    (Ok(answered), _) => break answered,
                    // BUG (no-retry): no ack, no retry: the request was lost for good.
                    (Err(_), Variant::NoRetry) => break false,
                    (Err(_), _) => continue,
                }
            };
            if !answered {
                return Err(format!("request {id} was never answered"));
            }
        }
        Ok::<(), String>(())
    });
    sleep(ms(u64::from(c.cut_at_ms) + sim::rand::gen_range(0..10u64))).await;
    partition("broker", "service");
    sleep(ms(u64::from(c.cut_for_ms))).await;
    repair("broker", "service");
    calls.await.map_err(|e| e.to_string())??;
    let expected: u64 = (1..=u64::from(requests)).sum();
    assert_eq!(
        total.get(),
        expected,
        "the service applied {} instead of {expected}: a request was applied twice",
        total.get()
    );
    Ok(())
}
