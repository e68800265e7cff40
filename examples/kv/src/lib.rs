//! # kv: a small key-value server, the way a tokio program is written
//!
//! One server task owns the map; clients talk to it over an `mpsc` channel with a
//! `oneshot` reply per request. Values may expire (a time to live, checked on read and
//! purged by a periodic sweep); `compare_and_swap` makes read-modify-write safe across
//! clients; `snapshot` renders the map on the blocking pool. Shutdown answers every
//! request already queued, then stops.
//!
//! Nothing here knows about simulation: it uses `tokio::` paths only. Its tests run on
//! tokio (`cargo test -p kv`) and, unchanged, under corosim's simulator
//! (`RUSTFLAGS="--cfg corosim" cargo test -p kv`), where every seed is a different
//! interleaving of the clients and the server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = kv::Server::start(16);
//! let client = server.client();
//! client.set("greeting", "hello").await.unwrap();
//! assert_eq!(client.get("greeting").await.unwrap().as_deref(), Some("hello"));
//! server.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant, MissedTickBehavior};

/// How often the server purges expired entries.
pub const PURGE_EVERY: Duration = Duration::from_secs(1);

/// What a request can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server has shut down (before answering).
    Closed,
    /// `compare_and_swap` found another value: the current one.
    Conflict(Option<String>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Closed => f.write_str("the server has shut down"),
            Error::Conflict(current) => write!(f, "the value changed (now {current:?})"),
        }
    }
}

impl std::error::Error for Error {}

enum Request {
    Get {
        key: String,
        reply: oneshot::Sender<Option<String>>,
    },
    Set {
        key: String,
        value: String,
        ttl: Option<Duration>,
        reply: oneshot::Sender<Option<String>>,
    },
    Delete {
        key: String,
        reply: oneshot::Sender<Option<String>>,
    },
    CompareAndSwap {
        key: String,
        expected: Option<String>,
        new: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Snapshot {
        reply: oneshot::Sender<Vec<(String, String)>>,
    },
}

struct Entry {
    value: String,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// A running server: hands out clients, and shuts the server down.
pub struct Server {
    requests: mpsc::Sender<Request>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<usize>,
}

impl Server {
    /// Starts a server whose request queue holds `capacity` requests.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(capacity: usize) -> Server {
        let (requests, rx) = mpsc::channel(capacity);
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(serve(rx, stop));
        Server {
            requests,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// A client of this server.
    pub fn client(&self) -> Client {
        Client {
            requests: self.requests.clone(),
        }
    }

    /// Stops the server once the requests already queued are answered; returns how
    /// many requests it answered in all.
    pub async fn shutdown(mut self) -> usize {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        drop(self.requests);
        self.task.await.expect("the server task panicked")
    }
}

/// The server loop: answers requests, purges expired entries, stops on shutdown.
async fn serve(mut rx: mpsc::Receiver<Request>, mut stop: oneshot::Receiver<()>) -> usize {
    let mut map: HashMap<String, Entry> = HashMap::new();
    let mut purge = tokio::time::interval(PURGE_EVERY);
    purge.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut answered = 0;
    loop {
        tokio::select! {
            request = rx.recv() => match request {
                Some(request) => {
                    handle(&mut map, request);
                    answered += 1;
                }
                None => break, // every client and the server handle are gone
            },
            _ = purge.tick() => {
                let now = Instant::now();
                map.retain(|_, e| e.live(now));
            }
            _ = &mut stop => {
                // Answer what is already queued, then stop.
                rx.close();
                while let Some(request) = rx.recv().await {
                    handle(&mut map, request);
                    answered += 1;
                }
                break;
            }
        }
    }
    answered
}

fn handle(map: &mut HashMap<String, Entry>, request: Request) {
    let now = Instant::now();
    let current = |map: &HashMap<String, Entry>, key: &str| {
        map.get(key)
            .filter(|e| e.live(now))
            .map(|e| e.value.clone())
    };
    // A client that gave up waiting dropped its reply receiver: nothing to tell it.
    match request {
        Request::Get { key, reply } => {
            let _ = reply.send(current(map, &key));
        }
        Request::Set {
            key,
            value,
            ttl,
            reply,
        } => {
            let old = current(map, &key);
            let expires_at = ttl.map(|ttl| now + ttl);
            map.insert(key, Entry { value, expires_at });
            let _ = reply.send(old);
        }
        Request::Delete { key, reply } => {
            let old = current(map, &key);
            map.remove(&key);
            let _ = reply.send(old);
        }
        Request::CompareAndSwap {
            key,
            expected,
            new,
            reply,
        } => {
            let found = current(map, &key);
            let outcome = if found == expected {
                map.insert(
                    key,
                    Entry {
                        value: new,
                        expires_at: None,
                    },
                );
                Ok(())
            } else {
                Err(Error::Conflict(found))
            };
            let _ = reply.send(outcome);
        }
        Request::Snapshot { reply } => {
            let mut all: Vec<_> = map
                .iter()
                .filter(|(_, e)| e.live(now))
                .map(|(k, e)| (k.clone(), e.value.clone()))
                .collect();
            all.sort();
            let _ = reply.send(all);
        }
    }
}

/// A handle to talk to the server; cheap to clone, one per task.
#[derive(Clone)]
pub struct Client {
    requests: mpsc::Sender<Request>,
}

impl Client {
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)
    }

