//! Readers-writer deadlocks: the Little Book of Semaphores' writer-priority solution
//! with the reader's two steps swapped, a read guard "upgraded" to a write lock, and a
//! recursive read on a writer-preferring [`RwLock`].
//!
//! Owns these three programs only; every wait is a plain `.await` on the primitives.

use std::cell::Cell;
use std::rc::Rc;

use sim::sync::{Mutex, RwLock, Semaphore};

use super::Twin;
use crate::{join_all, spawn_named};

/// The Little Book of Semaphores' lightswitch: the first task in locks `room` for its
/// whole kind, the last one out unlocks it.
struct Lightswitch {
    counter: Mutex<u32>,
}

impl Lightswitch {
    fn new() -> Self {
        Lightswitch {
            counter: Mutex::new(0),
        }
    }

    async fn lock(&self, room: &Semaphore) {
        let mut inside = self.counter.lock().await;
        *inside += 1;
        if *inside == 1 {
            room.acquire().await.expect("never closed").forget();
        }
    }

    async fn unlock(&self, room: &Semaphore) {
        let mut inside = self.counter.lock().await;
        *inside -= 1;
        if *inside == 0 {
            room.add_permits(1);
        }
    }
}

/// The shared state of the readers-writers program.
struct Room {
    read_switch: Lightswitch,
    write_switch: Lightswitch,
    /// Held by the writers as a group (through `write_switch`) to keep readers out.
    no_readers: Semaphore,
    /// Held by the readers as a group (through `read_switch`) and by each writer.
    no_writers: Semaphore,
    readers_in: Cell<u32>,
    writers_in: Cell<u32>,
}

/// Readers and writers of the lightswitch program.
const READERS: usize = 2;
const WRITERS: usize = 2;

/// Writer-priority readers-writers with two lightswitches (Downey, 4.2.6). A reader
/// passes the `no_readers` turnstile, then joins the readers' lightswitch on
/// `no_writers`; writers hold `no_readers` as a group and `no_writers` one at a time.
/// Buggy: the reader joins the lightswitch before the turnstile, so a reader can hold
/// `no_writers` while waiting for `no_readers`, held by a writer waiting for
/// `no_writers`.
pub(super) async fn lightswitch(twin: Twin) -> Result<(), String> {
    let room = Rc::new(Room {
        read_switch: Lightswitch::new(),
        write_switch: Lightswitch::new(),
        no_readers: Semaphore::new(1),
        no_writers: Semaphore::new(1),
        readers_in: Cell::new(0),
        writers_in: Cell::new(0),
    });
    let mut tasks = Vec::new();
    for r in 0..READERS {
        let room = room.clone();
        tasks.push(spawn_named(&format!("reader-{r}"), async move {
            match twin {
                Twin::Buggy => {
                    // BUG: the lightswitch before the turnstile: holds no_writers while
                    // waiting for no_readers.
                    room.read_switch.lock(&room.no_writers).await;
                    drop(room.no_readers.acquire().await.expect("never closed"));
                }
                Twin::Fixed => {
                    let turnstile = room.no_readers.acquire().await.expect("never closed");
                    room.read_switch.lock(&room.no_writers).await;
                    drop(turnstile);
                }
            }
            room.readers_in.set(room.readers_in.get() + 1);
            assert_eq!(room.writers_in.get(), 0, "reader-{r} reads during a write");
            room.readers_in.set(room.readers_in.get() - 1);
            room.read_switch.unlock(&room.no_writers).await;
        }));
    }
    for w in 0..WRITERS {
        let room = room.clone();
        tasks.push(spawn_named(&format!("writer-{w}"), async move {
            room.write_switch.lock(&room.no_readers).await;
            let alone = room.no_writers.acquire().await.expect("never closed");
            room.writers_in.set(room.writers_in.get() + 1);
            assert_eq!(
                (room.readers_in.get(), room.writers_in.get()),
                (0, 1),
                "writer-{w} writes while others are in the room"
            );
            room.writers_in.set(room.writers_in.get() - 1);
            drop(alone);
            room.write_switch.unlock(&room.no_readers).await;
        }));
    }
    join_all(tasks).await?;
    Ok(())
}

/// A cached value and whether it must be refreshed.
struct Cache {
    value: u32,
    stale: bool,
}

/// Readers of the upgrade program.
const CACHE_READERS: usize = 2;

/// Readers use a cached value and refresh it when an invalidator has marked it stale.
/// Buggy: a reader that finds it stale asks for the write lock while still holding its
/// read guard (an "upgrade"); the write waits for every reader to leave, itself
/// included.
pub(super) async fn upgrade(twin: Twin) -> Result<(), String> {
    let cache = Rc::new(RwLock::new(Cache {
        value: 1,
        stale: false,
    }));
    let mut tasks = Vec::new();
    tasks.push(spawn_named("invalidator", {
        let cache = cache.clone();
        async move { cache.write().await.stale = true }
    }));
    for r in 0..CACHE_READERS {
        let cache = cache.clone();
        tasks.push(spawn_named(&format!("reader-{r}"), async move {
            let read = cache.read().await;
            let seen = read.value;
            if read.stale {
                let keep_read = match twin {
                    // BUG: asks for the write lock while holding the read guard.
                    Twin::Buggy => Some(read),
                    Twin::Fixed => {
                        drop(read);
                        None
                    }
                };
                let mut write = cache.write().await;
                if write.stale {
                    write.value += 1;
                    write.stale = false;
                }
                drop(keep_read);
            }
            assert!(seen >= 1);
        }));
    }
    join_all(tasks).await?;
    let cache = cache.read().await;
    assert!(!cache.stale || cache.value == 1, "a refresh was half done");
    Ok(())
}

/// A writer-preferring lock holds back new readers once a writer waits. Buggy: a task
/// holding a read guard calls a helper that takes a second read guard; a writer that
/// queued in between waits for the first guard, and the second read waits behind the
/// writer (the deadlock tokio's `RwLock::read` documentation warns about).
pub(super) async fn recursive_read(twin: Twin) -> Result<(), String> {
    let lock = Rc::new(RwLock::new(10u32));

    /// The helper: how much `lock` holds, read under a read guard of its own.
    async fn current(lock: &RwLock<u32>) -> u32 {
        *lock.read().await
    }

    let reader = spawn_named("reader", {
        let lock = lock.clone();
        async move {
            let guard = lock.read().await;
            let again = match twin {
                // BUG: a second read lock while this task holds the first one.
                Twin::Buggy => current(&lock).await,
                Twin::Fixed => *guard,
            };
            assert_eq!(*guard, again, "the value changed under a read guard");
        }
    });
    let writer = spawn_named("writer", {
        let lock = lock.clone();
        async move { *lock.write().await += 1 }
    });
    join_all(vec![reader, writer]).await?;
    assert_eq!(*lock.read().await, 11);
    Ok(())
}