    /// The value of `key`, if set and not expired.
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    pub async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        let key = key.to_string();
        self.ask(|reply| Request::Get { key, reply }).await
    }

    /// Sets `key` to `value`; returns the value it replaced.
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    pub async fn set(&self, key: &str, value: &str) -> Result<Option<String>, Error> {
        self.set_inner(key, value, None).await
    }

    /// Sets `key` to `value` for `ttl`; returns the value it replaced.
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    pub async fn set_with_ttl(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, Error> {
        self.set_inner(key, value, Some(ttl)).await
    }

    async fn set_inner(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<Option<String>, Error> {
        let (key, value) = (key.to_string(), value.to_string());
        self.ask(|reply| Request::Set {
            key,
            value,
            ttl,
            reply,
        })
        .await
    }

    /// Removes `key`; returns the value it had.
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    pub async fn delete(&self, key: &str) -> Result<Option<String>, Error> {
        let key = key.to_string();
        self.ask(|reply| Request::Delete { key, reply }).await
    }

    /// Sets `key` to `new` if its value is `expected` (`None`: unset).
    ///
    /// # Errors
    /// [`Error::Conflict`] with the current value when it is not `expected`;
    /// [`Error::Closed`] when the server has shut down.
    pub async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<(), Error> {
        let (key, expected, new) = (
            key.to_string(),
            expected.map(str::to_string),
            new.to_string(),
        );
        self.ask(|reply| Request::CompareAndSwap {
            key,
            expected,
            new,
            reply,
        })
        .await?
    }

    /// Adds `by` to the number stored at `key` (unset is 0) and returns the new value:
    /// a read, then a compare-and-swap, retried until no other client got in between.
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    ///
    /// # Panics
    /// When the value is not a number.
    pub async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        let mut seen = self.get(key).await?;
        loop {
            let n: i64 = seen.as_deref().map_or(0, |v| v.parse().expect("a number"));
            let next = (n + by).to_string();
            match self.compare_and_swap(key, seen.as_deref(), &next).await {
                Ok(()) => return Ok(n + by),
                Err(Error::Conflict(current)) => seen = current,
                Err(e) => return Err(e),
            }
        }
    }

    /// Every live entry, sorted by key, rendered as `key=value` lines on the blocking
    /// pool (a stand-in for serialising a large map).
    ///
    /// # Errors
    /// [`Error::Closed`] when the server has shut down.
    pub async fn snapshot(&self) -> Result<String, Error> {
        let entries = self.ask(|reply| Request::Snapshot { reply }).await?;
        let rendered = tokio::task::spawn_blocking(move || {
            entries
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect::<String>()
        });
        Ok(rendered.await.expect("rendering does not panic"))
    }
}
